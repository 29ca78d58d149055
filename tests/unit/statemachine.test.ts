/**
 * Holds the state machine definition and the Lambda code together: retry counts the analysis
 * reports, Catches on every step that has a fallback, and no JSONPath that can raise States.Runtime.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { STEP_NAMES, type StepName } from '../../functions/lib/analysis';
import { ATTEMPTS_BEFORE_CATCH, TRANSIENT_ERROR_NAMES } from '../../functions/lib/errors';

interface Retrier {
  ErrorEquals: string[];
  MaxAttempts?: number;
}
interface State {
  Type: string;
  Resource?: string;
  Parameters?: unknown;
  ItemSelector?: unknown;
  ResultSelector?: unknown;
  Retry?: Retrier[];
  Catch?: Array<{ ErrorEquals: string[]; Next: string }>;
  Next?: string;
  ResultPath?: string | null;
  ItemProcessor?: { States: Record<string, State> };
}

const asl = JSON.parse(readFileSync(join(__dirname, '../../statemachine/media-probe.asl.json'), 'utf8')) as {
  States: Record<string, State>;
};

/** Every state, nested Map processors included, by name. */
function allStates(states: Record<string, State>): Array<[string, State]> {
  return Object.entries(states).flatMap(([name, state]) => [
    [name, state] as [string, State],
    ...(state.ItemProcessor ? allStates(state.ItemProcessor.States) : []),
  ]);
}

/** Every `"key.$": "path"` inside a template, at any depth. */
function jsonPaths(template: unknown): Array<{ key: string; path: string }> {
  if (Array.isArray(template)) return template.flatMap(jsonPaths);
  if (!template || typeof template !== 'object') return [];
  return Object.entries(template).flatMap(([key, value]) =>
    key.endsWith('.$') && typeof value === 'string' ? [{ key, path: value }] : jsonPaths(value),
  );
}

const states = allStates(asl.States);

/** The step a task belongs to: update with failure invokes the update function, with update's retries. */
function stepOf(taskName: string): StepName {
  const step = taskName === 'update with failure' ? 'update' : taskName;
  if (!(STEP_NAMES as readonly string[]).includes(step)) throw new Error(`task ${taskName} is no step`);
  return step as StepName;
}
/** The Lambda tasks: the steps of the analysis (the outcome's publication is a service integration of its own). */
const tasks = states.filter(([, state]) => state.Type === 'Task' && /:states:::lambda:invoke$/.test(String(state.Resource)));

describe('the state machine definition', () => {
  it('has the four Lambda tasks', () => {
    expect(tasks.map(([name]) => name).sort()).toEqual(['ffprobe', 'presign', 'update', 'update with failure']);
  });

  it.each(tasks)("%s: each Retry allows its step's ATTEMPTS_BEFORE_CATCH attempts for each of its error names", (name, task) => {
    expect(task.Retry?.length).toBeGreaterThan(0);
    const table = ATTEMPTS_BEFORE_CATCH[stepOf(name)];
    for (const retrier of task.Retry ?? []) {
      for (const errorName of retrier.ErrorEquals) {
        expect({ errorName, attempts: (retrier.MaxAttempts ?? 3) + 1 }).toEqual({ errorName, attempts: table[errorName] });
      }
    }
  });

  it.each(tasks)('%s: retries every transient error name', (_name, task) => {
    const retried = (task.Retry ?? []).flatMap((retrier) => retrier.ErrorEquals);
    expect(retried).toEqual(expect.arrayContaining([...TRANSIENT_ERROR_NAMES]));
  });

  it.each(tasks)(
    "%s: retries nothing its step's ATTEMPTS_BEFORE_CATCH does not know, and it knows nothing the task never retries",
    (name, task) => {
      const retried = new Set((task.Retry ?? []).flatMap((retrier) => retrier.ErrorEquals));
      expect([...retried].sort()).toEqual(Object.keys(ATTEMPTS_BEFORE_CATCH[stepOf(name)]).sort());
    },
  );

  it.each(tasks)('%s: has one retrier, so its attempts are bounded by one count (retriers count separately)', (_name, task) => {
    expect(task.Retry).toHaveLength(1);
  });

  it.each(tasks.filter(([name]) => name !== 'update with failure'))('%s: catches States.ALL into a state that exists', (_name, task) => {
    const catchAll = task.Catch?.find((c) => c.ErrorEquals.includes('States.ALL'));
    expect(catchAll).toBeDefined();
    expect(states.map(([name]) => name)).toContain(catchAll!.Next);
  });

  it('publishes an outcome only when the update step applied it, and never fails the execution over the event', () => {
    const [, choice] = states.find(([name]) => name === 'publish outcome?')!;
    for (const name of ['update', 'update with failure']) expect(states.find(([n]) => n === name)![1].Next).toBe('publish outcome?');
    expect(choice).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.event', IsPresent: true, Next: 'publish outcome' }],
      Default: 'object changed?',
    });
    const [, publish] = states.find(([name]) => name === 'publish outcome')!;
    expect(publish.Resource).toBe(`arn:\${Partition}:states:::events:putEvents`);
    expect(publish.Parameters).toEqual({
      Entries: [
        {
          Source: 'media-probe',
          'DetailType.$': '$.event.detail_type',
          'Detail.$': '$.event.detail',
          EventBusName: `\${OutcomeEventBusName}`,
        },
      ],
    });
    expect(publish.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.publish_error', Next: 'object changed?' }]);
    expect(publish.ResultPath).toBeNull();
  });

  it('fails the execution once an ObjectChangedError is recorded, so the batch runs again on the new content; every other outcome ends the iteration', () => {
    const [, changed] = states.find(([name]) => name === 'object changed?')!;
    expect(changed).toMatchObject({
      Choices: [{ Variable: '$.error.type', IsPresent: true, Next: 'object changed on a recorded failure?' }],
      Default: 'done',
    });
    const [, recorded] = states.find(([name]) => name === 'object changed on a recorded failure?')!;
    expect(recorded).toMatchObject({
      Choices: [
        {
          And: [
            { Variable: '$.applied', BooleanEquals: true },
            { Variable: '$.error.type', StringEquals: 'ObjectChangedError' },
          ],
          Next: 'analyse the new object',
        },
      ],
      Default: 'done',
    });
    expect(states.find(([name]) => name === 'analyse the new object')![1]).toMatchObject({ Type: 'Fail', Error: 'ObjectChangedError' });
  });

  it('lets update with failure fail the execution, so the pipe retries and dead-letters the batch', () => {
    const [, updateWithFailure] = tasks.find(([name]) => name === 'update with failure')!;
    expect(updateWithFailure.Catch).toBeUndefined();
  });

  it('never reads a row attribute with JSONPath (a missing path raises States.Runtime, which no Catch handles)', () => {
    const offending = states.flatMap(([name, state]) =>
      [state.Parameters, state.ItemSelector, state.ResultSelector]
        .flatMap(jsonPaths)
        .filter(({ path }) => /S3_bucket|S3_object|NewImage|OldImage|dynamodb/.test(path))
        .map(({ key, path }) => `${name}: ${key} = ${path}`),
    );
    expect(offending).toEqual([]);
    // The walk does find paths: the record is passed whole.
    expect(jsonPaths(states.find(([name]) => name === 'presign')![1].Parameters)).toContainEqual({ key: 'record.$', path: '$.record' });
  });

  it('passes each function the fields its handler reads', () => {
    const payload = (name: string) => {
      const params = states.find(([n]) => n === name)![1].Parameters as { Payload: Record<string, unknown> };
      return Object.keys(params.Payload)
        .map((key) => key.replace(/\.\$$/, ''))
        .sort();
    };
    expect(payload('presign')).toEqual(['attempt', 'entered_at', 'execution', 'record']);
    expect(payload('ffprobe')).toEqual([
      'asset',
      'attempt',
      'entered_at',
      'if_match',
      'output_location',
      'output_upload_url',
      'size_bytes',
      'url',
    ]);
    expect(payload('update')).toEqual(['attempt', 'entered_at', 'execution', 'object', 'record', 'result', 'status', 'steps']);
    expect(payload('update with failure')).toEqual([
      'attempt',
      'entered_at',
      'execution',
      'failure',
      'object',
      'record',
      'status',
      'steps',
    ]);
  });

  it('keeps the presigned URL out of the update step and the failure records', () => {
    const leaks = states
      .filter(([name]) => name !== 'ffprobe')
      .flatMap(([name, state]) =>
        [state.Parameters]
          .flatMap(jsonPaths)
          .filter(({ path }) => /url/i.test(path))
          .map(({ path }) => `${name}: ${path}`),
      );
    expect(leaks).toEqual([]);
  });
});
