/** The one Logger and Tracer every handler shares, so log fields and trace segments look the same across steps. */
import { Logger } from '@aws-lambda-powertools/logger';
import { Tracer } from '@aws-lambda-powertools/tracer';

const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'media-probe';

export const logger = new Logger({ serviceName });
export const tracer = new Tracer({ serviceName });

/**
 * Timeouts for every SDK client: a hung S3 or DynamoDB call surfaces as a TimeoutError, which the
 * steps raise as TransientError for the state machine to retry, instead of running into the
 * function's own timeout (Sandbox.Timedout, which no Retry could tell apart from a real hang).
 * Without `throwOnRequestTimeout` the handler only logs a warning and keeps waiting. The SDK's
 * own three attempts of at most 2 s each, with its back-off, stay under 7 s: inside the 10 s
 * timeout of the presign and update functions. The largest body sent, a 16 MiB ffprobe output,
 * needs 8 MB/s to fit.
 */
export const SDK_TIMEOUTS = { connectionTimeout: 1_000, requestTimeout: 2_000, throwOnRequestTimeout: true };
