/**
 * Executes the real ASL file with aws-local-stepfunctions, each Lambda task bound to its real
 * handler in-process. Placeholders are filled the way DefinitionSubstitutions fills them.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { type RunOptions, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { LocalEventBus, PutEventsEntry } from './event-bus';
import type { LocalFunction } from './lambda';

/** A JSON value as the interpreter passes it between states. */
type JsonValue = Parameters<StateMachine['run']>[0];
/** One event of an execution's log, as the interpreter reports it. */
type EventLog = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;
type TaskHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;

/** What this module reads of a state: tasks, their Retry intervals, and the machines nested in Map and Parallel. */
interface AslState {
  Type: string;
  Resource?: string;
  Label?: string;
  ItemsPath?: string;
  Retry?: Array<{ IntervalSeconds?: number }>;
  ItemProcessor?: AslMachine;
  Iterator?: AslMachine;
  Branches?: AslMachine[];
}

interface AslMachine {
  States?: Record<string, AslState>;
  ProcessorConfig?: { Mode?: string };
}

/** The Lambda integration's request as the interpreter hands it to a task's local handler. */
interface LambdaInvokeParameters {
  FunctionName?: string;
  Payload?: unknown;
}

/** The Step Functions integration's request (StartExecution) as the interpreter hands it to a task's local handler. */
interface StartExecutionParameters {
  StateMachineArn?: string;
  Input?: unknown;
  Name?: string;
}

/** The Lambda integration as the substituted definition names it locally (the local deployment's partition is aws). */
const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';
/** EventBridge's PutEvents, answered by the local event bus. */
const PUT_EVENTS = 'arn:aws:states:::events:putEvents';
/** Starting another state machine and waiting for it, its output parsed as JSON (.sync:2). */
const START_EXECUTION_SYNC = 'arn:aws:states:::states:startExecution.sync:2';
/** Step Functions' limit on a state's input or output, and on an execution's input. */
export const PAYLOAD_LIMIT_BYTES = 262_144;
/** How long an execution's end waits for its event log to catch up. */
const EVENT_LOG_DRAIN_MS = 1_000;
/** How long a synchronous Express execution may run. */
const EXPRESS_SYNC_LIMIT_MS = 5 * 60_000;

/** States.DataLimitExceeded: as in Step Functions, neither Retry nor Catch can handle it. */
class DataLimitExceeded extends Error {
  override name = 'States.DataLimitExceeded';
  readonly isRetryable = false;
  readonly isCatchable = false;
}

/** A .sync task whose execution did not succeed: Step Functions raises States.TaskFailed with the execution's description as the cause. */
class TaskFailed extends Error {
  override name = 'States.TaskFailed';
}

function checkSize(what: string, value: unknown): void {
  const size = Buffer.byteLength(JSON.stringify(value ?? null), 'utf8');
  if (size > PAYLOAD_LIMIT_BYTES)
    throw new DataLimitExceeded(`${what} is ${size} bytes, over Step Functions' ${PAYLOAD_LIMIT_BYTES}-byte limit`);
}

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface ExecutionResult {
  executionArn: string;
  name: string;
  status: Exclude<ExecutionStatus, 'RUNNING'>;
  startDate: string;
  stopDate: string;
  output?: unknown;
  error?: string;
  cause?: string;
}

/** A Distributed Map state's run, counted from the interpreter's iteration events (DescribeMapRun's item counts). */
export interface MapRunRecord {
  mapRunArn: string;
  executionArn: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  startDate: string;
  stopDate?: string;
  itemCounts: { pending: number; running: number; succeeded: number; failed: number; aborted: number; total: number };
}

/** What DescribeExecution tells of a Standard execution, while it runs and after. */
export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  startDate: string;
  stopDate?: string;
  input: unknown;
  output?: unknown;
  error?: string;
  cause?: string;
  mapRuns: MapRunRecord[];
}

/** Replaces `${Name}` placeholders as CloudFormation's DefinitionSubstitutions does; an unknown one is an error. */
export function substitute(definitionText: string, values: Record<string, string>): string {
  return definitionText.replace(/\$\{([A-Za-z0-9_]+)\}/g, (_match, name: string) => {
    if (!(name in values)) throw new Error(`the state machine definition uses \${${name}}, which the template does not substitute`);
    return values[name];
  });
}

/** Every Task state name in a definition, including those inside Map and Parallel states. */
function taskStates(definition: AslMachine, found: Record<string, AslState> = {}): Record<string, AslState> {
  for (const [name, state] of Object.entries(definition.States ?? {})) {
    if (state.Type === 'Task') found[name] = state;
    const nested = state.ItemProcessor ?? state.Iterator;
    if (nested) taskStates(nested, found);
    for (const branch of state.Branches ?? []) taskStates(branch, found);
  }
  return found;
}

/** The Distributed Map states of a definition (at its top level, the only place Step Functions runs them from a parent), by name. */
function distributedMaps(definition: AslMachine): Record<string, AslState> {
  return Object.fromEntries(
    Object.entries(definition.States ?? {}).filter(
      ([, state]) => state.Type === 'Map' && state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED',
    ),
  );
}

/** The value at a JSONPath of plain member steps (`$.a.b`), as ItemsPath names the items. */
function atPath(value: unknown, jsonPath: string | undefined): unknown {
  if (!jsonPath || jsonPath === '$') return value;
  return jsonPath
    .replace(/^\$\.?/, '')
    .split('.')
    .reduce<unknown>((node, member) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[member] : undefined), value);
}

export interface LocalStateMachineOptions {
  /** The state machine's name, in its ARN. */
  name: string;
  /** EXPRESS runs within the five minutes of a synchronous execution; STANDARD keeps a record of each execution. */
  type: 'EXPRESS' | 'STANDARD';
  definitionPath: string;
  /** Placeholder name → the local function bound to it. */
  functions: Record<string, LocalFunction>;
  /** Placeholder name → the local state machine bound to it (started by startExecution.sync:2 tasks). */
  machines?: Record<string, LocalStateMachine>;
  /** Placeholder name → value, for the placeholders that stand for no resource. */
  values?: Record<string, string>;
  /** Where events:putEvents tasks publish. */
  eventBus?: LocalEventBus;
  region: string;
  account: string;
  /** Scale the Retry intervals (1 = as written); tests use a small factor to keep runs short. */
  retryIntervalScale?: number;
}

export class LocalStateMachine {
  readonly arn: string;
  private readonly definition: StateMachineDefinition & AslMachine;
  private readonly machine: StateMachine;
  private readonly functionsByArn = new Map<string, LocalFunction>();
  private readonly machinesByArn = new Map<string, LocalStateMachine>();
  /** Standard executions by ARN, running and finished, with their Map Runs. */
  private readonly records = new Map<string, ExecutionRecord>();
  private readonly aborts = new Map<string, () => void>();
  /** Executions stopped while running: they end ABORTED, whatever the interpreter reports. */
  private readonly stopped = new Set<string>();
  /** Running execution → how to stop each child execution its .sync tasks wait for. */
  private readonly children = new Map<string, Set<() => void>>();

  constructor(private readonly options: LocalStateMachineOptions) {
    const functions = Object.entries(options.functions).map(([name, fn]) => [name, fn.arn]);
    const machines = Object.entries(options.machines ?? {}).map(([name, machine]) => [name, machine.arn]);
    const values = { ...options.values, ...Object.fromEntries([...functions, ...machines]) };
    for (const fn of Object.values(options.functions)) this.functionsByArn.set(fn.arn, fn);
    for (const machine of Object.values(options.machines ?? {})) this.machinesByArn.set(machine.arn, machine);
    this.definition = JSON.parse(substitute(readFileSync(options.definitionPath, 'utf8'), values));
    this.arn = `arn:aws:states:${options.region}:${options.account}:stateMachine:${options.name}`;
    this.machine = new StateMachine(this.definition);
  }

  private localHandlers(executionArn: string): TaskHandlers {
    const handlers: TaskHandlers = {};
    for (const [name, state] of Object.entries(taskStates(this.definition))) {
      if (state.Resource === LAMBDA_INVOKE) handlers[name] = (input) => this.invokeFunction(name, input);
      else if (state.Resource === START_EXECUTION_SYNC) handlers[name] = (input) => this.runChild(name, input, executionArn);
      else if (state.Resource === PUT_EVENTS) handlers[name] = (input) => this.putEvents(name, input);
      else
        throw new Error(
          `local run supports ${LAMBDA_INVOKE}, ${START_EXECUTION_SYNC} and ${PUT_EVENTS} tasks only; "${name}" uses ${state.Resource}`,
        );
    }
    return handlers;
  }

  private async invokeFunction(name: string, input: unknown): Promise<JsonValue> {
    const { FunctionName, Payload } = (input ?? {}) as LambdaInvokeParameters;
    const fn = this.functionsByArn.get(String(FunctionName));
    if (!fn) throw new Error(`task "${name}" invokes ${FunctionName}, which is not a function of the template`);
    checkSize(`the input of "${name}"`, input);
    const payload = (await fn.invoke(Payload)) as JsonValue;
    const result = { ExecutedVersion: '$LATEST', Payload: payload, StatusCode: 200 };
    checkSize(`the result of "${name}"`, result);
    return result;
  }

  private putEvents(name: string, input: unknown): JsonValue {
    const bus = this.options.eventBus;
    if (!bus) throw new Error(`task "${name}" publishes events, and the local state machine was given no event bus`);
    checkSize(`the input of "${name}"`, input);
    return bus.put(((input ?? {}) as { Entries?: PutEventsEntry[] }).Entries ?? []) as unknown as JsonValue;
  }

  /** states:startExecution.sync:2: runs the other machine to its end; its description is the result, or the cause of States.TaskFailed. */
  private async runChild(name: string, input: unknown, parentArn: string): Promise<JsonValue> {
    const { StateMachineArn, Input, Name } = (input ?? {}) as StartExecutionParameters;
    const child = this.machinesByArn.get(String(StateMachineArn));
    if (!child) throw new Error(`task "${name}" starts ${StateMachineArn}, which is not a state machine of the template`);
    checkSize(`the input of "${name}"`, input);
    const started = child.startExecution(Input, Name);
    // Stopping the parent stops the children it waits for, as Step Functions does for .sync tasks.
    const stopChild = () => child.stop(started.executionArn);
    const children = this.children.get(parentArn) ?? new Set();
    this.children.set(parentArn, children.add(stopChild));
    const result = await started.result.finally(() => children.delete(stopChild));
    const description = {
      ExecutionArn: result.executionArn,
      StateMachineArn: child.arn,
      Name: result.name,
      Status: result.status,
      StartDate: Date.parse(result.startDate),
      StopDate: Date.parse(result.stopDate),
      Input: (Input ?? {}) as JsonValue,
      ...(result.status === 'SUCCEEDED'
        ? { Output: (result.output ?? null) as JsonValue }
        : { Error: result.error ?? 'States.TaskFailed', Cause: result.cause ?? '' }),
    };
    if (result.status !== 'SUCCEEDED') throw new TaskFailed(JSON.stringify(description));
    checkSize(`the result of "${name}"`, description);
    return description;
  }

  private retryOverrides(): Record<string, number[]> | undefined {
    const scale = this.options.retryIntervalScale;
    if (scale === undefined || scale === 1) return undefined;
    const overrides: Record<string, number[]> = {};
    for (const [name, state] of Object.entries(taskStates(this.definition))) {
      overrides[name] = (state.Retry ?? []).map((r) => Math.round((r.IntervalSeconds ?? 1) * 1000 * scale));
    }
    return overrides;
  }

  /** StartSyncExecution: runs to the end and reports the status, output or error, as the Express API does. */
  startSyncExecution(input: unknown, name: string = randomUUID()): Promise<ExecutionResult> {
    return this.startExecution(input, name).result;
  }

  /**
   * Starts an execution: its ARN at once, its outcome when it ends. An Express execution has the
   * limits of a synchronous one (the input's size, five minutes); a Standard one only the input's
   * size, and is recorded for describe().
   */
  startExecution(input: unknown, name: string = randomUUID()): { executionArn: string; result: Promise<ExecutionResult> } {
    const executionArn =
      this.options.type === 'EXPRESS'
        ? `${this.arn.replace(':stateMachine:', ':express:')}:${name}:${randomUUID()}`
        : `${this.arn.replace(':stateMachine:', ':execution:')}:${name}`;
    if (this.records.has(executionArn)) throw new ExecutionAlreadyExists(`Execution Already Exists: '${executionArn}'`);
    return { executionArn, result: this.run(input, name, executionArn) };
  }

  /** Executions started and not yet ended. */
  get running(): number {
    return this.aborts.size;
  }

  get type(): 'EXPRESS' | 'STANDARD' {
    return this.options.type;
  }

  /** A Standard execution as DescribeExecution (and, for its Map Runs, ListMapRuns and DescribeMapRun) tells it. */
  describe(executionArn: string): ExecutionRecord | undefined {
    return this.records.get(executionArn);
  }

  /** This machine's Standard executions, newest first (ListExecutions). */
  executions(): ExecutionRecord[] {
    return [...this.records.values()].reverse();
  }

  /** StopExecution: a running execution ends ABORTED, with its Map Runs and the child executions it waits for. */
  stop(executionArn: string, error?: string, cause?: string): ExecutionRecord | undefined {
    const record = this.records.get(executionArn);
    // An execution that has ended (it gave up its abort) but not yet closed its record is not stopped: its result stands.
    if (record?.status === 'RUNNING' && this.aborts.has(executionArn)) {
      Object.assign(record, { status: 'ABORTED', stopDate: new Date().toISOString(), error, cause });
      for (const mapRun of record.mapRuns) {
        if (mapRun.status !== 'RUNNING') continue;
        // The items not ended are aborted with the run, as DescribeMapRun counts them.
        const counts = mapRun.itemCounts;
        Object.assign(counts, { aborted: counts.aborted + counts.running + counts.pending, running: 0, pending: 0 });
        Object.assign(mapRun, { status: 'ABORTED', stopDate: record.stopDate });
      }
    }
    for (const stopChild of this.children.get(executionArn) ?? []) stopChild();
    const abort = this.aborts.get(executionArn);
    if (abort) {
      this.stopped.add(executionArn);
      abort();
    }
    return record;
  }

  private async run(input: unknown, name: string, executionArn: string): Promise<ExecutionResult> {
    const startDate = new Date().toISOString();
    const record: ExecutionRecord | undefined =
      this.options.type === 'STANDARD'
        ? { executionArn, stateMachineArn: this.arn, name, status: 'RUNNING', startDate, input, mapRuns: [] }
        : undefined;
    if (record) this.records.set(executionArn, record);
    const finish = async (result: ExecutionResult): Promise<ExecutionResult> => {
      this.aborts.delete(executionArn);
      this.children.delete(executionArn);
      // The event log runs a little behind the execution: count its last iterations before closing the Map Runs.
      if (record) await Promise.race([counting, sleep(EVENT_LOG_DRAIN_MS, undefined, { ref: false })]);
      if (record && record.status === 'RUNNING') {
        Object.assign(record, {
          status: result.status,
          stopDate: result.stopDate,
          output: result.output,
          error: result.error,
          cause: result.cause,
        });
        for (const mapRun of record.mapRuns)
          if (mapRun.status === 'RUNNING') Object.assign(mapRun, { status: 'FAILED', stopDate: result.stopDate });
      }
      if (!this.stopped.delete(executionArn)) return result;
      return {
        ...result,
        status: 'ABORTED',
        stopDate: record?.stopDate ?? result.stopDate,
        error: 'States.Aborted',
        cause: record?.cause ?? 'stopped',
      };
    };
    let counting: Promise<void> = Promise.resolve();
    try {
      checkSize('the execution input', input);
    } catch (error) {
      return finish({
        executionArn,
        name,
        status: 'FAILED',
        startDate,
        stopDate: startDate,
        error: (error as Error).name,
        cause: (error as Error).message,
      });
    }
    // The input came from JSON (the pipe's records, an API request), so it is a JSON value.
    const jsonInput = input as JsonValue;
    const execution = this.machine.run(jsonInput, {
      overrides: { taskResourceLocalHandlers: this.localHandlers(executionArn), retryIntervalOverrides: this.retryOverrides() },
      context: {
        Execution: {
          Id: executionArn,
          Name: name,
          StartTime: startDate,
          Input: jsonInput,
          RoleArn: `arn:aws:iam::${this.options.account}:role/${this.options.name}`,
        },
        StateMachine: { Id: this.arn, Name: this.options.name },
      },
    });
    this.aborts.set(executionArn, execution.abort);
    if (record) counting = this.countMapRuns(record, execution.eventLogs);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timed out'>((resolve) => {
      if (this.options.type === 'EXPRESS') timer = setTimeout(() => resolve('timed out'), EXPRESS_SYNC_LIMIT_MS);
    });
    try {
      const output = await Promise.race([execution.result, timedOut]);
      if (output === 'timed out') {
        execution.abort();
        return finish({
          executionArn,
          name,
          status: 'TIMED_OUT',
          startDate,
          stopDate: new Date().toISOString(),
          error: 'States.Timeout',
          cause: 'the execution ran past the five-minute limit of synchronous Express executions',
        });
      }
      return finish({ executionArn, name, status: 'SUCCEEDED', startDate, stopDate: new Date().toISOString(), output });
    } catch (error) {
      const cause = (error as { cause?: Error }).cause ?? (error as Error);
      return finish({
        executionArn,
        name,
        status: 'FAILED',
        startDate,
        stopDate: new Date().toISOString(),
        error: cause.name,
        cause: cause.message,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Follows the execution's events to count each Distributed Map state's items as its Map Run does. */
  private async countMapRuns(record: ExecutionRecord, events: AsyncGenerator<EventLog>): Promise<void> {
    const maps = distributedMaps(this.definition);
    const runs = new Map<string, MapRunRecord>();
    for await (const event of events) {
      if (event.type === 'StateEntered' && maps[event.state.name]) {
        const state = maps[event.state.name];
        const items = atPath(event.state.input, state.ItemsPath);
        const mapRun: MapRunRecord = {
          mapRunArn: `${this.arn.replace(':stateMachine:', ':mapRun:')}/${state.Label ?? event.state.name}:${randomUUID()}`,
          executionArn: record.executionArn,
          status: 'RUNNING',
          startDate: new Date(event.timestamp).toISOString(),
          itemCounts: { pending: 0, running: 0, succeeded: 0, failed: 0, aborted: 0, total: Array.isArray(items) ? items.length : 0 },
        };
        mapRun.itemCounts.pending = mapRun.itemCounts.total;
        runs.set(event.state.name, mapRun);
        record.mapRuns.push(mapRun);
      } else if (event.type === 'MapIterationStarted' || event.type === 'MapIterationSucceeded' || event.type === 'MapIterationFailed') {
        const mapRun = runs.get(event.parentState.name);
        if (mapRun?.status !== 'RUNNING') continue;
        const counts = mapRun.itemCounts;
        if (event.type === 'MapIterationStarted') {
          counts.pending--;
          counts.running++;
        } else {
          counts.running--;
          if (event.type === 'MapIterationSucceeded') counts.succeeded++;
          else counts.failed++;
        }
      } else if ((event.type === 'StateExited' || event.type === 'StateFailed') && runs.has(event.state.name)) {
        const mapRun = runs.get(event.state.name) as MapRunRecord;
        if (mapRun.status === 'RUNNING')
          Object.assign(mapRun, {
            status: event.type === 'StateExited' ? 'SUCCEEDED' : 'FAILED',
            stopDate: new Date(event.timestamp).toISOString(),
          });
      }
    }
  }
}

/** StartExecution with the name of an execution this Standard machine already has. */
export class ExecutionAlreadyExists extends Error {
  override name = 'ExecutionAlreadyExists';
}
