/** The ffprobe step with a fake ffprobe and a real local HTTP server standing in for the presigned PUT: where the JSON is kept, how the upload fails. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AccessDeniedError, TransientError } from '../../functions/lib/errors';
import { type FfprobeSettings, probeAsset, storeOutput } from '../../functions/lib/ffprobe';
import type { OutputUpload } from '../../functions/lib/presign';
import mp4 from './fixtures/mp4-h264-aac.json';
import { FakeFfprobeDir } from './helpers/fake-ffprobe';

const presignedUrl = (signature: string) =>
  `https://example-media-bucket.s3.us-east-1.amazonaws.com/movies/42/feature.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=UNITTESTKEYID%2F20250115%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20250115T100000Z&X-Amz-Expires=300&X-Amz-Security-Token=unit-test-session-token&X-Amz-Signature=${signature}&X-Amz-SignedHeaders=host&x-id=GetObject`;
const LOCATION = 's3://media-probe-results/ffprobe-output/42/abc.json';

/** The requests the upload server received, and the status it answers with next. */
const received: Array<{ method?: string; url?: string; contentType?: string; body: string }> = [];
let answer = 200;
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    received.push({
      method: req.method,
      url: req.url,
      contentType: req.headers['content-type'],
      body: Buffer.concat(chunks).toString('utf8'),
    });
    res.writeHead(answer).end();
  });
});
let upload: OutputUpload;

let fake: FakeFfprobeDir;
let settings: FfprobeSettings;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  upload = { output_location: LOCATION, output_upload_url: `http://127.0.0.1:${port}/ffprobe-output/42/abc.json?X-Amz-Signature=put` };
  fake = new FakeFfprobeDir();
  const script = fake.reportingUrl('ffprobe', mp4);
  settings = {
    ffprobePath: script,
    timeoutMs: 5000,
    maxOutputBytes: 1024 * 1024,
    inlineLimitBytes: 100 * 1024,
    uploadTimeoutMs: 2000,
    caFile: '/etc/ssl/certs/ca-certificates.crt',
    memoryBudgetMiB: 768,
  };
});
afterAll(async () => {
  fake.remove();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  received.length = 0;
  answer = 200;
});

describe('storeOutput', () => {
  const json = JSON.stringify({ streams: [{ codec_type: 'audio' }], format: { format_name: 'mp3' } });

  it('keeps output up to the inline limit on the item, uploading nothing', async () => {
    const limit = Buffer.byteLength(json);
    expect(await storeOutput(json, upload, { ...settings, inlineLimitBytes: limit })).toEqual({ ffprobe_output: json });
    expect(received).toHaveLength(0);
  });

  it('PUTs larger output to the presigned URL, as JSON, and returns the location the presign step named', async () => {
    const stored = await storeOutput(json, upload, { ...settings, inlineLimitBytes: Buffer.byteLength(json) - 1 });
    expect(stored).toEqual({ ffprobe_output_location: LOCATION });
    expect(received).toEqual([
      { method: 'PUT', url: '/ffprobe-output/42/abc.json?X-Amz-Signature=put', contentType: 'application/json', body: json },
    ]);
  });

  it('counts the limit in UTF-8 bytes', async () => {
    const wide = JSON.stringify({ streams: [], format: { tags: { title: 'é'.repeat(60) } } });
    const stored = await storeOutput(wide, upload, { ...settings, inlineLimitBytes: wide.length });
    expect(stored).toHaveProperty('ffprobe_output_location');
  });

  it.each([500, 503, 429])('an upload answered %i → TransientError', async (status) => {
    answer = status;
    const failure = storeOutput(json, upload, { ...settings, inlineLimitBytes: 0 });
    await expect(failure).rejects.toBeInstanceOf(TransientError);
    await expect(failure).rejects.toThrow(`storing the ffprobe output failed: HTTP ${status}`);
  });

  it('an upload refused with 403 → AccessDeniedError, not retried', async () => {
    answer = 403;
    await expect(storeOutput(json, upload, { ...settings, inlineLimitBytes: 0 })).rejects.toBeInstanceOf(AccessDeniedError);
  });

  it('a refused connection → TransientError, and the message never carries the URL', async () => {
    const nowhere = { ...upload, output_upload_url: 'http://127.0.0.1:1/ffprobe-output/42/abc.json?X-Amz-Signature=secret' };
    const error = await storeOutput(json, nowhere, { ...settings, inlineLimitBytes: 0 }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).not.toContain('X-Amz-Signature');
    expect((error as Error).message).not.toContain('127.0.0.1');
  });
});

describe('probeAsset', () => {
  it('probes the URL and returns the summary with the output kept inline', async () => {
    const outcome = await probeAsset(presignedUrl('a'.repeat(64)), upload, settings);
    expect(outcome.media.video).toEqual([
      { codec: 'h264', width: 1920, height: 1080, frame_rate: 29.97, pix_fmt: 'yuv420p', profile: 'High' },
    ]);
    expect('ffprobe_output' in outcome.stored && JSON.parse(outcome.stored.ffprobe_output).streams).toHaveLength(2);
    expect(received).toHaveLength(0);
  });

  it('never stores the presigned URL ffprobe reports as format.filename', async () => {
    const signature = 'b'.repeat(64);
    const outcome = await probeAsset(presignedUrl(signature), upload, settings);
    const stored = JSON.stringify(outcome.stored);
    expect(stored).not.toContain(signature);
    expect(stored).not.toMatch(/X-Amz-(Signature|Security-Token|Credential)/);
  });

  it('never uploads the presigned media URL either', async () => {
    const signature = 'c'.repeat(64);
    await probeAsset(presignedUrl(signature), upload, { ...settings, inlineLimitBytes: 0 });
    expect(received).toHaveLength(1);
    expect(received[0].body).not.toContain(signature);
  });

  it('refuses a summary too large for a row with ProbeOutputTooLargeError, saying how large', async () => {
    const many = {
      ...mp4,
      streams: Array.from({ length: 5_000 }, (_, index) => ({
        index,
        codec_type: 'subtitle',
        codec_name: 'subrip',
        tags: { language: `l${index}` },
      })),
    };
    const script = fake.reportingUrl('many-streams', many);
    await expect(probeAsset(presignedUrl('e'.repeat(64)), upload, { ...settings, ffprobePath: script })).rejects.toMatchObject({
      name: 'ProbeOutputTooLargeError',
      message: expect.stringMatching(/^the media summary of 5000 streams is \d+ KiB, more than the 64 KiB a row keeps for it$/),
    });
  });
});
