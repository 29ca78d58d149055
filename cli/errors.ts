/** The command line's errors — a wrong command line, a failure explained — and AWS SDK errors turned into sentences an operator can act on. */
import { isTransientAwsError } from '../functions/lib/errors';
import { RetriesExhaustedError } from '../util/backoff';

/** A command line that cannot work (options that do not go together, a missing input): printed with the help hint, exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A failure explained for the operator: printed after the command's name, exit status 1. */
export class OperatorError extends Error {
  override name = 'OperatorError';
}

interface AwsLikeError {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

const CREDENTIAL_ERRORS = new Set(['CredentialsProviderError', 'TokenProviderError']);
const REJECTED_CREDENTIALS = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'ExpiredToken',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
]);
const ACCESS_DENIED = new Set(['AccessDeniedException', 'AccessDenied', 'UnauthorizedOperation']);
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH']);

/** A StartExecution worth trying again: throttling, 5xx, a dropped connection, or Step Functions' open-execution limit. */
export function isRetryableStart(error: unknown): boolean {
  return isTransientAwsError(error) || (error as AwsLikeError)?.name === 'ExecutionLimitExceeded';
}

function summary(error: AwsLikeError): string {
  const name = error.name && error.name !== 'Error' ? error.name : error.code;
  return [name, error.message].filter(Boolean).join(': ');
}

/**
 * Says what went wrong while doing `what` ("reading the table", "StartExecution"): missing or
 * rejected credentials, no region, throttling that outlasted the retries, no permission, an
 * unreachable endpoint. Errors already explained pass through unchanged.
 */
export function explainAwsError(error: unknown, what: string): Error {
  if (error instanceof OperatorError || error instanceof UsageError) return error;
  let attempts: number | undefined;
  let e = error as AwsLikeError;
  if (error instanceof RetriesExhaustedError) {
    attempts = error.attempts;
    e = error.lastError as AwsLikeError;
  }
  attempts ??= e?.$metadata?.attempts;
  const name = e?.name ?? '';
  const message = e?.message ?? String(error);
  const explained = (text: string) => new OperatorError(text, { cause: error });

  if (CREDENTIAL_ERRORS.has(name) || /could not load credentials/i.test(message)) {
    return explained(
      `no AWS credentials found while ${what}: configure them the usual way (aws configure, aws sso login, AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), or use --local for the local stack`,
    );
  }
  if (/region is missing/i.test(message)) {
    return explained(`no AWS region configured while ${what}: set AWS_REGION (or AWS_PROFILE with a region) to the stack's region`);
  }
  if (REJECTED_CREDENTIALS.has(name))
    return explained(
      `AWS rejected the credentials while ${what} (${summary(e)}): refresh them (aws sso login, new session token) and try again`,
    );
  if (ACCESS_DENIED.has(name)) return explained(`not allowed: ${what} was denied (${summary(e)})`);
  if (isRetryableStart(e) && !UNREACHABLE.has(e.code ?? '')) {
    const tries = attempts ? ` after ${attempts} attempt${attempts === 1 ? '' : 's'}` : '';
    const throttled = /throttl|rate exceeded|too many|limit ?exceeded|slowdown|provisionedthroughput/i.test(`${name} ${message}`);
    return explained(
      throttled
        ? `AWS kept throttling ${what}${tries} (${summary(e)}): try again later, or lower --rate / --concurrency`
        : `AWS kept failing ${what}${tries} (${summary(e)}): try again later`,
    );
  }
  if (UNREACHABLE.has(e.code ?? '') || UNREACHABLE.has(name))
    return explained(`could not reach the endpoint while ${what} (${summary(e)})`);
  return explained(`${what} failed: ${summary(e) || 'unknown error'}`);
}

/** Awaits an AWS call and explains its failure. */
export async function explained<T>(what: string, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    throw explainAwsError(error, what);
  }
}
