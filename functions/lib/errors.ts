/** Named errors raised by the steps; the state machine's Retry and Catch match on these names. */
import { isServerError, isThrottlingError, isTransientError } from '@smithy/service-error-classification';

/** A failure worth retrying: throttling, 5xx, a dropped connection. */
export class TransientError extends Error {
  override name = 'TransientError';
}

/** The stream record does not describe an analysable row (missing or mistyped attributes). */
export class InvalidRowError extends Error {
  override name = 'InvalidRowError';
}

/** A backfill's input names no mode, segment or segment count the select step can use. */
export class InvalidBackfillInputError extends Error {
  override name = 'InvalidBackfillInputError';
}

/**
 * The object was replaced between the presign step's HeadObject and the probe's reads (S3 answered
 * If-Match with 412): this analysis would have mixed two files. A new analysis reads the new
 * content; with S3 object events on, the replacement's own event starts it.
 */
export class ObjectChangedError extends Error {
  override name = 'ObjectChangedError';
}

/** The S3 object the row points at does not exist. */
export class ObjectNotFoundError extends Error {
  override name = 'ObjectNotFoundError';
}

/** The function's role may not read the object (bucket not in MediaBucketNames, owned by another account, or KMS). */
export class AccessDeniedError extends Error {
  override name = 'AccessDeniedError';
}

/** ffprobe read the object and could not make sense of it: empty, truncated, corrupt, not media, or needing more than ffprobe's memory budget. */
export class NotMediaError extends Error {
  override name = 'NotMediaError';
}

/** ffprobe did not finish within its wall-clock budget. */
export class ProbeTimeoutError extends Error {
  override name = 'ProbeTimeoutError';
}

/** ffprobe produced more output than the configured cap. */
export class ProbeOutputTooLargeError extends Error {
  override name = 'ProbeOutputTooLargeError';
}

/**
 * Names every step retries: our own TransientError, and the Lambda service errors AWS recommends
 * retrying for Lambda tasks (ClientExecutionTimeoutException among them) plus throttling. Anything
 * else is permanent and goes straight to the Catch.
 */
export const TRANSIENT_ERROR_NAMES = [
  'TransientError',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.TooManyRequestsException',
] as const;

const attemptsFor = (attempts: number): Record<string, number> => Object.fromEntries(TRANSIENT_ERROR_NAMES.map((name) => [name, attempts]));

/**
 * Attempts a step makes before its Catch sees an error of that name, by step, as the ASL's Retry
 * fields say (MaxAttempts + 1): the time budget of a synchronous Express execution gives presign
 * and update three attempts, ffprobe two. A unit test holds this table and the ASL together.
 */
export const ATTEMPTS_BEFORE_CATCH: Readonly<Record<'presign' | 'ffprobe' | 'update', Readonly<Record<string, number>>>> = {
  presign: attemptsFor(3),
  ffprobe: { ...attemptsFor(2), ProbeTimeoutError: 2 },
  update: attemptsFor(3),
};

interface AwsLikeError {
  name?: string;
  message?: string;
}

/**
 * True when an AWS SDK (or socket) error is worth another attempt: throttling, 5xx, a dropped or
 * refused connection, a timeout — as the SDK's own retry strategy classifies them.
 */
export function isTransientAwsError(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const e = error as Parameters<typeof isTransientError>[0];
  return isThrottlingError(e) || isTransientError(e) || isServerError(e);
}

/** Re-raises an SDK error as TransientError when it is worth a retry, unchanged otherwise. */
export function asTransientIfRetryable(error: unknown, what: string): unknown {
  if (isTransientAwsError(error)) {
    const e = error as AwsLikeError;
    return new TransientError(`${what}: ${e.name ?? 'error'}${e.message ? ` (${e.message})` : ''}`);
  }
  return error;
}

/** ffprobe died on a signal (not for want of memory: that is NotMediaError): a defect in the binary, not in the media. */
export class ProbeCrashedError extends Error {
  override name = 'ProbeCrashedError';
}

/** The endpoint's TLS certificate did not verify: a configuration or interception problem, not worth a retry. */
export class TlsVerificationError extends Error {
  override name = 'TlsVerificationError';
}

/** The storage endpoint answered with a redirect, which the probe never follows: a wrong endpoint or something rewriting the answer, not worth a retry. */
export class RedirectRefusedError extends Error {
  override name = 'RedirectRefusedError';
}
