/**
 * Lambda: the object-event step, target of the rule on S3's Object Created / Object Deleted events
 * for the media buckets: the rows that point at the object are analysed again, or the deletion is
 * recorded on them.
 */

import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import middy from '@middy/core';
import { logger, SDK_TIMEOUTS, tracer } from '../lib/commons';
import { getStringFromEnv } from '../lib/config';
import { asTransientIfRetryable } from '../lib/errors';
import { handleObjectChange, type ObjectEventOutcome, readObjectEvent } from '../lib/object-event';

const config = {
  tableName: getStringFromEnv('TABLE_NAME'),
  indexName: getStringFromEnv('OBJECT_INDEX_NAME'),
  stateMachineArn: getStringFromEnv('STATE_MACHINE_ARN'),
  streamArn: getStringFromEnv('STREAM_ARN'),
  region: getStringFromEnv('AWS_REGION'),
};
const dynamodb = tracer.captureAWSv3Client(new DynamoDBClient({ requestHandler: SDK_TIMEOUTS }));
const sfn = tracer.captureAWSv3Client(new SFNClient({ requestHandler: SDK_TIMEOUTS }));

const objectEvent = async (event: unknown): Promise<ObjectEventOutcome> => {
  const change = readObjectEvent(event);
  logger.appendKeys({ bucket: change.bucket, key: change.key, change: change.kind });
  let outcome: ObjectEventOutcome;
  try {
    outcome = await handleObjectChange({ ...config, dynamodb, sfn }, change);
  } catch (error) {
    throw asTransientIfRetryable(error, `handling the ${change.kind} object s3://${change.bucket}/${change.key}`);
  }
  logger.info('handled an object change', { ...outcome });
  return outcome;
};

export const handler = middy(objectEvent)
  .use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }))
  .use(captureLambdaHandler(tracer, { captureResponse: false }));
