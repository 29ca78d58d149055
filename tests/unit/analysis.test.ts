/** The `analysis` record: readable failure messages, the per-step map of a failed run, and step timing. */
import {
  attemptsBeforeCatch,
  describeCaughtError,
  failedSteps,
  type StepReport,
  stepTiming,
  succeeded,
  tagAttempt,
  withoutFinishTime,
} from '../../functions/lib/analysis';
import { ATTEMPTS_BEFORE_CATCH } from '../../functions/lib/errors';

const PRESIGNED =
  'https://example-media-bucket.s3.us-east-1.amazonaws.com/movies/42/feature.mp4?X-Amz-Credential=ASIAEXAMPLE&X-Amz-Signature=0123abcd';

/** The Cause Step Functions hands a Catch when a Lambda throws: the runtime's JSON error document. */
function lambdaCause(errorType: string, errorMessage: string): string {
  return JSON.stringify({
    errorType,
    errorMessage,
    trace: [
      `${errorType}: ${errorMessage}`,
      '    at runFfprobe (/var/task/index.js:1:2345)',
      '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
    ],
  });
}

describe('describeCaughtError', () => {
  it("takes the Lambda's errorMessage out of a JSON Cause", () => {
    expect(
      describeCaughtError({
        Error: 'NotMediaError',
        Cause: lambdaCause('NotMediaError', 'ffprobe found no audio, video or subtitle streams in the object'),
      }),
    ).toEqual({
      type: 'NotMediaError',
      message: 'ffprobe found no audio, video or subtitle streams in the object',
    });
  });

  it('keeps a plain-text Cause as the message', () => {
    expect(describeCaughtError({ Error: 'States.Timeout', Cause: 'The state timed out.' })).toEqual({
      type: 'States.Timeout',
      message: 'The state timed out.',
    });
  });

  it('never carries a stack trace', () => {
    const plain = describeCaughtError({
      Error: 'Error',
      Cause:
        'Error: boom\n    at Object.<anonymous> (/var/task/index.js:10:11)\n    at Module._compile (node:internal/modules/cjs/loader:1358:14)',
    });
    expect(plain.message).toBe('Error: boom');
    const multiLine = describeCaughtError({
      Error: 'Error',
      Cause: lambdaCause('Error', 'first line\n    at secret (/var/task/index.js:1:1)'),
    });
    expect(multiLine.message).toBe('first line');
    expect(JSON.stringify(multiLine)).not.toMatch(/\/var\/task|at secret|trace/);
  });

  it('never carries a URL, whether in JSON or plain text', () => {
    const json = describeCaughtError({ Error: 'TransientError', Cause: lambdaCause('TransientError', `reading ${PRESIGNED} failed`) });
    const plain = describeCaughtError({ Error: 'TransientError', Cause: `could not open ${PRESIGNED}` });
    for (const { message } of [json, plain]) {
      expect(message).not.toMatch(/X-Amz|amazonaws|https:/);
      expect(message).toContain('<url>');
    }
    expect(json.message).toBe('reading <url> failed');
  });

  it('truncates a long message to 1000 characters with an ellipsis', () => {
    const { message } = describeCaughtError({ Error: 'NotMediaError', Cause: lambdaCause('NotMediaError', 'x'.repeat(5000)) });
    expect(message).toHaveLength(1000);
    expect(message.endsWith('…')).toBe(true);
    const exact = describeCaughtError({ Error: 'NotMediaError', Cause: 'y'.repeat(1000) });
    expect(exact.message).toBe('y'.repeat(1000));
  });

  it('fills in a type and a message when the Catch had neither', () => {
    expect(describeCaughtError({})).toEqual({ type: 'UnknownError', message: 'the step failed with UnknownError' });
    expect(describeCaughtError({ Error: 'Sandbox.Timedout', Cause: '' })).toEqual({
      type: 'Sandbox.Timedout',
      message: 'the step failed with Sandbox.Timedout',
    });
    expect(describeCaughtError({ Error: 'X', Cause: lambdaCause('X', '') }).message).toBe('the step failed with X');
  });

  it('keeps a JSON Cause that is not a Lambda error as text', () => {
    expect(describeCaughtError({ Error: 'X', Cause: '{"reason":"odd"}' }).message).toBe('{"reason":"odd"}');
    expect(describeCaughtError({ Error: 'X', Cause: '42' }).message).toBe('42');
  });
});

describe('failedSteps', () => {
  const presignReport: StepReport = { status: 'SUCCEEDED', attempts: 1, duration_ms: 180, finished_at: '2025-01-15T10:00:00.300Z' };
  const ffprobeReport: StepReport = { status: 'SUCCEEDED', attempts: 2, duration_ms: 2500, finished_at: '2025-01-15T10:00:02.900Z' };
  const skipped = { status: 'SKIPPED', attempts: 0, duration_ms: 0 };

  it('a presign failure: presign FAILED, the rest SKIPPED', () => {
    const { steps, error } = failedSteps(
      {},
      {
        step: 'presign',
        error: { Error: 'InvalidRowError', Cause: lambdaCause('InvalidRowError', 'the row has no S3_object attribute') },
        started_at: '2025-01-15T10:00:00.000Z',
        failed_at: '2025-01-15T10:00:00.250Z',
      },
    );
    expect(steps).toStrictEqual({
      presign: {
        status: 'FAILED',
        attempts: 1,
        duration_ms: 250,
        error: 'InvalidRowError: the row has no S3_object attribute',
      },
      ffprobe: skipped,
      update: skipped,
    });
    expect(error).toEqual({ step: 'presign', type: 'InvalidRowError', message: 'the row has no S3_object attribute' });
  });

  it('an ffprobe failure: presign as reported without finished_at, ffprobe FAILED, update SKIPPED', () => {
    const { steps, error } = failedSteps(
      { presign: presignReport },
      {
        step: 'ffprobe',
        error: { Error: 'ProbeTimeoutError', Cause: lambdaCause('ProbeTimeoutError', 'ffprobe did not finish within 60 s') },
        started_at: presignReport.finished_at,
        failed_at: '2025-01-15T10:02:01.300Z',
      },
    );
    expect(steps).toStrictEqual({
      presign: { status: 'SUCCEEDED', attempts: 1, duration_ms: 180 },
      ffprobe: {
        status: 'FAILED',
        attempts: ATTEMPTS_BEFORE_CATCH.ffprobe.ProbeTimeoutError,
        duration_ms: 121_000,
        error: 'ProbeTimeoutError: ffprobe did not finish within 60 s',
      },
      update: skipped,
    });
    expect(steps.presign).not.toHaveProperty('finished_at');
    expect(error).toEqual({ step: 'ffprobe', type: 'ProbeTimeoutError', message: 'ffprobe did not finish within 60 s' });
  });

  it('an update failure: both earlier steps kept without finished_at, update FAILED after its retries', () => {
    const { steps } = failedSteps(
      { presign: presignReport, ffprobe: ffprobeReport },
      {
        step: 'update',
        error: {
          Error: 'TransientError',
          Cause: lambdaCause('TransientError', 'updating the row: ProvisionedThroughputExceededException'),
        },
        started_at: ffprobeReport.finished_at,
        failed_at: '2025-01-15T10:00:12.900Z',
      },
    );
    expect(steps).toStrictEqual({
      presign: { status: 'SUCCEEDED', attempts: 1, duration_ms: 180 },
      ffprobe: { status: 'SUCCEEDED', attempts: 2, duration_ms: 2500 },
      update: {
        status: 'FAILED',
        attempts: ATTEMPTS_BEFORE_CATCH.update.TransientError,
        duration_ms: 10_000,
        error: 'TransientError: updating the row: ProvisionedThroughputExceededException',
      },
    });
    expect(ATTEMPTS_BEFORE_CATCH.update.TransientError).toBe(3);
  });

  it('marks an earlier step without a report as SKIPPED and times an unknown start as 0', () => {
    const { steps } = failedSteps(
      {},
      { step: 'update', error: { Error: 'ValidationException', Cause: 'One or more parameter values were invalid' } },
    );
    expect(steps.presign).toStrictEqual(skipped);
    expect(steps.ffprobe).toStrictEqual(skipped);
    expect(steps.update).toStrictEqual({
      status: 'FAILED',
      attempts: 1,
      duration_ms: 0,
      error: 'ValidationException: One or more parameter values were invalid',
    });
  });

  it('never reports a negative duration', () => {
    const { steps } = failedSteps(
      {},
      { step: 'presign', error: { Error: 'X' }, started_at: '2025-01-15T10:00:01.000Z', failed_at: '2025-01-15T10:00:00.000Z' },
    );
    expect(steps.presign.duration_ms).toBe(0);
  });
});

describe('attemptsBeforeCatch', () => {
  it("is what the step's Retry allows for the error, and 1 for an error no Retry matches", () => {
    expect(attemptsBeforeCatch('ffprobe', 'NotMediaError')).toBe(1);
    expect(attemptsBeforeCatch('presign', 'Lambda.ServiceException')).toBe(3);
    expect(attemptsBeforeCatch('ffprobe', 'Lambda.ServiceException')).toBe(2);
    expect(attemptsBeforeCatch('ffprobe', 'ProbeTimeoutError')).toBe(2);
    expect(attemptsBeforeCatch('presign', 'ProbeTimeoutError')).toBe(1);
  });
});

describe('stepTiming', () => {
  const now = Date.parse('2025-01-15T10:00:05.000Z');

  it('counts attempts from the retry count and the duration from the entry time', () => {
    expect(stepTiming(0, '2025-01-15T10:00:04.250Z', now)).toEqual({ attempts: 1, duration_ms: 750 });
    expect(stepTiming(3, '2025-01-15T10:00:00.000Z', now)).toEqual({ attempts: 4, duration_ms: 5000 });
  });

  it('copes with what a local invoke leaves out', () => {
    expect(stepTiming(undefined, undefined, now)).toEqual({ attempts: 1, duration_ms: 0 });
    expect(stepTiming(1.5, 'not a date', now)).toEqual({ attempts: 1, duration_ms: 0 });
    expect(stepTiming(0, '2025-01-15T10:00:06.000Z', now)).toEqual({ attempts: 1, duration_ms: 0 });
  });

  it('succeeded() adds the status and the hand-over time, which withoutFinishTime() drops again', () => {
    const report = succeeded(1, '2025-01-15T10:00:04.000Z', now);
    expect(report).toStrictEqual({ status: 'SUCCEEDED', attempts: 2, duration_ms: 1000, finished_at: '2025-01-15T10:00:05.000Z' });
    expect(withoutFinishTime(report)).toStrictEqual({ status: 'SUCCEEDED', attempts: 2, duration_ms: 1000 });
    expect(withoutFinishTime({ ...report, status: 'FAILED', error: 'X: y' })).toStrictEqual({
      status: 'FAILED',
      attempts: 2,
      duration_ms: 1000,
      error: 'X: y',
    });
    expect(withoutFinishTime(undefined)).toBeUndefined();
  });
});

describe('the attempt a step reports with its error', () => {
  it('tagAttempt ends the error message with the try that raised it (RetryCount + 1)', async () => {
    const error = new Error('ffprobe could not read the object as media: moov atom not found');
    await tagAttempt().onError({ event: { attempt: 2 }, error });
    expect(error.message).toBe('ffprobe could not read the object as media: moov atom not found [attempt 3]');
  });

  it('tagAttempt leaves the message alone when Step Functions passed no retry count', async () => {
    const error = new Error('boom');
    await tagAttempt().onError({ event: {}, error });
    expect(error.message).toBe('boom');
  });

  it("tagAttempt cuts a long message, so no error can push the Catch state over Step Functions' 256 KB", async () => {
    const error = new Error('x'.repeat(140_000));
    await tagAttempt().onError({ event: { attempt: 0 }, error });
    expect(error.message).toBe(`${'x'.repeat(999)}… [attempt 1]`);
  });

  it('describeCaughtError takes the attempt off the message and reports it', () => {
    expect(describeCaughtError({ Error: 'NotMediaError', Cause: lambdaCause('NotMediaError', 'not media [attempt 2]') })).toEqual({
      type: 'NotMediaError',
      message: 'not media',
      attempt: 2,
    });
  });

  it('failedSteps records the tagged attempt, so a permanent error after transient retries counts them', () => {
    const { steps } = failedSteps(
      {},
      { step: 'presign', error: { Error: 'NotMediaError', Cause: lambdaCause('NotMediaError', 'not media [attempt 3]') } },
    );
    expect(steps.presign.attempts).toBe(3);
    expect(steps.presign.error).toBe('NotMediaError: not media');
  });
});
