/** The one Logger and Tracer every handler shares, so log fields and trace segments look the same across steps. */
import { Logger } from '@aws-lambda-powertools/logger';
import { Tracer } from '@aws-lambda-powertools/tracer';

const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'media-probe';

export const logger = new Logger({ serviceName });
export const tracer = new Tracer({ serviceName });

/**
 * Timeouts for every SDK client: a hung S3 or DynamoDB call surfaces as a TimeoutError, which the
 * steps raise as TransientError for the state machine to retry, instead of running into the
 * function's own timeout (which no Retry could tell apart from a real hang).
 */
export const SDK_TIMEOUTS = { connectionTimeout: 3_000, requestTimeout: 5_000 };
