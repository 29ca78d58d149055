/** The `analysis` record the pipeline keeps on each item: overall status, per-step status, and the failure in words. */
import { ATTEMPTS_BEFORE_CATCH } from './errors';
import { redactUrls } from './ffprobe-command';
import type { ObjectIdentity } from './presign';
import { truncate } from './truncate';

export const STEP_NAMES = ['presign', 'ffprobe', 'update'] as const;
export type StepName = (typeof STEP_NAMES)[number];

export interface StepRecord {
  status: 'SUCCEEDED' | 'FAILED' | 'SKIPPED';
  attempts: number;
  duration_ms: number;
  error?: string;
}

/** What a step's Lambda reports on success; `finished_at` lets the next step's failure be timed. */
export interface StepReport extends StepRecord {
  finished_at: string;
}

export interface AnalysisError {
  step: StepName;
  type: string;
  message: string;
}

export interface Analysis {
  status: 'SUCCEEDED' | 'FAILED';
  execution: string;
  started_at: string;
  finished_at: string;
  steps: Record<StepName, StepRecord>;
  error?: AnalysisError;
  /** The object analysed, as the presign step's HeadObject described it. */
  object?: ObjectIdentity;
}

/** The error a Catch hands on: `Error` is the name, `Cause` the Lambda's JSON or plain text. */
export interface CaughtError {
  Error?: string;
  Cause?: string;
}

const MAX_MESSAGE_LENGTH = 1000;

/** The retry count and entry time Step Functions passes in; how many tries and how long the step took. */
export function stepTiming(
  attempt: number | undefined,
  enteredAt: string | undefined,
  now = Date.now(),
): { attempts: number; duration_ms: number } {
  const entered = enteredAt ? Date.parse(enteredAt) : NaN;
  return {
    attempts: (Number.isInteger(attempt) ? (attempt as number) : 0) + 1,
    duration_ms: Number.isFinite(entered) ? Math.max(0, now - entered) : 0,
  };
}

/** A step report for a successful step. */
export function succeeded(attempt: number | undefined, enteredAt: string | undefined, now = Date.now()): StepReport {
  return { status: 'SUCCEEDED', ...stepTiming(attempt, enteredAt, now), finished_at: new Date(now).toISOString() };
}

/** The suffix a step's handler puts on its error message (see `tagAttempt`): which try raised it. */
const ATTEMPT_SUFFIX = /\s*\[attempt (\d+)\]$/;

/**
 * A middy middleware that bounds a step's error message and ends it with the attempt that raised
 * it: Step Functions hands a Catch only the error, so this is how the failure record learns how
 * many tries the step made.
 */
export function tagAttempt(): { onError: (request: { event: unknown; error: unknown }) => Promise<void> } {
  return {
    onError: async (request) => {
      const attempt = (request.event as { attempt?: unknown } | null)?.attempt;
      const error = request.error as Error | null;
      if (!(error instanceof Error)) return;
      // The message travels into the Catch's state and onto the row: bounded here, whatever raised it.
      error.message = truncate(error.message, MAX_MESSAGE_LENGTH);
      if (Number.isInteger(attempt)) error.message = `${error.message} [attempt ${(attempt as number) + 1}]`;
    },
  };
}

/**
 * Turns a caught error into `{type, message}` people can read: the Lambda's own message when the
 * Cause is Lambda's JSON, never a stack trace, never a URL, bounded in length; and the attempt that
 * raised it, when the step's handler said.
 */
export function describeCaughtError(caught: CaughtError): { type: string; message: string; attempt?: number } {
  const type = caught.Error || 'UnknownError';
  let message = caught.Cause ?? '';
  try {
    const parsed = JSON.parse(message) as { errorMessage?: unknown };
    if (parsed && typeof parsed === 'object' && typeof parsed.errorMessage === 'string') message = parsed.errorMessage;
  } catch {
    // A plain-text Cause (States.Timeout, Lambda service errors) is already the message.
  }
  message = message.split('\n')[0] ?? '';
  const tagged = ATTEMPT_SUFFIX.exec(message);
  message = redactUrls(message.replace(ATTEMPT_SUFFIX, '')).trim();
  message = truncate(message, MAX_MESSAGE_LENGTH);
  return { type, message: message || `the step failed with ${type}`, ...(tagged ? { attempt: Number(tagged[1]) } : {}) };
}

/** How many times a failed step ran when its handler could not say (Lambda service errors, timeouts): what its Retry field allows for that error. */
export function attemptsBeforeCatch(step: StepName, errorName: string): number {
  return ATTEMPTS_BEFORE_CATCH[step][errorName] ?? 1;
}

export interface FailureContext {
  step: StepName;
  error: CaughtError;
  /** When the failed step began: the previous step's `finished_at`, or the execution start. */
  started_at?: string;
  /** When the Catch handed over. */
  failed_at?: string;
}

/** The per-step map for a failed analysis: steps before the failure as reported, the failed one, the rest skipped. */
export function failedSteps(
  previous: Partial<Record<StepName, StepRecord>>,
  failure: FailureContext,
): { steps: Record<StepName, StepRecord>; error: AnalysisError } {
  const { type, message, attempt } = describeCaughtError(failure.error);
  const start = failure.started_at ? Date.parse(failure.started_at) : NaN;
  const end = failure.failed_at ? Date.parse(failure.failed_at) : Date.now();
  const failedIndex = STEP_NAMES.indexOf(failure.step);
  const steps = {} as Record<StepName, StepRecord>;
  STEP_NAMES.forEach((name, index) => {
    if (index < failedIndex) {
      steps[name] = withoutFinishTime(previous[name]) ?? { status: 'SKIPPED', attempts: 0, duration_ms: 0 };
    } else if (index === failedIndex) {
      steps[name] = {
        status: 'FAILED',
        attempts: attempt ?? attemptsBeforeCatch(failure.step, type),
        duration_ms: Number.isFinite(start) ? Math.max(0, end - start) : 0,
        error: `${type}: ${message}`,
      };
    } else {
      steps[name] = { status: 'SKIPPED', attempts: 0, duration_ms: 0 };
    }
  });
  return { steps, error: { step: failure.step, type, message } };
}

/** A step record as stored: the hand-over timestamp is internal to the state machine. */
export function withoutFinishTime(report: StepRecord | undefined): StepRecord | undefined {
  if (!report) return undefined;
  const { status, attempts, duration_ms, error } = report;
  return error === undefined ? { status, attempts, duration_ms } : { status, attempts, duration_ms, error };
}
