/**
 * Executes the real ASL file with aws-local-stepfunctions, each Lambda task bound to its real
 * handler in-process. Placeholders are filled the way DefinitionSubstitutions fills them.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type RunOptions, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { LocalFunction } from './lambda';

/** A JSON value as the interpreter passes it between states. */
type JsonValue = Parameters<StateMachine['run']>[0];
type TaskHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;

/** What this module reads of a state: tasks, their Retry intervals, and the machines nested in Map and Parallel. */
interface AslState {
  Type: string;
  Resource?: string;
  Retry?: Array<{ IntervalSeconds?: number }>;
  ItemProcessor?: AslMachine;
  Iterator?: AslMachine;
  Branches?: AslMachine[];
}

interface AslMachine {
  States?: Record<string, AslState>;
}

/** The Lambda integration's request as the interpreter hands it to a task's local handler. */
interface LambdaInvokeParameters {
  FunctionName?: string;
  Payload?: unknown;
}

/** The Lambda integration as the substituted definition names it locally (the local deployment's partition is aws). */
const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';
/** Step Functions' limit on a state's input or output, and on an execution's input. */
export const PAYLOAD_LIMIT_BYTES = 262_144;
/** How long a synchronous Express execution may run. */
const EXPRESS_SYNC_LIMIT_MS = 5 * 60_000;

/** States.DataLimitExceeded: as in Step Functions, neither Retry nor Catch can handle it. */
class DataLimitExceeded extends Error {
  override name = 'States.DataLimitExceeded';
  readonly isRetryable = false;
  readonly isCatchable = false;
}

function checkSize(what: string, value: unknown): void {
  const size = Buffer.byteLength(JSON.stringify(value ?? null), 'utf8');
  if (size > PAYLOAD_LIMIT_BYTES)
    throw new DataLimitExceeded(`${what} is ${size} bytes, over Step Functions' ${PAYLOAD_LIMIT_BYTES}-byte limit`);
}

export interface ExecutionResult {
  executionArn: string;
  name: string;
  status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT';
  startDate: string;
  stopDate: string;
  output?: unknown;
  error?: string;
  cause?: string;
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

export interface LocalStateMachineOptions {
  definitionPath: string;
  /** Placeholder name → the local function bound to it. */
  functions: Record<string, LocalFunction>;
  /** Placeholder name → value, for the placeholders that stand for no function. */
  values?: Record<string, string>;
  region: string;
  account: string;
  /** Scale the Retry intervals (1 = as written); tests use a small factor to keep runs short. */
  retryIntervalScale?: number;
}

export class LocalStateMachine {
  readonly arn: string;
  private readonly definition: StateMachineDefinition & AslMachine;
  private readonly machine: StateMachine;
  private readonly byArn = new Map<string, LocalFunction>();

  constructor(private readonly options: LocalStateMachineOptions) {
    const values = { ...options.values, ...Object.fromEntries(Object.entries(options.functions).map(([name, fn]) => [name, fn.arn])) };
    for (const fn of Object.values(options.functions)) this.byArn.set(fn.arn, fn);
    this.definition = JSON.parse(substitute(readFileSync(options.definitionPath, 'utf8'), values));
    this.arn = `arn:aws:states:${options.region}:${options.account}:stateMachine:media-probe-local`;
    this.machine = new StateMachine(this.definition);
  }

  private localHandlers(): TaskHandlers {
    const handlers: TaskHandlers = {};
    for (const [name, state] of Object.entries(taskStates(this.definition))) {
      if (state.Resource !== LAMBDA_INVOKE)
        throw new Error(`local run supports ${LAMBDA_INVOKE} tasks only; "${name}" uses ${state.Resource}`);
      handlers[name] = async (input) => {
        const { FunctionName, Payload } = (input ?? {}) as LambdaInvokeParameters;
        const fn = this.byArn.get(String(FunctionName));
        if (!fn) throw new Error(`task "${name}" invokes ${FunctionName}, which is not a function of the template`);
        checkSize(`the input of "${name}"`, input);
        const payload = (await fn.invoke(Payload)) as JsonValue;
        const result = { ExecutedVersion: '$LATEST', Payload: payload, StatusCode: 200 };
        checkSize(`the result of "${name}"`, result);
        return result;
      };
    }
    return handlers;
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
   * Starts an execution: its ARN at once, its outcome when it ends, with the Express limits on the
   * input and on the five minutes a synchronous execution may run.
   */
  startExecution(input: unknown, name: string = randomUUID()): { executionArn: string; result: Promise<ExecutionResult> } {
    const executionArn = `${this.arn.replace(':stateMachine:', ':express:')}:${name}:${randomUUID()}`;
    return { executionArn, result: this.run(input, name, executionArn) };
  }

  private async run(input: unknown, name: string, executionArn: string): Promise<ExecutionResult> {
    const startDate = new Date().toISOString();
    try {
      checkSize('the execution input', input);
    } catch (error) {
      return {
        executionArn,
        name,
        status: 'FAILED',
        startDate,
        stopDate: startDate,
        error: (error as Error).name,
        cause: (error as Error).message,
      };
    }
    // The input came from JSON (the pipe's records, an API request), so it is a JSON value.
    const jsonInput = input as JsonValue;
    const execution = this.machine.run(jsonInput, {
      overrides: { taskResourceLocalHandlers: this.localHandlers(), retryIntervalOverrides: this.retryOverrides() },
      context: {
        Execution: {
          Id: executionArn,
          Name: name,
          StartTime: startDate,
          Input: jsonInput,
          RoleArn: `arn:aws:iam::${this.options.account}:role/media-probe-local`,
        },
        StateMachine: { Id: this.arn, Name: 'media-probe-local' },
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timed out'>((resolve) => {
      timer = setTimeout(() => resolve('timed out'), EXPRESS_SYNC_LIMIT_MS);
    });
    try {
      const output = await Promise.race([execution.result, timedOut]);
      if (output === 'timed out') {
        execution.abort();
        return {
          executionArn,
          name,
          status: 'TIMED_OUT',
          startDate,
          stopDate: new Date().toISOString(),
          error: 'States.Timeout',
          cause: 'the execution ran past the five-minute limit of synchronous Express executions',
        };
      }
      return { executionArn, name, status: 'SUCCEEDED', startDate, stopDate: new Date().toISOString(), output };
    } catch (error) {
      const cause = (error as { cause?: Error }).cause ?? (error as Error);
      return {
        executionArn,
        name,
        status: 'FAILED',
        startDate,
        stopDate: new Date().toISOString(),
        error: cause.name,
        cause: cause.message,
      };
    } finally {
      clearTimeout(timer);
    }
  }
}
