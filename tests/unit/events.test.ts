/**
 * The sample events in events/: each function's sample is exactly what the state machine sends it
 * and produces the documented output; the pipe's stream-record samples are valid rows.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { FfprobeEvent } from '../../functions/ffprobe/index';
import { summariseMedia } from '../../functions/lib/media-summary';
import { assetFromRecord } from '../../functions/lib/row';
import { type PipeRecord, projectStreamRecord } from '../../functions/lib/stream-record';
import type { PresignEvent } from '../../functions/presign/index';
import type { UpdateEvent } from '../../functions/update/index';
import { outcomeEventErrors } from '../support/outcome-schema';
import { FakeFfprobeDir } from './helpers/fake-ffprobe';
import { type Handlers, loadHandlers, PRESIGN_EXPIRY_SECONDS, RESULTS_BUCKET, TABLE_NAME } from './helpers/handlers';
import { captureOutput, lambdaContext } from './helpers/lambda';

const EVENTS = join(__dirname, '../../events');
// The samples are plain JSON; each test reads only the fields it checks.
type Json = Record<string, any>;
const sample = <T = Json>(name: string): T => JSON.parse(readFileSync(join(EVENTS, `${name}.json`), 'utf8')) as T;
const definition = JSON.parse(readFileSync(join(__dirname, '../../statemachine/media-probe.asl.json'), 'utf8'));
/** The payload fields the state machine sends a task, from the ASL itself. */
const payloadKeys = (state: string): string[] =>
  Object.keys(definition.States['analyse each row'].ItemProcessor.States[state].Parameters.Payload)
    .map((key) => key.replace(/\.\$$/, ''))
    .sort();

const s3Mock = mockClient(S3Client);
const dynamoMock = mockClient(DynamoDBClient);
const fake = new FakeFfprobeDir();
const context = lambdaContext('media-probe-sample');
let handlers: Handlers;

beforeAll(() => {
  // The fake ffprobe prints the document whose compact form update-success.json carries, so the samples chain.
  const stored = JSON.parse(sample('update-success').result.stored.ffprobe_output);
  handlers = loadHandlers(fake.printing('ffprobe', JSON.stringify(stored)));
});
afterAll(() => fake.remove());
beforeEach(() => {
  s3Mock.reset();
  dynamoMock.reset();
});

describe('events/presign.json', () => {
  it("is the Presign task payload: the stream record as the pipe's input template projects it, the retry count and the entry time", () => {
    expect(Object.keys(sample('presign')).sort()).toEqual(payloadKeys('presign'));
    expect(sample('presign').record).toEqual(projectStreamRecord(sample('stream-insert')));
  });

  it('gives the asset, a presigned URL and the step report', async () => {
    s3Mock.on(HeadObjectCommand).resolves({
      ContentLength: 8913221,
      ETag: '"9b2cf535f27731c974343645a3985328"',
      LastModified: new Date('2025-01-01T11:59:00.000Z'),
      ContentType: 'video/webm',
    });
    const { result, output } = await captureOutput(() => handlers.presign(sample<PresignEvent>('presign'), context));
    expect(result).toEqual({
      record: projectStreamRecord(sample('stream-insert')),
      execution: sample('presign').execution,
      asset: sample('ffprobe').asset,
      url: expect.stringMatching(
        /^https:\/\/my-movies-bucket\.s3\.us-east-1\.amazonaws\.com\/trailers\/Agent_327-Operation_Barbershop-Trailer\.webm\?/,
      ),
      expires_at: expect.any(String),
      size_bytes: 8913221,
      // What HeadObject said of the object, nothing more: no version id or checksum here.
      object: sample('update-success').object,
      if_match: sample('update-success').object.etag,
      output_location: sample('ffprobe').output_location.replace('media-probe-results-bucket', RESULTS_BUCKET),
      output_upload_url: expect.stringMatching(
        new RegExp(`^https://${RESULTS_BUCKET}\\.s3\\.us-east-1\\.amazonaws\\.com/ffprobe-output/1337/`),
      ),
      step: { status: 'SUCCEEDED', attempts: 1, duration_ms: expect.any(Number), finished_at: expect.any(String) },
    });
    expect(new URL(result!.url).searchParams.get('X-Amz-Expires')).toBe(String(PRESIGN_EXPIRY_SECONDS));
    expect(new URL(result!.output_upload_url).searchParams.get('X-Amz-Expires')).toBe(String(PRESIGN_EXPIRY_SECONDS));
    expect(output).not.toContain('X-Amz-Signature');
  });
});

describe('events/ffprobe.json', () => {
  it("is the Probe task payload: the presign step's asset, URLs and output location, the retry count and the entry time", () => {
    const event = sample('ffprobe');
    expect(Object.keys(event).sort()).toEqual(payloadKeys('ffprobe'));
    expect(event.asset).toEqual(assetFromRecord(sample('stream-insert')));
    expect(new URL(event.url).searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(new URL(event.output_upload_url).searchParams.get('x-id')).toBe('PutObject');
  });

  it('gives the result update-success.json records, and the step report', async () => {
    const { result, output } = await captureOutput(() => handlers.probe(sample<FfprobeEvent>('ffprobe'), context));
    expect(result).toEqual({
      result: sample('update-success').result,
      step: { status: 'SUCCEEDED', attempts: 1, duration_ms: expect.any(Number), finished_at: expect.any(String) },
    });
    expect(output).not.toContain('X-Amz-');
  });
});

describe('events/update-success.json', () => {
  it('is the update payload', () => {
    const event = sample('update-success');
    expect(Object.keys(event).sort()).toEqual(payloadKeys('update'));
    expect(event.status).toBe('SUCCEEDED');
    expect(event.record).toEqual(projectStreamRecord(sample('stream-insert')));
    expect(Object.keys(event.steps).sort()).toEqual(['ffprobe', 'presign']);
    expect(event.result.media).toEqual(summariseMedia(JSON.parse(event.result.stored.ffprobe_output)));
  });

  it('records the success on the row', async () => {
    dynamoMock.on(UpdateItemCommand).resolves({});
    const { result } = await captureOutput(() => handlers.update(sample<UpdateEvent>('update-success'), context));
    // The event the state machine publishes is events/outcome-succeeded.json's, but for when it finished.
    const published = sample('outcome-succeeded');
    expect(result).toStrictEqual({
      movie_id: '1337',
      status: 'SUCCEEDED',
      applied: true,
      event: { detail_type: published['detail-type'], detail: { ...published.detail, finished_at: expect.any(String) } },
    });
    const input = dynamoMock.commandCalls(UpdateItemCommand)[0].args[0].input;
    expect(input.TableName).toBe(TABLE_NAME);
    expect(input.Key).toEqual({ movie_id: { N: '1337' } });
    const written = unmarshall(input.ExpressionAttributeValues!);
    expect(written[':media']).toEqual(sample('update-success').result.media);
    expect(written[':analysis']).toMatchObject({
      status: 'SUCCEEDED',
      started_at: '2025-01-01T12:00:00.512Z',
      steps: { presign: { attempts: 1 }, ffprobe: { attempts: 1 } },
    });
  });
});

describe('events/update-failure.json', () => {
  it('is the update with failure payload for an ffprobe failure', () => {
    const event = sample('update-failure');
    expect(Object.keys(event).sort()).toEqual(payloadKeys('update with failure'));
    expect(event.record).toEqual(projectStreamRecord(sample('stream-insert')));
    expect(event.status).toBe('FAILED');
    expect(event.failure).toMatchObject({
      step: 'ffprobe',
      error: { Error: 'NotMediaError' },
      started_at: event.steps.presign.finished_at,
    });
    expect(JSON.parse(event.failure.error.Cause).errorType).toBe('NotMediaError');
  });

  it('records the failure on the row, without the stack trace', async () => {
    dynamoMock.on(UpdateItemCommand).resolves({});
    const { result } = await captureOutput(() => handlers.update(sample<UpdateEvent>('update-failure'), context));
    const published = sample('outcome-failed');
    expect(result).toStrictEqual({
      movie_id: '1337',
      status: 'FAILED',
      applied: true,
      error: {
        step: 'ffprobe',
        type: 'NotMediaError',
        message: 'ffprobe could not read the object as media: Invalid data found when processing input (exit code 1)',
      },
      event: { detail_type: published['detail-type'], detail: { ...published.detail, finished_at: expect.any(String) } },
    });
    const analysis = unmarshall(dynamoMock.commandCalls(UpdateItemCommand)[0].args[0].input.ExpressionAttributeValues!)[':analysis'];
    expect(analysis.steps).toEqual({
      presign: { status: 'SUCCEEDED', attempts: 1, duration_ms: 212 },
      ffprobe: {
        status: 'FAILED',
        attempts: 1,
        duration_ms: 657,
        error: 'NotMediaError: ffprobe could not read the object as media: Invalid data found when processing input (exit code 1)',
      },
      update: { status: 'SKIPPED', attempts: 0, duration_ms: 0 },
    });
    expect(JSON.stringify(analysis)).not.toContain('/var/task');
  });
});

describe('outcome events (events/outcome-event.schema.json)', () => {
  it.each(['outcome-succeeded', 'outcome-failed'])('events/%s.json is valid against the schema', (name) => {
    expect(outcomeEventErrors(sample(name))).toEqual([]);
  });

  it.each([
    ['a success without its summary', 'outcome-succeeded', (e: Json) => delete e.detail.summary, /must have required property 'summary'/],
    [
      'a failure with a summary',
      'outcome-failed',
      (e: Json) => (e.detail.summary = { video_streams: 0, audio_streams: 0, subtitle_streams: 0 }),
      /boolean schema is false/,
    ],
    [
      'a detail-type of its own',
      'outcome-succeeded',
      (e: Json) => (e['detail-type'] = 'Media Analysed'),
      /must be equal to one of the allowed values/,
    ],
    ['an unknown field', 'outcome-failed', (e: Json) => (e.detail.url = 'https://example.com/'), /must NOT have additional properties/],
    ['a movie_id that is not a number', 'outcome-failed', (e: Json) => (e.detail.movie_id = 'abc'), /must match pattern/],
    [
      'an error of an unknown step',
      'outcome-failed',
      (e: Json) => (e.detail.error.step = 'transcode'),
      /must be equal to one of the allowed values/,
    ],
  ])('refuses %s', (_what, name, change, message) => {
    const event = sample(name);
    change(event);
    expect(outcomeEventErrors(event).join('\n')).toMatch(message);
  });
});

describe('stream-record samples', () => {
  it('events/stream-insert.json is a valid row', () => {
    expect(assetFromRecord(sample('stream-insert'))).toEqual({
      movieId: '1337',
      bucket: 'my-movies-bucket',
      key: 'trailers/Agent_327-Operation_Barbershop-Trailer.webm',
    });
  });

  it('events/pipe-batch.json is a batch of INSERT records as the pipe reads them, each a valid row once projected', () => {
    const batch = sample<Json[]>('pipe-batch');
    expect(Array.isArray(batch)).toBe(true);
    expect(batch.length).toBeGreaterThan(1);
    for (const record of batch) {
      expect(record.eventName).toBe('INSERT');
      const projected = projectStreamRecord(record as PipeRecord);
      expect(assetFromRecord(projected).movieId).toBe(record.dynamodb.Keys.movie_id.N);
    }
  });
});
