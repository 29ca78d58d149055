/**
 * The state machine's worst case, derived from the ASL and the template: every Retry exhausted,
 * every back-off at its longest, every attempt running into its timeout. It must fit the five
 * minutes of a synchronous Express execution, and the ffprobe step must be done with the presigned
 * URL before it expires.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Evaluator, readTemplate, type Template } from '../../local/cfn';

const ROOT = path.resolve(__dirname, '../..');

/** StartSyncExecution waits at most this long; a longer execution ends TIMED_OUT and the pipe retries the whole batch. */
const EXPRESS_SYNC_LIMIT_S = 300;
/**
 * Kept free for what the model leaves out: state transitions, the Lambda invoke round trips and
 * the pipe's StartSyncExecution call.
 */
const SLACK_S = 10;
/**
 * Lambda's Init phase of a cold start may take up to 10 s on top of the function's Timeout, which
 * limits only the Invoke phase (Lambda developer guide, "Lambda execution environment lifecycle").
 */
const LAMBDA_INIT_LIMIT_S = 10;
/** Step Functions' defaults for a retrier's omitted fields (ASL specification). */
const RETRY_DEFAULTS = { IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2 };

interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: 'FULL' | 'NONE';
}
interface State {
  Type: string;
  Resource?: string;
  TimeoutSeconds?: number;
  Parameters?: { FunctionName?: string; Payload?: Record<string, unknown> };
  Retry?: Retrier[];
  Catch?: Array<{ Next: string }>;
  Choices?: Array<{ Next: string }>;
  Default?: string;
  Next?: string;
  End?: boolean;
  MaxConcurrency?: number;
  ItemProcessor?: Machine;
}
interface Machine {
  StartAt: string;
  States: Record<string, State>;
}

const asl = JSON.parse(readFileSync(path.join(ROOT, 'statemachine/media-probe.asl.json'), 'utf8')) as Machine;
const template = readTemplate(path.join(ROOT, 'template.yaml'));
const parameters = template.Parameters as Record<string, { AllowedValues?: number[]; MinValue?: number; MaxValue?: number }>;
const map = Object.values(asl.States).find((state) => state.Type === 'Map') as State;
const iteration = map.ItemProcessor as Machine;

/** The wait before each retry a retrier allows, at its longest: full jitter only ever shortens it. */
function retryDelays(retrier: Retrier): number[] {
  const { IntervalSeconds, MaxAttempts, BackoffRate } = { ...RETRY_DEFAULTS, ...retrier };
  return Array.from({ length: MaxAttempts }, (_, n) => Math.min(IntervalSeconds * BackoffRate ** n, retrier.MaxDelaySeconds ?? Infinity));
}

const isLambdaTask = (state: State) => /:states:::lambda:invoke$/.test(state.Resource ?? '');

/** The function a Lambda task invokes: its `${…Arn}` placeholder, through DefinitionSubstitutions, to a logical id. */
function functionOf(state: State, evaluator: Evaluator): string {
  const placeholder = /^\$\{(\w+)\}$/.exec(state.Parameters?.FunctionName ?? '')?.[1];
  const machine = Object.values(template.Resources ?? {}).find((r) => r.Type === 'AWS::Serverless::StateMachine');
  const substitutions = evaluator.evaluate(machine?.Properties?.DefinitionSubstitutions) as Record<string, string>;
  const logicalId = /^<GetAtt (\w+)\.Arn>$/.exec(String(placeholder && substitutions[placeholder]))?.[1];
  if (!logicalId) throw new Error(`no function behind ${state.Parameters?.FunctionName}`);
  return logicalId;
}

function functionTimeout(logicalId: string, evaluator: Evaluator): number {
  const t = template as Template;
  const properties = { ...t.Globals?.Function, ...t.Resources?.[logicalId]?.Properties };
  return Number(evaluator.evaluate(properties.Timeout));
}

interface StateBudget {
  /** The longest one attempt can take. */
  attempt: number;
  attempts: number;
  /** Every wait between attempts, at its longest. */
  delays: number[];
  total: number;
}

/**
 * A task's worst case. Retriers keep separate counts ("a retrier's parameters apply across all
 * visits to the retrier", Step Functions developer guide, complex retry scenarios), so one run of a
 * state can exhaust every one of them; and any attempt may run into its timeout, whatever error
 * then ends it.
 */
function stateBudget(state: State, evaluator: Evaluator): StateBudget {
  if (state.Type !== 'Task') return { attempt: 0, attempts: 1, delays: [], total: 0 };
  // A service integration other than Lambda (EventBridge's PutEvents) is bounded by its TimeoutSeconds alone.
  const lambda = isLambdaTask(state) ? functionTimeout(functionOf(state, evaluator), evaluator) + LAMBDA_INIT_LIMIT_S : Infinity;
  const attempt = Math.min(state.TimeoutSeconds ?? Infinity, lambda);
  if (!Number.isFinite(attempt)) throw new Error(`a task without TimeoutSeconds has no bound: ${JSON.stringify(state)}`);
  const delays = (state.Retry ?? []).flatMap(retryDelays);
  const attempts = 1 + delays.length;
  return { attempt, attempts, delays, total: attempts * attempt + delays.reduce((a, b) => a + b, 0) };
}

/** The longest path through the iteration, along Next, every Catch and every Choice. */
function longestPath(evaluator: Evaluator): { states: string[]; total: number } {
  const memo = new Map<string, { states: string[]; total: number }>();
  const visit = (name: string, trail: string[]): { states: string[]; total: number } => {
    if (trail.includes(name)) throw new Error(`the iteration loops: ${[...trail, name].join(' → ')}`);
    const known = memo.get(name);
    if (known) return known;
    const state = iteration.States[name];
    const successors = [state.Next, state.Default, ...[...(state.Catch ?? []), ...(state.Choices ?? [])].map((c) => c.Next)].filter(
      (n): n is string => n !== undefined,
    );
    const tails = successors.map((next) => visit(next, [...trail, name]));
    const longest = tails.reduce((a, b) => (b.total > a.total ? b : a), { states: [], total: 0 });
    const own = stateBudget(state, evaluator).total;
    const result = { states: [name, ...longest.states], total: own + longest.total };
    memo.set(name, result);
    return result;
  };
  return visit(iteration.StartAt, []);
}

/** The state that hands ffprobe the presigned URL. */
const urlUser = Object.entries(iteration.States).find(([, state]) =>
  Object.values(state.Parameters?.Payload ?? {}).some((value) => value === '$.presign.url'),
) as [string, State];

const ffprobeTimeouts = (parameters.FfprobeTimeoutSeconds.AllowedValues ?? []).map(Number);

describe.each(ffprobeTimeouts)('with FfprobeTimeoutSeconds=%i', (ffprobeTimeout) => {
  const evaluator = new Evaluator(template, { parameters: { FfprobeTimeoutSeconds: ffprobeTimeout } });

  it('one Map iteration, worst case, fits the synchronous Express limit with room to spare', () => {
    const { states, total } = longestPath(evaluator);
    // A batch larger than the Map's concurrency runs in waves, one after the other.
    const waves = Math.ceil(Number(parameters.PipeBatchSize.MaxValue) / Number(map.MaxConcurrency));
    const worst = { path: states.join(' → '), seconds: waves * total };
    expect({ ...worst, fits: worst.seconds <= EXPRESS_SYNC_LIMIT_S - SLACK_S }).toEqual({ ...worst, fits: true });
  });

  it('ffprobe starts its last attempt, and finishes it, before the presigned URL expires', () => {
    const [, state] = urlUser;
    const { attempt, attempts, delays } = stateBudget(state, evaluator);
    // The URL is signed at the end of presign; the ffprobe state starts right after.
    const lastStart = (attempts - 1) * attempt + delays.reduce((a, b) => a + b, 0);
    const lastEnd = lastStart + LAMBDA_INIT_LIMIT_S + ffprobeTimeout;
    const expiry = Number(parameters.PresignExpirySeconds.MinValue);
    expect({ lastStart, lastEnd, expiry, inTime: lastEnd < expiry }).toEqual({ lastStart, lastEnd, expiry, inTime: true });
  });
});

describe('task timeouts', () => {
  it.each(ffprobeTimeouts)('never give up on an attempt before the function itself would (FfprobeTimeoutSeconds=%i)', (ffprobeTimeout) => {
    const evaluator = new Evaluator(template, { parameters: { FfprobeTimeoutSeconds: ffprobeTimeout } });
    for (const [name, state] of Object.entries(iteration.States).filter(([, s]) => s.Type === 'Task' && isLambdaTask(s))) {
      const functionTimeoutS = functionTimeout(functionOf(state, evaluator), evaluator);
      const taskTimeout = state.TimeoutSeconds ?? Infinity;
      expect({ name, taskTimeout, functionTimeoutS, patient: taskTimeout >= functionTimeoutS }).toEqual({
        name,
        taskTimeout,
        functionTimeoutS,
        patient: true,
      });
    }
  });
});

describe('the model', () => {
  it('takes each back-off at its longest, capped by MaxDelaySeconds', () => {
    expect(retryDelays({ ErrorEquals: ['X'], IntervalSeconds: 1, BackoffRate: 2, MaxAttempts: 4, MaxDelaySeconds: 5 })).toEqual([
      1, 2, 4, 5,
    ]);
    expect(retryDelays({ ErrorEquals: ['X'] })).toEqual([1, 2, 4]);
    expect(retryDelays({ ErrorEquals: ['X'], MaxAttempts: 0 })).toEqual([]);
  });
});
