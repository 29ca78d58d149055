/**
 * Lambda: the update step, which writes the analysis — success or failure — onto the DynamoDB row,
 * only if the row still points at the analysed object, and counts what it recorded in CloudWatch.
 */

import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import { stepTiming, tagAttempt } from '../lib/analysis';
import { logger, SDK_TIMEOUTS, tracer } from '../lib/commons';
import { getStringFromEnv } from '../lib/config';
import { countOutcome } from '../lib/outcome-metrics';
import { readStreamRecord } from '../lib/stream-record';
import { type UpdateOutcome, type UpdateRequest, updateRow } from '../lib/update';

const tableName = getStringFromEnv('TABLE_NAME');
const dynamodb = tracer.captureAWSv3Client(new DynamoDBClient({ requestHandler: SDK_TIMEOUTS }));
// Namespace from POWERTOOLS_METRICS_NAMESPACE (the template's, per stack), service from POWERTOOLS_SERVICE_NAME.
const metrics = new Metrics();

export interface UpdateEvent extends UpdateRequest {
  attempt?: number;
  entered_at?: string;
}

const update = async (event: UpdateEvent): Promise<UpdateOutcome> => {
  // A failed presign hands on the record as the pipe delivered it, placeholders of missing attributes included.
  const request = { ...event, record: readStreamRecord(event.record) };
  const outcome = await updateRow(dynamodb, tableName, request, { status: 'SUCCEEDED', ...stepTiming(event.attempt, event.entered_at) });
  logger.appendKeys({ movie_id: outcome.movie_id });
  countOutcome(metrics, outcome);
  if (outcome.applied) {
    logger.info('recorded analysis', { status: outcome.status, error: outcome.error });
  } else {
    logger.warn('left the row alone', { status: outcome.status, reason: outcome.reason });
  }
  return outcome;
};

export const handler = middy(update)
  .use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }))
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(tagAttempt());
