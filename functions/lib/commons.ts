/** The one Logger and Tracer every handler shares, so log fields and trace segments look the same across steps. */
import { Logger } from '@aws-lambda-powertools/logger';
import { Tracer } from '@aws-lambda-powertools/tracer';

const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'media-probe';

export const logger = new Logger({ serviceName });
export const tracer = new Tracer({ serviceName });
