/**
 * The ffprobe step with a fake ffprobe and a real local HTTP server standing in for S3: the
 * presigned GET the faststart check reads through, and the presigned PUT of a large output. Where
 * the JSON is kept, how the upload fails, what the faststart check costs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { AccessDeniedError, TransientError } from '../../functions/lib/errors';
import { type FfprobeSettings, probeAsset, storeOutput } from '../../functions/lib/ffprobe';
import { FIRST_WINDOW_BYTES } from '../../functions/lib/object-relay';
import type { OutputUpload } from '../../functions/lib/presign';
import mp4 from './fixtures/mp4-h264-aac.json';
import { FakeFfprobeDir } from './helpers/fake-ffprobe';

let port: number;
/** A presigned GET of the media object, at the local server (the faststart check reads it for an MP4). */
const presignedUrl = (signature: string) =>
  `http://127.0.0.1:${port}/movies/42/feature.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=UNITTESTKEYID%2F20250115%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20250115T100000Z&X-Amz-Expires=300&X-Amz-Security-Token=unit-test-session-token&X-Amz-Signature=${signature}&X-Amz-SignedHeaders=host&x-id=GetObject`;
const LOCATION = 's3://media-probe-results/ffprobe-output/42/abc.json';

/** The sample MP4 (ftyp, moov, free, mdat), and the same boxes with the moov moved to the end, as ffmpeg writes without +faststart. */
const MOOV_FIRST = readFileSync(path.join(__dirname, '../../samples/trailer.mp4'));
const MOOV_LAST = (() => {
  const ftyp = MOOV_FIRST.subarray(0, MOOV_FIRST.readUInt32BE(0));
  const moov = MOOV_FIRST.subarray(ftyp.length, ftyp.length + MOOV_FIRST.readUInt32BE(ftyp.length));
  return Buffer.concat([ftyp, MOOV_FIRST.subarray(ftyp.length + moov.length), moov]);
})();

/** The requests the server received, and how it answers: the media object for ranged GETs, `answer` for everything else. */
const received: Array<{ method?: string; url?: string; range?: string; contentType?: string; body: string }> = [];
let answer = 200;
let media = MOOV_FIRST;
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    received.push({
      method: req.method,
      url: req.url,
      range: req.headers.range,
      contentType: req.headers['content-type'],
      body: Buffer.concat(chunks).toString('utf8'),
    });
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (req.method === 'GET' && range && answer === 200) {
      const body = media.subarray(Number(range[1]), Number(range[2]) + 1);
      res.writeHead(206, { 'content-range': `bytes ${range[1]}-${Number(range[1]) + body.length - 1}/${media.length}` }).end(body);
      return;
    }
    res.writeHead(answer).end();
  });
});
const gets = () => received.filter((r) => r.method === 'GET');
const puts = () => received.filter((r) => r.method === 'PUT');
let upload: OutputUpload;

let fake: FakeFfprobeDir;
let settings: FfprobeSettings;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  upload = { output_location: LOCATION, output_upload_url: `http://127.0.0.1:${port}/ffprobe-output/42/abc.json?X-Amz-Signature=put` };
  fake = new FakeFfprobeDir();
  const script = fake.reportingUrl('ffprobe', mp4);
  settings = {
    ffprobePath: script,
    timeoutMs: 5000,
    maxOutputBytes: 1024 * 1024,
    inlineLimitBytes: 100 * 1024,
    uploadTimeoutMs: 2000,
    faststartTimeoutMs: 2000,
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
  media = MOOV_FIRST;
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
    const { result } = await probeAsset(presignedUrl('a'.repeat(64)), upload, settings);
    expect(result.media.video).toEqual([
      expect.objectContaining({ index: 0, codec: 'h264', width: 1920, height: 1080, frame_rate: 29.97 }),
    ]);
    expect('ffprobe_output' in result.stored && JSON.parse(result.stored.ffprobe_output).streams).toHaveLength(2);
    expect(puts()).toHaveLength(0);
  });

  it('never stores the presigned URL ffprobe reports as format.filename', async () => {
    const signature = 'b'.repeat(64);
    const { result } = await probeAsset(presignedUrl(signature), upload, settings);
    const stored = JSON.stringify(result.stored);
    expect(stored).not.toContain(signature);
    expect(stored).not.toMatch(/X-Amz-(Signature|Security-Token|Credential)/);
  });

  it('never uploads the presigned media URL either', async () => {
    const signature = 'c'.repeat(64);
    await probeAsset(presignedUrl(signature), upload, { ...settings, inlineLimitBytes: 0 });
    expect(puts()).toHaveLength(1);
    expect(puts()[0].body).not.toContain(signature);
  });

  it.each([
    ['first', true],
    ['last', false],
  ])(
    'reads an MP4 with the moov %s as faststart %s: one read of the first 4 KiB, from the head the relay read through the presigned URL',
    async (moov, faststart) => {
      media = moov === 'first' ? MOOV_FIRST : MOOV_LAST;
      const url = presignedUrl('d'.repeat(64));
      const { result, faststartCheck, reads } = await probeAsset(url, upload, settings, media.length);
      expect(result.media.faststart).toBe(faststart);
      expect(faststartCheck).toEqual({ faststart, requests: 1, bytes: 4096 });
      expect(gets()).toEqual([
        expect.objectContaining({ url: url.slice(url.indexOf('/movies')), range: `bytes=0-${FIRST_WINDOW_BYTES - 1}` }),
      ]);
      expect(reads).toMatchObject({ requests: 1, bytes: Math.min(media.length, FIRST_WINDOW_BYTES), servedBytes: 4096 });
      // The connection an earlier probe of this file left with the module's agent may serve this one.
      expect(reads.connections).toBeLessThanOrEqual(1);
    },
  );

  it('leaves faststart out when the object cannot be read, and the analysis still succeeds', async () => {
    answer = 403;
    const { result, faststartCheck } = await probeAsset(presignedUrl('e'.repeat(64)), upload, settings);
    expect(result.media).not.toHaveProperty('faststart');
    expect(faststartCheck).toEqual({ requests: 1, bytes: 0, failure: 'AccessDeniedError' });
  });

  it('checks only what the mov demuxer read: no read for other containers', async () => {
    const script = fake.reportingUrl('mkv', { ...mp4, format: { ...mp4.format, format_name: 'matroska,webm' } });
    const { result, faststartCheck, reads } = await probeAsset(presignedUrl('f'.repeat(64)), upload, { ...settings, ffprobePath: script });
    expect(faststartCheck).toBeUndefined();
    expect(result.media).not.toHaveProperty('faststart');
    // The relay reads the head while ffprobe starts; nothing of it was served to anyone here (the stand-in reads nothing).
    expect(gets()).toEqual([expect.objectContaining({ range: `bytes=0-${FIRST_WINDOW_BYTES - 1}` })]);
    expect(reads.servedBytes).toBe(0);
  });

  it('keeps a summary of 5,000 streams within the row by capping its lists, saying how many were left out', async () => {
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
    const { result } = await probeAsset(presignedUrl('0'.repeat(64)), upload, { ...settings, ffprobePath: script });
    expect(result.media.subtitles).toHaveLength(32);
    expect(result.media.subtitles_omitted).toBe(4_968);
    expect(Buffer.byteLength(JSON.stringify(result.media))).toBeLessThan(8 * 1024);
  });

  it('refuses a summary still too large for a row (every list full, every tag at its cap) with ProbeOutputTooLargeError, saying how large', async () => {
    const hostile = {
      ...mp4,
      streams: Array.from({ length: 500 }, (_, index) => ({
        index,
        codec_type: ['video', 'audio', 'subtitle'][index % 3],
        codec_name: 'c'.repeat(1000),
        profile: 'p'.repeat(1000),
        tags: { language: 'l'.repeat(1000), title: 't'.repeat(1000) },
      })),
      chapters: Array.from({ length: 500 }, (_, i) => ({
        start_time: String(i),
        end_time: String(i + 1),
        tags: { title: 'c'.repeat(1000) },
      })),
    };
    const script = fake.reportingUrl('hostile', hostile);
    // Its ffprobe JSON (about 3 MB) is within the function's real output cap, not this file's 1 MiB.
    const limits = { ...settings, ffprobePath: script, maxOutputBytes: 16 * 1024 * 1024 };
    await expect(probeAsset(presignedUrl('1'.repeat(64)), upload, limits)).rejects.toMatchObject({
      name: 'ProbeOutputTooLargeError',
      message: expect.stringMatching(/^the media summary of 500 streams is \d+ KiB, more than the 64 KiB a row keeps for it$/),
    });
  });
});

describe('probeAsset on an HDR candidate: the second run over the first frames', () => {
  const fixtures = path.join(__dirname, 'fixtures');
  /** The HDR10+ file of the corpus as ffprobe 7.1 printed it, as Matroska, so no faststart GET is made. */
  const hevcPq = (() => {
    const doc = JSON.parse(readFileSync(path.join(fixtures, 'ffprobe-7.1', 'hdr10plus-hevc.mp4.json'), 'utf8'));
    return { ...doc, format: { ...doc.format, format_name: 'matroska,webm' } };
  })();
  /** A fake ffprobe that prints the document, or for a run with -show_frames, `framesOutput` (with `framesExit`). */
  const twoRuns = (name: string, framesOutput: string, framesExit = 0) => {
    const probe = fake.reportingUrl(`${name}-probe`, hevcPq);
    writeFileSync(fake.path(`${name}.frames`), framesOutput);
    return fake.script(
      name,
      `case " $* " in *" -show_frames "*) /bin/cat '${fake.path(`${name}.frames`)}'; exit ${framesExit};; esac\nexec '${probe}' "$@"`,
    );
  };

  it('adds what the frames showed to the summary and keeps the run in the stored JSON', async () => {
    const frames = readFileSync(path.join(fixtures, 'frames-7.1', 'hdr10plus-hevc.mp4.json'), 'utf8');
    const script = twoRuns('hdr10plus', frames);
    const { result, framesCheck } = await probeAsset(presignedUrl('2'.repeat(64)), upload, { ...settings, ffprobePath: script });
    expect(result.media.video[0].hdr?.formats).toEqual(['PQ', 'HDR10', 'HDR10+']);
    expect(framesCheck).toMatchObject({ stream_index: 0, verdict: { hdr10_plus: true, dolby_vision_rpu: false } });
    const stored = 'ffprobe_output' in result.stored ? JSON.parse(result.stored.ffprobe_output) : undefined;
    expect(stored?.frames_probe).toMatchObject({ stream_index: 0, packets: 8 });
    expect(stored?.frames_probe.frames.length).toBe(framesCheck?.verdict?.frames_read);
  });

  it('keeps what the container says when the frames run fails, and the analysis succeeds', async () => {
    const script = twoRuns('broken-frames', '[hevc @ 0x1] Invalid NAL unit size\n', 1);
    const { result, framesCheck } = await probeAsset(presignedUrl('3'.repeat(64)), upload, { ...settings, ffprobePath: script });
    expect(result.media.video[0].hdr).toEqual({ formats: ['PQ'] });
    expect(framesCheck).toMatchObject({ stream_index: 0, error: expect.stringMatching(/^NotMediaError: /) });
    expect(framesCheck?.error).not.toContain('X-Amz-Signature');
    expect('ffprobe_output' in result.stored && JSON.parse(result.stored.ffprobe_output)).not.toHaveProperty('frames_probe');
  });

  it('makes no second run when too little of the step’s time is left', async () => {
    const script = twoRuns('late', readFileSync(path.join(fixtures, 'frames-7.1', 'hdr10plus-hevc.mp4.json'), 'utf8'));
    const deadline = Date.now() + settings.uploadTimeoutMs + 1000;
    const { result, framesCheck } = await probeAsset(
      presignedUrl('4'.repeat(64)),
      upload,
      { ...settings, ffprobePath: script },
      null,
      deadline,
    );
    expect(framesCheck).toMatchObject({ ms: 0, error: expect.stringMatching(/^not started: /) });
    expect(result.media.video[0].hdr).toEqual({ formats: ['PQ'] });
  });

  it('makes no second run for an SDR file', async () => {
    const { framesCheck } = await probeAsset(presignedUrl('5'.repeat(64)), upload, settings);
    expect(framesCheck).toBeUndefined();
  });
});
