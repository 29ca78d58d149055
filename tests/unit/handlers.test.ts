/** The three handlers end to end with mocked SDK clients and a fake ffprobe: outputs, error names, and logs without credentials. */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConditionalCheckFailedException, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { HeadObjectCommand, NotFound, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { summariseMedia } from '../../functions/lib/media-summary';
import mp4 from './fixtures/mp4-h264-aac.json';
import { FakeFfprobeDir, URL_ARGUMENT } from './helpers/fake-ffprobe';
import { type Handlers, loadHandlers, PRESIGN_EXPIRY_SECONDS, RESULTS_BUCKET, TABLE_NAME } from './helpers/handlers';
import { captureOutput, lambdaContext } from './helpers/lambda';
import { insertRecord, rowImage } from './helpers/records';

const s3Mock = mockClient(S3Client);
const dynamoMock = mockClient(DynamoDBClient);
const fake = new FakeFfprobeDir();
const context = lambdaContext('media-probe-function');
const SIGNATURE = '5f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0';
/** A presigned GET at a local port nothing listens on: the faststart check's GET of this MP4 is refused at once, never sent anywhere. */
let URL_UNDER_TEST: string;
const presignedQuery = `?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=UNITTESTKEYID%2F20250115%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20250115T100000Z&X-Amz-Expires=120&X-Amz-Signature=${SIGNATURE}&X-Amz-SignedHeaders=host&x-id=GetObject`;
const asset = { movieId: '42', bucket: 'example-media-bucket', key: 'movies/42/feature.mp4' };

/** What the fake ffprobe does on the next run: a shell fragment sourced with ffprobe's arguments. */
const nextProbe = (body: string) => writeFileSync(fake.path('behaviour.sh'), `${body}\n`);
const reportUrl = fake.reportingUrl('reporting-ffprobe', mp4);

/** Stands in for S3 behind the presigned PUT of a large output: counts the uploads. */
const uploads: string[] = [];
const uploadServer = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    uploads.push(String(req.url));
    res.writeHead(200).end();
  });
});
/** The output upload the presign step hands the ffprobe step (the URL is a credential too). */
const outputUpload = { output_location: `s3://${RESULTS_BUCKET}/ffprobe-output/42/abc.json`, output_upload_url: '' };

let handlers: Handlers;
beforeAll(async () => {
  handlers = loadHandlers(fake.script('ffprobe', `. '${fake.path('behaviour.sh')}'`));
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  URL_UNDER_TEST = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/movies/42/feature.mp4${presignedQuery}`;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  await new Promise<void>((resolve) => uploadServer.listen(0, '127.0.0.1', resolve));
  outputUpload.output_upload_url = `http://127.0.0.1:${(uploadServer.address() as AddressInfo).port}/ffprobe-output/42/abc.json?X-Amz-Signature=${'0'.repeat(64)}`;
});
afterAll(async () => {
  fake.remove();
  await new Promise<void>((resolve) => uploadServer.close(() => resolve()));
});
beforeEach(() => {
  s3Mock.reset();
  dynamoMock.reset();
  uploads.length = 0;
  nextProbe(`. '${reportUrl}'`);
});

describe('presign handler', () => {
  it('returns the asset, a URL expiring after PRESIGN_EXPIRY_SECONDS, and its step report', async () => {
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 1234 });
    const { result } = await captureOutput(() =>
      handlers.presign({ record: insertRecord(), attempt: 1, entered_at: new Date(Date.now() - 50).toISOString() }, context),
    );
    if (!result) throw new Error('the presign handler failed');
    expect(result.asset).toEqual(asset);
    expect(new URL(result.url).searchParams.get('X-Amz-Expires')).toBe(String(PRESIGN_EXPIRY_SECONDS));
    expect(Date.parse(result.expires_at) - Date.now()).toBeGreaterThan((PRESIGN_EXPIRY_SECONDS - 5) * 1000);
    expect(result.size_bytes).toBe(1234);
    expect(result.step).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
    expect(result.step.duration_ms).toBeGreaterThanOrEqual(50);
    expect(Date.parse(result.step.finished_at)).not.toBeNaN();
  });

  it("presigns a PUT of the analysis' one output key in the results bucket, as long-lived as the media URL", async () => {
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 1234 });
    const execution = { id: 'arn:aws:states:us-east-1:123456789012:express:media-probe:run-1:abc', started_at: '2025-01-15T10:00:00Z' };
    const first = await handlers.presign({ record: insertRecord(), execution }, context);
    const again = await handlers.presign({ record: insertRecord(), execution, attempt: 1 }, context);
    const other = await handlers.presign({ record: insertRecord(), execution: { ...execution, id: `${execution.id}-2` } }, context);
    expect(first.output_location).toMatch(new RegExp(`^s3://${RESULTS_BUCKET}/ffprobe-output/42/[0-9a-f]{64}\\.json$`));
    // A retry of the step writes the same object; another execution's analysis writes its own.
    expect(again.output_location).toBe(first.output_location);
    expect(other.output_location).not.toBe(first.output_location);
    const put = new URL(first.output_upload_url);
    const key = first.output_location.replace(`s3://${RESULTS_BUCKET}/`, '');
    expect(`${put.hostname}${put.pathname}`).toMatch(new RegExp(`^${RESULTS_BUCKET}\\.s3\\.us-east-1\\.amazonaws\\.com/${key}$`));
    expect(put.searchParams.get('x-id')).toBe('PutObject');
    expect(put.searchParams.get('X-Amz-Expires')).toBe(String(PRESIGN_EXPIRY_SECONDS));
  });

  it('never logs the presigned URL', async () => {
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 1234 });
    const { result, output } = await captureOutput(() => handlers.presign({ record: insertRecord() }, context));
    expect(output).toContain('presigned media URL');
    const signature = new URL(result!.url).searchParams.get('X-Amz-Signature')!;
    expect(output).not.toContain(signature);
    expect(output).not.toContain('X-Amz-Signature');
    expect(output).not.toContain(result!.url);
    expect(output).not.toContain(new URL(result!.output_upload_url).searchParams.get('X-Amz-Signature')!);
  });

  it('fails with InvalidRowError for a row without S3_object, before calling S3', async () => {
    await expect(handlers.presign({ record: insertRecord(rowImage({}, ['S3_object'])) }, context)).rejects.toMatchObject({
      name: 'InvalidRowError',
      message: 'the row has no S3_object attribute',
    });
    expect(s3Mock.calls()).toHaveLength(0);
  });

  it("reads an S3_object the pipe's input template filled with an empty string as missing", async () => {
    const delivered = insertRecord({ ...rowImage(), S3_object: '' as unknown as { S: string } });
    await expect(handlers.presign({ record: delivered }, context)).rejects.toMatchObject({
      name: 'InvalidRowError',
      message: 'the row has no S3_object attribute',
    });
  });

  it('hands on only the projection of a whole record, however large the row', async () => {
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 1 });
    const { result } = await captureOutput(() =>
      handlers.presign({ record: insertRecord(rowImage({ notes: { S: 'x'.repeat(300_000) } })) }, context),
    );
    expect(Object.keys(result?.record.dynamodb?.NewImage ?? {}).sort()).toEqual(['S3_bucket', 'S3_object']);
  });

  it('fails with ObjectNotFoundError when HeadObject finds nothing', async () => {
    s3Mock.on(HeadObjectCommand).rejects(new NotFound({ $metadata: { httpStatusCode: 404 }, message: 'UnknownError' }));
    await expect(handlers.presign({ record: insertRecord() }, context)).rejects.toMatchObject({ name: 'ObjectNotFoundError' });
  });
});

describe('ffprobe handler', () => {
  it('logs what confine enforces with every probe: the memory budget and the Landlock ABI it found', async () => {
    const { output } = await captureOutput(() => handlers.probe({ asset, url: URL_UNDER_TEST, ...outputUpload }, context));
    const line = JSON.parse(output.split('\n').find((l) => l.includes('probed media')) ?? '{}');
    expect(line.confinement).toEqual({ memory_budget_mib: 768, landlock_abi: '0', landlock_error: 'stand-in' });
  });

  it('logs what the faststart check of an MP4 cost, and why it failed, without the URL', async () => {
    const { output } = await captureOutput(() => handlers.probe({ asset, url: URL_UNDER_TEST, ...outputUpload }, context));
    const line = JSON.parse(output.split('\n').find((l) => l.includes('probed media')) ?? '{}');
    expect(line.faststart_check).toEqual({ requests: 1, bytes: 0, failure: 'TransientError (ECONNREFUSED)' });
    // The relay's account of the object: nothing came from the refused address, nothing was served.
    expect(line.reads).toEqual({ requests: expect.any(Number), connections: expect.any(Number), bytes: 0, servedBytes: 0 });
    expect(line.reads.requests).toBeGreaterThanOrEqual(1);
  });

  it('returns the summary, the stored output and its step report', async () => {
    const { result } = await captureOutput(() => handlers.probe({ asset, url: URL_UNDER_TEST, ...outputUpload, attempt: 0 }, context));
    if (!result) throw new Error('the ffprobe handler failed');
    expect(result.result.media).toMatchObject({ format_name: 'mov,mp4,m4a,3gp,3g2,mj2', duration_s: 12.5125 });
    expect(Object.keys(result.result.stored)).toEqual(['ffprobe_output']);
    expect(result.step).toMatchObject({ status: 'SUCCEEDED', attempts: 1, duration_ms: 0 });
    expect(uploads).toHaveLength(0);
  });

  it('never logs the presigned URL', async () => {
    const { output, error } = await captureOutput(() => handlers.probe({ asset, url: URL_UNDER_TEST, ...outputUpload }, context));
    expect(error).toBeUndefined();
    expect(output).toContain('probed media');
    expect(output).not.toContain(SIGNATURE);
    expect(output).not.toContain('X-Amz-');
  });

  it('never logs or throws the presigned URL when ffprobe fails', async () => {
    nextProbe(`eval "url=\\\${$#}"\necho "$url: Invalid data found when processing input" >&2\nexit 1`);
    const { output, error } = await captureOutput(() => handlers.probe({ asset, url: URL_UNDER_TEST, ...outputUpload }, context));
    expect(error).toMatchObject({ name: 'NotMediaError' });
    expect(`${output}\n${(error as Error).message}\n${(error as Error).stack}`).not.toContain('X-Amz-');
  });

  it.each([
    ['a 404', 'Server returned 404 Not Found', 'ObjectNotFoundError'],
    ['a 403', 'Server returned 403 Forbidden (access denied)', 'AccessDeniedError'],
    ['a reset connection', 'Connection reset by peer', 'TransientError'],
  ])('names %s while probing', async (_label, reason, name) => {
    nextProbe(`${URL_ARGUMENT}\necho "$url: ${reason}" >&2\nexit 1`);
    await expect(handlers.probe({ asset, url: URL_UNDER_TEST, ...outputUpload }, context)).rejects.toMatchObject({ name });
  });

  it("puts output over the inline limit where the presign step's URL says, and points at it", async () => {
    const streams = Array.from({ length: 600 }, (_, index) => ({
      ...mp4.streams[1],
      index,
      tags: { language: 'eng', title: `Track ${index}` },
    }));
    nextProbe(`/bin/cat '${fake.path('many-streams.json')}'`);
    writeFileSync(fake.path('many-streams.json'), JSON.stringify({ streams, format: mp4.format }));
    const { result } = await captureOutput(() => handlers.probe({ asset, url: URL_UNDER_TEST, ...outputUpload }, context));
    if (!result) throw new Error('the ffprobe handler failed');
    expect(result.result.stored).toEqual({ ffprobe_output_location: outputUpload.output_location });
    expect(uploads).toEqual([new URL(outputUpload.output_upload_url).pathname + new URL(outputUpload.output_upload_url).search]);
    expect(result.result.media.audio).toHaveLength(32);
    expect(result.result.media.audio_omitted).toBe(568);
  });
});

describe('ffprobe handler with POWERTOOLS_LOGGER_LOG_EVENT=true', () => {
  it('still never logs the presigned URL in its event', async () => {
    let isolated: Handlers | undefined;
    jest.isolateModules(() => {
      isolated = loadHandlers(fake.path('ffprobe'), { POWERTOOLS_LOGGER_LOG_EVENT: 'true' });
    });
    delete process.env.POWERTOOLS_LOGGER_LOG_EVENT;
    const { output, error } = await captureOutput(() => isolated!.probe({ asset, url: URL_UNDER_TEST, ...outputUpload }, context));
    expect(error).toBeUndefined();
    expect(output).not.toContain(SIGNATURE);
    expect(output).not.toContain(new URL(outputUpload.output_upload_url).searchParams.get('X-Amz-Signature')!);
  });
});

describe('update handler', () => {
  const execution = {
    id: 'arn:aws:states:us-east-1:123456789012:express:media-probe:run-1:item-0',
    started_at: '2025-01-15T10:00:00.000Z',
  };
  const failure = {
    status: 'FAILED' as const,
    record: insertRecord(),
    execution,
    steps: {},
    failure: {
      step: 'presign' as const,
      error: {
        Error: 'AccessDeniedError',
        Cause: '{"errorType":"AccessDeniedError","errorMessage":"the pipeline may not read the object"}',
      },
    },
    attempt: 2,
  };

  it('records the outcome on the configured table', async () => {
    dynamoMock.on(UpdateItemCommand).resolves({});
    const { result, output } = await captureOutput(() => handlers.update(failure, context));
    expect(result).toStrictEqual({
      movie_id: '42',
      status: 'FAILED',
      applied: true,
      error: { step: 'presign', type: 'AccessDeniedError', message: 'the pipeline may not read the object' },
      event: {
        detail_type: 'Media Analysis Failed',
        detail: expect.objectContaining({
          movie_id: 42,
          status: 'FAILED',
          error: { step: 'presign', type: 'AccessDeniedError', message: 'the pipeline may not read the object' },
        }),
      },
    });
    expect(dynamoMock.commandCalls(UpdateItemCommand)[0].args[0].input.TableName).toBe(TABLE_NAME);
    expect(output).toContain('recorded analysis');
  });

  it('reports a refused write as applied: false and warns with the reason', async () => {
    dynamoMock
      .on(UpdateItemCommand)
      .rejects(new ConditionalCheckFailedException({ $metadata: { httpStatusCode: 400 }, message: 'The conditional request failed' }));
    const { result, output } = await captureOutput(() => handlers.update(failure, context));
    expect(result).toMatchObject({ applied: false, reason: 'the row was deleted before the result could be recorded' });
    expect(output).toMatch(/"level":"WARN".*left the row alone|left the row alone.*"level":"WARN"/);
  });

  it("records a failed presign of a row whose S3_object the pipe's input template filled with an empty string", async () => {
    dynamoMock.on(UpdateItemCommand).resolves({});
    const record = insertRecord({ ...rowImage(), S3_object: '' as unknown as { S: string } });
    const { result } = await captureOutput(() => handlers.update({ ...failure, record }, context));
    expect(result).toMatchObject({ applied: true });
    const input = dynamoMock.commandCalls(UpdateItemCommand)[0].args[0].input;
    // The write requires the attribute absent, as the row was when the pipe read it.
    const objectName = Object.entries(input.ExpressionAttributeNames ?? {}).find(([, name]) => name === 'S3_object')?.[0];
    expect(input.ConditionExpression).toContain(`attribute_not_exists(${objectName})`);
    expect(Object.values(input.ExpressionAttributeValues ?? {})).not.toContainEqual('');
  });

  it('records the update step with the attempts Step Functions counted', async () => {
    dynamoMock.on(UpdateItemCommand).resolves({});
    const success = {
      status: 'SUCCEEDED' as const,
      record: insertRecord(),
      execution,
      steps: {},
      result: { stored: { ffprobe_output: '{}' }, media: summariseMedia({}) },
      attempt: 2,
      entered_at: new Date(Date.now() - 30).toISOString(),
    };
    await captureOutput(() => handlers.update(success, context));
    const analysis = dynamoMock.commandCalls(UpdateItemCommand)[0].args[0].input.ExpressionAttributeValues![':analysis'].M!;
    expect(analysis.steps.M!.update.M!.status).toEqual({ S: 'SUCCEEDED' });
    expect(analysis.steps.M!.update.M!.attempts).toEqual({ N: '3' });
    expect(Number(analysis.steps.M!.update.M!.duration_ms.N)).toBeGreaterThanOrEqual(30);
  });
});
