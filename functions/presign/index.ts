/** Lambda: the presign step, which validates the inserted row, presigns a short-lived GET URL for its media object and a PUT URL for its output. */

import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { S3Client } from '@aws-sdk/client-s3';
import middy from '@middy/core';
import { type StepReport, succeeded, tagAttempt } from '../lib/analysis';
import { logger, SDK_TIMEOUTS, tracer } from '../lib/commons';
import { getIntegerFromEnv, getStringFromEnv } from '../lib/config';
import { type OutputUpload, outputKey, presignAsset, presignOutputUpload } from '../lib/presign';
import { type Asset, assetFromRecord } from '../lib/row';
import { type PipeRecord, projectStreamRecord, readStreamRecord, type StreamRecord } from '../lib/stream-record';

const expiresInSeconds = getIntegerFromEnv('PRESIGN_EXPIRY_SECONDS', { default: 300, min: 30, max: 3600 });
const resultsBucket = getStringFromEnv('RESULTS_BUCKET');
const s3 = tracer.captureAWSv3Client(
  new S3Client({ forcePathStyle: process.env.S3_FORCE_PATH_STYLE === 'true', requestHandler: SDK_TIMEOUTS }),
);

export interface PresignEvent {
  record: unknown;
  /** The execution's identity, handed back so the state machine can replace its state with the result. */
  execution?: { id?: string } | null;
  attempt?: number;
  entered_at?: string;
}

export interface PresignResult extends OutputUpload {
  record: StreamRecord;
  execution: unknown;
  asset: Asset;
  url: string;
  expires_at: string;
  size_bytes: number | null;
  step: StepReport;
}

const presign = async (event: PresignEvent): Promise<PresignResult> => {
  const record = readStreamRecord(event.record);
  const asset = assetFromRecord(record);
  logger.appendKeys({ movie_id: asset.movieId });
  const presigned = await presignAsset(s3, asset, expiresInSeconds);
  const key = outputKey(asset.movieId, String(event.execution?.id ?? ''), String((record as StreamRecord).eventID ?? ''));
  const upload = await presignOutputUpload(s3, resultsBucket, key, expiresInSeconds);
  logger.info('presigned media URL', {
    bucket: asset.bucket,
    key: asset.key,
    expires_at: presigned.expires_at,
    size_bytes: presigned.size_bytes,
  });
  return {
    // An execution started with whole records (by hand) carries no more than the pipe's projection on.
    record: projectStreamRecord(record as PipeRecord),
    execution: event.execution ?? null,
    asset,
    ...presigned,
    ...upload,
    step: succeeded(event.attempt, event.entered_at),
  };
};

export const handler = middy(presign)
  .use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }))
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(tagAttempt());
