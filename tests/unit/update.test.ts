/** The update step against a mocked DynamoDB: applied, refused (and why), retryable, or permanent. */
import { ConditionalCheckFailedException, DynamoDBClient, DynamoDBServiceException, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { StepRecord } from '../../functions/lib/analysis';
import { TransientError } from '../../functions/lib/errors';
import { summariseMedia } from '../../functions/lib/media-summary';
import { compactSummary } from '../../functions/lib/outcome-event';
import { analysisFor, type UpdateRequest, updateRow } from '../../functions/lib/update';
import { outcomeEventErrors } from '../support/outcome-schema';
import { BUCKET, insertRecord, KEY } from './helpers/records';

const dynamodb = new DynamoDBClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'UNITTESTKEYID', secretAccessKey: 'unit-test-secret' },
});
const dynamoMock = mockClient(dynamodb);
const TABLE = 'media-probe-movies';
const updateStep: StepRecord = { status: 'SUCCEEDED', attempts: 1, duration_ms: 35 };
const execution = { id: 'arn:aws:states:us-east-1:123456789012:express:media-probe:run-1:item-0', started_at: '2025-01-15T10:00:00.000Z' };

const success: UpdateRequest = {
  status: 'SUCCEEDED',
  record: insertRecord(),
  execution,
  steps: {
    presign: { status: 'SUCCEEDED', attempts: 1, duration_ms: 150, finished_at: '2025-01-15T10:00:00.200Z' } as StepRecord,
    ffprobe: { status: 'SUCCEEDED', attempts: 1, duration_ms: 2100, finished_at: '2025-01-15T10:00:02.350Z' } as StepRecord,
  },
  result: {
    stored: { ffprobe_output: '{"streams":[{"codec_type":"audio"}],"format":{}}' },
    media: summariseMedia({ streams: [{ index: 0, codec_type: 'audio', codec_name: 'mp3' }], format: {} }),
  },
  object: {
    bucket: BUCKET,
    key: KEY,
    etag: '"5d41402abc4b2a76b9719d911017c592"',
    size_bytes: 5,
    last_modified: '2025-01-15T09:00:00.000Z',
  },
};

const failure: UpdateRequest = {
  status: 'FAILED',
  record: insertRecord(),
  execution,
  steps: {},
  failure: {
    step: 'presign',
    error: {
      Error: 'ObjectNotFoundError',
      Cause: JSON.stringify({ errorType: 'ObjectNotFoundError', errorMessage: 'the object does not exist' }),
    },
    started_at: '2025-01-15T10:00:00.000Z',
    failed_at: '2025-01-15T10:00:00.300Z',
  },
};

/** A DynamoDB error as the SDK raises it. */
function dynamoError(name: string, httpStatusCode: number, message = name): DynamoDBServiceException {
  return new DynamoDBServiceException({
    name,
    $fault: httpStatusCode >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode },
    message,
  });
}

beforeEach(() => dynamoMock.reset());

describe('updateRow', () => {
  it('records a success and says it applied', async () => {
    dynamoMock.on(UpdateItemCommand).resolves({});
    const outcome = await updateRow(dynamodb, TABLE, success, updateStep);
    expect(outcome).toStrictEqual({ movie_id: '42', status: 'SUCCEEDED', applied: true, event: expect.any(Object) });
    // The event to publish: the analysis as written, with the summary of what was written as media.
    const analysis = unmarshall(dynamoMock.commandCalls(UpdateItemCommand)[0].args[0].input.ExpressionAttributeValues!)[':analysis'];
    expect(outcome.event).toEqual({
      detail_type: 'Media Analysis Succeeded',
      detail: expect.objectContaining({
        movie_id: 42,
        status: 'SUCCEEDED',
        execution: analysis.execution,
        finished_at: analysis.finished_at,
      }),
    });
    expect(outcome.event?.detail.summary).toEqual(compactSummary(success.result!.media));
    expect(outcomeEventErrors({ source: 'media-probe', 'detail-type': outcome.event?.detail_type, detail: outcome.event?.detail })).toEqual(
      [],
    );
    const [call] = dynamoMock.commandCalls(UpdateItemCommand);
    const input = call.args[0].input;
    expect(input.TableName).toBe(TABLE);
    expect(input.Key).toEqual({ movie_id: { N: '42' } });
    expect(input.ExpressionAttributeValues![':output']).toEqual({
      S: (success.result!.stored as { ffprobe_output: string }).ffprobe_output,
    });
    expect(input.ExpressionAttributeValues![':analysis'].M!.steps.M!.presign.M).not.toHaveProperty('finished_at');
  });

  it('records a failure and hands back its error', async () => {
    dynamoMock.on(UpdateItemCommand).resolves({});
    expect(await updateRow(dynamodb, TABLE, failure, updateStep)).toStrictEqual({
      movie_id: '42',
      status: 'FAILED',
      applied: true,
      error: { step: 'presign', type: 'ObjectNotFoundError', message: 'the object does not exist' },
      event: {
        detail_type: 'Media Analysis Failed',
        detail: expect.objectContaining({ error: { step: 'presign', type: 'ObjectNotFoundError', message: 'the object does not exist' } }),
      },
    });
    const input = dynamoMock.commandCalls(UpdateItemCommand)[0].args[0].input;
    expect(input.UpdateExpression).toMatch(/ REMOVE #media, #ffprobe_output, #ffprobe_output_location$/);
  });

  it('a refused condition with the current row → applied: false, with the reason', async () => {
    const Item = marshall({ movie_id: 42, S3_bucket: BUCKET, S3_object: 'movies/42/recut.mp4' });
    dynamoMock
      .on(UpdateItemCommand)
      .rejects(
        new ConditionalCheckFailedException({ $metadata: { httpStatusCode: 400 }, message: 'The conditional request failed', Item }),
      );
    expect(await updateRow(dynamodb, TABLE, success, updateStep)).toStrictEqual({
      movie_id: '42',
      status: 'SUCCEEDED',
      applied: false,
      reason: `the row's S3_object changed from "${KEY}" to "movies/42/recut.mp4" since the analysis started`,
    });
  });

  it('a refused condition without a row → applied: false, the row was deleted', async () => {
    dynamoMock
      .on(UpdateItemCommand)
      .rejects(new ConditionalCheckFailedException({ $metadata: { httpStatusCode: 400 }, message: 'The conditional request failed' }));
    expect(await updateRow(dynamodb, TABLE, failure, updateStep)).toStrictEqual({
      movie_id: '42',
      status: 'FAILED',
      applied: false,
      reason: 'the row was deleted before the result could be recorded',
    });
  });

  it.each([
    ['ProvisionedThroughputExceededException', dynamoError('ProvisionedThroughputExceededException', 400)],
    ['ThrottlingException', dynamoError('ThrottlingException', 400)],
    ['InternalServerError', dynamoError('InternalServerError', 500)],
  ])('%s → TransientError', async (_label, error) => {
    dynamoMock.on(UpdateItemCommand).rejects(error);
    const outcome = updateRow(dynamodb, TABLE, success, updateStep);
    await expect(outcome).rejects.toBeInstanceOf(TransientError);
    await expect(outcome).rejects.toThrow(/^updating the row: /);
  });

  it('ValidationException passes through unchanged, so it is not retried', async () => {
    const error = dynamoError('ValidationException', 400, 'Item size has exceeded the maximum allowed size');
    dynamoMock.on(UpdateItemCommand).rejects(error);
    await expect(updateRow(dynamodb, TABLE, success, updateStep)).rejects.toBe(error);
  });

  it('refuses a record that is not a stream record before calling DynamoDB', async () => {
    await expect(updateRow(dynamodb, TABLE, { ...failure, record: { hello: 'world' } }, updateStep)).rejects.toMatchObject({
      name: 'InvalidRowError',
    });
    expect(dynamoMock.calls()).toHaveLength(0);
  });
});

describe('analysisFor', () => {
  const now = new Date('2025-01-15T10:00:03.000Z');

  it('a success keeps the earlier step reports without their hand-over times and adds the update step', () => {
    expect(analysisFor(success, updateStep, now)).toStrictEqual({
      status: 'SUCCEEDED',
      execution: execution.id,
      started_at: execution.started_at,
      finished_at: '2025-01-15T10:00:03.000Z',
      object: success.object,
      steps: {
        presign: { status: 'SUCCEEDED', attempts: 1, duration_ms: 150 },
        ffprobe: { status: 'SUCCEEDED', attempts: 1, duration_ms: 2100 },
        update: updateStep,
      },
    });
  });

  it('a failure takes the step map and the error from the failure', () => {
    const analysis = analysisFor(failure, updateStep, now);
    expect(analysis.status).toBe('FAILED');
    expect(analysis.steps.presign).toStrictEqual({
      status: 'FAILED',
      attempts: 1,
      duration_ms: 300,
      error: 'ObjectNotFoundError: the object does not exist',
    });
    expect(analysis.error).toEqual({ step: 'presign', type: 'ObjectNotFoundError', message: 'the object does not exist' });
  });

  it('a failure request without a failure is a programming error', () => {
    expect(() => analysisFor({ ...failure, failure: undefined }, updateStep, now)).toThrow('a FAILED update needs a failure');
  });
});
