/**
 * The update function's CloudWatch metrics, as the embedded metric format (EMF) lines it prints when
 * it records an outcome: one count of analyses by status, and for a failure one count by step and
 * error type; nothing for a result it leaves alone.
 */
import { ConditionalCheckFailedException, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { summariseMedia } from '../../functions/lib/media-summary';
import type { UpdateEvent } from '../../functions/update/index';
import { FakeFfprobeDir } from './helpers/fake-ffprobe';
import { type Handlers, loadHandlers, METRICS_NAMESPACE } from './helpers/handlers';
import { captureOutput, lambdaContext } from './helpers/lambda';
import { insertRecord } from './helpers/records';

const dynamoMock = mockClient(DynamoDBClient);
const fake = new FakeFfprobeDir();
const context = lambdaContext('media-probe-update');
let handlers: Handlers;

beforeAll(() => {
  handlers = loadHandlers(fake.printing('ffprobe', '{}'));
});
afterAll(() => fake.remove());
beforeEach(() => dynamoMock.reset());

const execution = { id: 'arn:aws:states:us-east-1:123456789012:express:media-probe:run-1:item-0', started_at: '2025-01-15T10:00:00.000Z' };
const succeeded: UpdateEvent = {
  status: 'SUCCEEDED',
  record: insertRecord(),
  execution,
  steps: {},
  result: { stored: { ffprobe_output: '{}' }, media: summariseMedia({}) },
};
const failed: UpdateEvent = {
  status: 'FAILED',
  record: insertRecord(),
  execution,
  steps: {},
  failure: { step: 'ffprobe', error: { Error: 'NotMediaError', Cause: '{"errorType":"NotMediaError","errorMessage":"not media"}' } },
};

/** The EMF documents among everything the invocation printed. */
async function emfLines(event: UpdateEvent): Promise<Array<Record<string, unknown>>> {
  const { output } = await captureOutput(() => handlers.update(event, context));
  return output
    .split('\n')
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** An EMF document for one metric, as CloudWatch reads it. */
function emf(metric: string, dimensions: Record<string, string>): Record<string, unknown> {
  return {
    _aws: {
      Timestamp: expect.any(Number),
      CloudWatchMetrics: [
        { Namespace: METRICS_NAMESPACE, Dimensions: [['service', ...Object.keys(dimensions)]], Metrics: [{ Name: metric, Unit: 'Count' }] },
      ],
    },
    service: 'media-probe',
    ...dimensions,
    [metric]: 1,
  };
}

it('counts a recorded success under status SUCCEEDED', async () => {
  dynamoMock.on(UpdateItemCommand).resolves({});
  expect(await emfLines(succeeded)).toEqual([emf('Analyses', { status: 'SUCCEEDED' })]);
});

it('counts a recorded failure under status FAILED, and once more by the step and the error type', async () => {
  dynamoMock.on(UpdateItemCommand).resolves({});
  expect(await emfLines(failed)).toEqual([
    emf('Analyses', { status: 'FAILED' }),
    emf('FailedAnalyses', { step: 'ffprobe', error_type: 'NotMediaError' }),
  ]);
});

it('counts nothing for a result it leaves alone (a stale or duplicate analysis)', async () => {
  dynamoMock
    .on(UpdateItemCommand)
    .rejects(new ConditionalCheckFailedException({ $metadata: {}, message: 'The conditional request failed' }));
  expect(await emfLines(failed)).toEqual([]);
});

it('counts nothing when the write fails (the state machine retries it)', async () => {
  dynamoMock
    .on(UpdateItemCommand)
    .rejects(Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException', $metadata: { httpStatusCode: 400 } }));
  expect(await emfLines(failed)).toEqual([]);
});
