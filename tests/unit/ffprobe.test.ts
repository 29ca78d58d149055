/** The ffprobe step with a fake ffprobe and a mocked S3: where the JSON is kept, how the results-bucket write fails. */
import { createHash } from 'node:crypto';
import { PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { TransientError } from '../../functions/lib/errors';
import { type FfprobeSettings, outputKey, probeAsset, storeOutput } from '../../functions/lib/ffprobe';
import mp4 from './fixtures/mp4-h264-aac.json';
import { FakeFfprobeDir } from './helpers/fake-ffprobe';

const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'UNITTESTKEYID', secretAccessKey: 'unit-test-secret' } });
const s3Mock = mockClient(s3);
const RESULTS = 'media-probe-results';
const presignedUrl = (signature: string) =>
  `https://example-media-bucket.s3.us-east-1.amazonaws.com/movies/42/feature.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=UNITTESTKEYID%2F20250115%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20250115T100000Z&X-Amz-Expires=300&X-Amz-Security-Token=unit-test-session-token&X-Amz-Signature=${signature}&X-Amz-SignedHeaders=host&x-id=GetObject`;

let fake: FakeFfprobeDir;
let settings: FfprobeSettings;

beforeAll(() => {
  fake = new FakeFfprobeDir();
  const script = fake.reportingUrl('ffprobe', mp4);
  settings = {
    ffprobePath: script,
    timeoutMs: 5000,
    maxOutputBytes: 1024 * 1024,
    inlineLimitBytes: 100 * 1024,
    resultsBucket: RESULTS,
    caFile: '/etc/ssl/certs/ca-certificates.crt',
    memoryBudgetMiB: 768,
  };
});
afterAll(() => fake.remove());
beforeEach(() => s3Mock.reset());

describe('storeOutput', () => {
  const json = JSON.stringify({ streams: [{ codec_type: 'audio' }], format: { format_name: 'mp3' } });

  it('keeps output up to the inline limit on the item, writing nothing to S3', async () => {
    const limit = Buffer.byteLength(json);
    expect(await storeOutput(s3, '42', json, { ...settings, inlineLimitBytes: limit })).toEqual({ ffprobe_output: json });
    expect(s3Mock.calls()).toHaveLength(0);
  });

  it('writes larger output to the results bucket under a content-addressed key and returns its s3:// location', async () => {
    s3Mock.on(PutObjectCommand).resolves({});
    const stored = await storeOutput(s3, '42', json, { ...settings, inlineLimitBytes: Buffer.byteLength(json) - 1 });
    const key = `ffprobe-output/42/${createHash('sha256').update(json).digest('hex')}.json`;
    expect(stored).toEqual({ ffprobe_output_location: `s3://${RESULTS}/${key}` });
    const [call] = s3Mock.commandCalls(PutObjectCommand);
    expect(call.args[0].input).toEqual({ Bucket: RESULTS, Key: key, Body: json, ContentType: 'application/json' });
  });

  it('counts the limit in UTF-8 bytes', async () => {
    s3Mock.on(PutObjectCommand).resolves({});
    const wide = JSON.stringify({ streams: [], format: { tags: { title: 'é'.repeat(60) } } });
    const stored = await storeOutput(s3, '42', wide, { ...settings, inlineLimitBytes: wide.length });
    expect(stored).toHaveProperty('ffprobe_output_location');
  });

  it('says so when output is over the limit and there is no results bucket', async () => {
    await expect(storeOutput(s3, '42', json, { ...settings, inlineLimitBytes: 10, resultsBucket: undefined })).rejects.toThrow(
      `ffprobe's output is ${Buffer.byteLength(json)} bytes, over the inline limit, and no RESULTS_BUCKET is configured`,
    );
  });

  it('a PutObject 503 → TransientError', async () => {
    s3Mock.on(PutObjectCommand).rejects(
      new S3ServiceException({
        name: 'SlowDown',
        $fault: 'server',
        $metadata: { httpStatusCode: 503 },
        message: 'Please reduce your request rate.',
      }),
    );
    const failure = storeOutput(s3, '42', json, { ...settings, inlineLimitBytes: 0 });
    await expect(failure).rejects.toBeInstanceOf(TransientError);
    await expect(failure).rejects.toThrow('storing the ffprobe output: SlowDown (Please reduce your request rate.)');
  });

  it('a PutObject AccessDenied passes through unchanged', async () => {
    const denied = new S3ServiceException({
      name: 'AccessDenied',
      $fault: 'client',
      $metadata: { httpStatusCode: 403 },
      message: 'Access Denied',
    });
    s3Mock.on(PutObjectCommand).rejects(denied);
    await expect(storeOutput(s3, '42', json, { ...settings, inlineLimitBytes: 0 })).rejects.toBe(denied);
  });
});

describe('outputKey', () => {
  it('is the same for the same output and differs for different output', () => {
    expect(outputKey('42', '{"a":1}')).toBe(outputKey('42', '{"a":1}'));
    expect(outputKey('42', '{"a":1}')).not.toBe(outputKey('42', '{"a":2}'));
    expect(outputKey('43', '{"a":1}')).toMatch(/^ffprobe-output\/43\/[0-9a-f]{64}\.json$/);
  });
});

describe('probeAsset', () => {
  it('probes the URL and returns the summary with the output kept inline', async () => {
    const outcome = await probeAsset(s3, '42', presignedUrl('a'.repeat(64)), settings);
    expect(outcome.media.video).toEqual([
      { codec: 'h264', width: 1920, height: 1080, frame_rate: 29.97, pix_fmt: 'yuv420p', profile: 'High' },
    ]);
    expect('ffprobe_output' in outcome.stored && JSON.parse(outcome.stored.ffprobe_output).streams).toHaveLength(2);
    expect(s3Mock.calls()).toHaveLength(0);
  });

  it('never stores the presigned URL ffprobe reports as format.filename', async () => {
    const signature = 'b'.repeat(64);
    const outcome = await probeAsset(s3, '42', presignedUrl(signature), settings);
    const stored = JSON.stringify(outcome.stored);
    expect(stored).not.toContain(signature);
    expect(stored).not.toMatch(/X-Amz-(Signature|Security-Token|Credential)/);
  });

  it('writes the same results-bucket object for every probe of the same media (retries get a fresh URL)', async () => {
    s3Mock.on(PutObjectCommand).resolves({});
    const large = { ...settings, inlineLimitBytes: 0 };
    const first = await probeAsset(s3, '42', presignedUrl('c'.repeat(64)), large);
    const retry = await probeAsset(s3, '42', presignedUrl('d'.repeat(64)), large);
    expect(first.stored).toHaveProperty('ffprobe_output_location');
    expect(retry.stored).toEqual(first.stored);
  });
});
