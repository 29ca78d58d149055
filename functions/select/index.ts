/**
 * Lambda: the select step of the backfill state machine, which reads the next page of one
 * parallel-scan segment and hands back the rows its mode selects as analysis inputs.
 */

import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import { readSelectRequest, type SelectPage, selectPage } from '../lib/backfill';
import { logger, SDK_TIMEOUTS, tracer } from '../lib/commons';
import { getStringFromEnv } from '../lib/config';
import { asTransientIfRetryable } from '../lib/errors';

const context = {
  tableName: getStringFromEnv('TABLE_NAME'),
  streamArn: getStringFromEnv('STREAM_ARN'),
  region: getStringFromEnv('AWS_REGION'),
};
const dynamodb = tracer.captureAWSv3Client(new DynamoDBClient({ requestHandler: SDK_TIMEOUTS }));

const select = async (event: unknown): Promise<SelectPage> => {
  const request = readSelectRequest(event);
  logger.appendKeys({ mode: request.mode, segment: request.segment });
  let page: SelectPage;
  try {
    page = await selectPage(dynamodb, context, request);
  } catch (error) {
    throw asTransientIfRetryable(error, `scanning table ${context.tableName}`);
  }
  logger.info('selected a page', { rows: page.rows, executions: page.batches.length, segment_done: page.start_key === null });
  return page;
};

export const handler = middy(select)
  .use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }))
  .use(captureLambdaHandler(tracer, { captureResponse: false }));
