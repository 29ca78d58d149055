/**
 * The whole pipeline on real local components: DynamoDB Local and its stream, the verifying S3
 * endpoint, the real ASL in the interpreter, the real handlers and the layer's ffprobe binary.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeleteItemCommand, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { insertRows, listFiles, rowsForFiles, uploadFiles, waitForOutcomes } from '../../cli/local-run';
import { itemToRow, type PlainRow, rowToItem } from '../../cli/rows';
import { ffprobeMemoryBudgetMiB } from '../../functions/lib/ffprobe-command';
import { FIRST_WINDOW_BYTES } from '../../functions/lib/object-relay';
import { InputTemplate } from '../../local/pipe/input-template';
import { laneOf } from '../../local/pipe/local-pipe';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { localTemplate } from '../../local/template';
import { ffmetadataEchoing, matroskaElementPastEnd, matroskaInflateBomb } from '../support/hostile-media';
import { outcomeEventErrors } from '../support/outcome-schema';
import { serverClosesIdleConnection } from './support/keep-alive';

const ROOT = path.resolve(__dirname, '../..');
/** The ffprobe step's memory budget as deployed: the template's MemorySize, less Node's share. */
const PROBE_MEMORY_BUDGET_MIB = ffprobeMemoryBudgetMiB(
  Object.values(localTemplate(path.join(ROOT, 'template.yaml')).analysis.substitutions).find((fn) => fn.logicalId === 'FfprobeFunction')!
    .memoryMb,
);
const SAMPLES = path.join(ROOT, 'samples');
const MANY_STREAMS = 250;
const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

jest.setTimeout(180_000);

let stack: LocalStack;
// Far from the ids of the events/ samples (1337, 4242), which one test runs as they are.
let nextId = 100_000;

async function put(key: string, body: Buffer | string): Promise<void> {
  await stack.s3.send(new PutObjectCommand({ Bucket: stack.mediaBucket, Key: key, Body: body }));
}

async function analyse(rows: PlainRow[], timeoutMs = 90_000) {
  await insertRows(stack, rows);
  const result = await waitForOutcomes(stack, rows, timeoutMs);
  expect(result.complete).toBe(true);
  return result;
}

/** Rows whose keys share one lane of the pipe's ParallelizationFactor, so one batch carries them all. */
function rowsInOneLane(count: number, key: string): PlainRow[] {
  const lanes = localTemplate(path.join(ROOT, 'template.yaml')).pipe.parallelizationFactor;
  const rows: PlainRow[] = [];
  while (rows.length < count) {
    const candidate = row(key);
    if (laneOf({ movie_id: { N: String(candidate.movie_id) } }, lanes) === 0) rows.push(candidate);
  }
  return rows;
}

function row(key: string | undefined, extra: PlainRow = {}): PlainRow {
  const id = nextId++;
  return {
    movie_id: id,
    movie_title: `asset ${id}`,
    S3_bucket: stack.mediaBucket,
    ...(key === undefined ? {} : { S3_object: key }),
    ...extra,
  };
}

/** Points the row at another object with UpdateItem, as a team re-pointing an asset would. */
async function repoint(id: unknown, key: string): Promise<void> {
  await stack.dynamodb.send(
    new UpdateItemCommand({
      TableName: stack.tableName,
      Key: { movie_id: { N: String(id) } },
      UpdateExpression: 'SET S3_object = :k',
      ExpressionAttributeValues: { ':k': { S: key } },
    }),
  );
}

async function item(id: unknown): Promise<PlainRow> {
  const found = await stack.dynamodb.send(
    new GetItemCommand({ TableName: stack.tableName, Key: { movie_id: { N: String(id) } }, ConsistentRead: true }),
  );
  return itemToRow(found.Item ?? {});
}

beforeAll(async () => {
  // Faults must reach the state machine's Retry, not be absorbed by the SDK's own retries.
  process.env.AWS_MAX_ATTEMPTS = '1';
  stack = await startLocalStack({ repositoryRoot: ROOT, retryIntervalScale: 0.01 });
  const samples = await listFiles(SAMPLES);
  await uploadFiles(stack, stack.mediaBucket, samples);
  await put('many-streams.mkv', manyStreamsFile());
});

/** An MKV with one video and MANY_STREAMS subtitle streams: ffprobe's JSON for it is far over the inline limit. */
function manyStreamsFile(): Buffer {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'media-probe-many-'));
  const srt = path.join(dir, 'sub.srt');
  require('node:fs').writeFileSync(srt, '1\n00:00:00,000 --> 00:00:00,500\nhi\n');
  const inputs = Array.from({ length: MANY_STREAMS }, () => ['-i', srt]).flat();
  const maps = ['-map', '0', ...Array.from({ length: MANY_STREAMS }, (_, i) => ['-map', String(i + 1)]).flat()];
  const out = path.join(dir, 'many.mkv');
  execFileSync('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-f',
    'lavfi',
    '-i',
    'testsrc=size=64x64:rate=5:duration=1',
    ...inputs,
    ...maps,
    '-c:v',
    'mpeg4',
    '-c:s',
    'srt',
    '-metadata:s:s',
    `title=${'a long subtitle track title '.repeat(12)}`,
    out,
  ]);
  return readFileSync(out);
}

afterAll(async () => {
  await stack?.stop();
});

describe('happy path', () => {
  it('analyses every sample format and records the data contract, leaving user attributes alone', async () => {
    const samples = (await listFiles(SAMPLES)).filter((f) => !f.key.endsWith('.txt'));
    const rows: PlainRow[] = rowsForFiles(stack.mediaBucket, samples).map((r) => ({
      ...r,
      movie_id: nextId++,
      owner: 'team-a',
      tags: ['promo', 'q3'],
    }));
    const before = { ...stack.pipe!.stats };
    const result = await analyse(rows);
    await stack.waitUntilIdle();

    for (const r of rows) {
      const it = await item(r.movie_id);
      expect(it.owner).toBe('team-a');
      expect(it.tags).toEqual(['promo', 'q3']);
      expect(it.movie_title).toBe(r.movie_title);
      expect(it.S3_object).toBe(r.S3_object);
      const analysis = it.analysis as Record<string, any>;
      expect(analysis.status).toBe('SUCCEEDED');
      expect(analysis.execution).toMatch(/^arn:aws:states:/);
      expect(analysis.started_at).toMatch(ISO_UTC);
      expect(analysis.finished_at).toMatch(ISO_UTC);
      expect(Date.parse(analysis.finished_at)).toBeGreaterThanOrEqual(Date.parse(analysis.started_at));
      expect(analysis.error).toBeUndefined();
      // The object analysed, as S3 describes it now: the presign step's HeadObject, nothing invented.
      const head = await stack.s3.send(new HeadObjectCommand({ Bucket: stack.mediaBucket, Key: String(r.S3_object) }));
      expect(analysis.object).toEqual({
        bucket: stack.mediaBucket,
        key: r.S3_object,
        etag: head.ETag,
        size_bytes: head.ContentLength,
        last_modified: head.LastModified?.toISOString(),
        ...(head.ContentType ? { content_type: head.ContentType } : {}),
      });
      for (const step of ['presign', 'ffprobe', 'update']) {
        expect(analysis.steps[step]).toEqual({ status: 'SUCCEEDED', attempts: 1, duration_ms: expect.any(Number) });
      }
      const output = JSON.parse(String(it.ffprobe_output));
      expect(Array.isArray(output.streams)).toBe(true);
      expect(output.format.format_name).toBeTruthy();
      expect(it.ffprobe_output_location).toBeUndefined();
      const media = it.media as Record<string, any>;
      expect(media.format_name).toBe(output.format.format_name);
      expect(media.duration_s).toBeGreaterThan(0);
      expect(media.size_bytes).toBe(samples.find((f) => f.key === r.S3_object)!.size);
    }
    const byKey = (key: string) => result.items.find((i) => i.S3_object === key)!.media as Record<string, any>;
    for (const r of rows) expect(byKey(String(r.S3_object)).schema_version).toBe(2);
    expect(byKey('trailer.mp4').video).toEqual([
      expect.objectContaining({
        index: 0,
        codec: 'h264',
        width: 320,
        height: 180,
        frame_rate: 25,
        pix_fmt: 'yuv420p',
        scan_type: 'progressive',
      }),
    ]);
    expect(byKey('trailer.mp4').audio).toEqual([expect.objectContaining({ index: 1, codec: 'aac', channels: 2, sample_rate: 48000 })]);
    // The sample MP4 has its index first: the ffprobe step read that from its top-level boxes.
    expect(byKey('trailer.mp4').faststart).toBe(true);
    expect(byKey('interview.mkv').audio).toEqual([
      expect.objectContaining({ codec: 'opus', channels: 1, sample_rate: 48000, language: 'fra' }),
    ]);
    expect(byKey('interview.mkv').subtitles).toEqual([expect.objectContaining({ codec: 'subrip', language: 'eng' })]);
    expect(byKey('interview.mkv')).not.toHaveProperty('faststart');
    expect(byKey('ambience.wav')).toMatchObject({
      video: [],
      audio: [expect.objectContaining({ codec: 'pcm_s16le', channels: 1, sample_rate: 16000 })],
    });
    expect(byKey('broadcast.m2t')).toMatchObject({ format_name: 'mpegts', programs: [expect.objectContaining({ program_num: 1 })] });
    // ffprobe's JSON keeps the chapters and programs it was asked for beside the streams and the format.
    const broadcast = JSON.parse(String(result.items.find((i) => i.S3_object === 'broadcast.m2t')!.ffprobe_output));
    expect(Object.keys(broadcast)).toEqual(['streams', 'format', 'chapters', 'programs']);
    expect(broadcast.programs).toHaveLength(1);

    // The pipeline's own writes are MODIFY records: filtered out, never a second execution.
    const stats = stack.pipe!.stats;
    expect(stats.records_delivered - before.records_delivered).toBe(rows.length);
    expect(stats.filtered_out - before.filtered_out).toBeGreaterThanOrEqual(rows.length);
    expect(stats.stream_records - before.stream_records).toBe(
      stats.records_delivered - before.records_delivered + stats.filtered_out - before.filtered_out,
    );
  });

  it('keeps keys with spaces, unicode and reserved characters exact', async () => {
    const key = 'odd names/été 2024 + final & co = v2 ?#%.mp4';
    await put(key, readFileSync(path.join(SAMPLES, 'trailer.mp4')));
    const r = row(key);
    await analyse([r]);
    const it = await item(r.movie_id);
    expect((it.analysis as any).status).toBe('SUCCEEDED');
    expect(it.S3_object).toBe(key);
  });

  it('writes ffprobe output too large for the item to the results bucket and points at it', async () => {
    const r = row('many-streams.mkv');
    await analyse([r]);
    const it = await item(r.movie_id);
    expect((it.analysis as any).status).toBe('SUCCEEDED');
    expect(it.ffprobe_output).toBeUndefined();
    const location = String(it.ffprobe_output_location);
    expect(location).toMatch(new RegExp(`^s3://${stack.resultsBucket}/ffprobe-output/${r.movie_id}/[0-9a-f]{64}\\.json$`));
    const key = location.slice(`s3://${stack.resultsBucket}/`.length);
    const stored = await stack.s3.send(new GetObjectCommand({ Bucket: stack.resultsBucket, Key: key }));
    const body = await stored.Body!.transformToString();
    expect(Buffer.byteLength(body)).toBeGreaterThan(100 * 1024);
    const output = JSON.parse(body);
    expect(output.streams.length).toBe(MANY_STREAMS + 1);
    // The summary keeps the first streams of each kind and counts the rest: the JSON has them all.
    expect((it.media as any).subtitles).toHaveLength(32);
    expect((it.media as any).subtitles_omitted).toBe(MANY_STREAMS - 32);
  });
});

describe('faststart', () => {
  /** An MP4 made by ffmpeg: without +faststart its moov follows the mdat. */
  function mp4(faststart: boolean): Buffer {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'media-probe-faststart-'));
    const out = path.join(dir, 'clip.mp4');
    execFileSync('ffmpeg', [
      ...['-hide_banner', '-loglevel', 'error'],
      ...['-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25:duration=2', '-f', 'lavfi', '-i', 'sine=duration=2'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-metadata:s:a', 'language=eng'],
      ...(faststart ? ['-movflags', '+faststart'] : []),
      out,
    ]);
    return readFileSync(out);
  }

  it.each([
    ['first', true, []],
    ['last', false, ['not_faststart']],
  ])(
    'an MP4 with its moov %s is faststart %s, read from the head the probe read: no GET besides the relay’s',
    async (moov, faststart, rules) => {
      const key = `faststart/moov-${moov}.mp4`;
      await put(key, mp4(faststart));
      const r = row(key);
      await analyse([r]);
      const media = (await item(r.movie_id)).media as Record<string, any>;
      expect(media.faststart).toBe(faststart);
      expect(media.findings.map((f: { rule: string }) => f.rule)).toEqual(rules);
      const gets = stack.s3Requests.filter((q) => q.key === key && q.operation === 'GetObject');
      expect(gets[0]).toMatchObject({ auth: 'presigned', status: 206, range: `bytes=0-${FIRST_WINDOW_BYTES - 1}` });
      expect(gets.every((q) => q.auth === 'presigned' && q.status === 206 && q.range !== 'bytes=0-4095')).toBe(true);
    },
  );
});

/**
 * Bytes that look random but are the same on every run: truly random bytes now and then hold a
 * frame sync an audio demuxer accepts, and the test would probe media.
 */
function noiseBytes(length: number): Buffer {
  const blocks = Array.from({ length: Math.ceil(length / 32) }, (_, i) => createHash('sha256').update(`media-probe noise ${i}`).digest());
  return Buffer.concat(blocks).subarray(0, length);
}

describe('bad input ends FAILED with the step and a readable reason', () => {
  const uploaded = async (key: string, body: Buffer) => {
    await put(key, body);
    return row(key);
  };
  const cases: Array<[string, () => Promise<PlainRow>, string, string, RegExp]> = [
    [
      'a zero-byte object',
      () => uploaded('bad/empty.mp4', Buffer.alloc(0)),
      'ffprobe',
      'NotMediaError',
      /could not read the object as media/,
    ],
    ['a text file', async () => row('shot-list.txt'), 'ffprobe', 'NotMediaError', /media/],
    ['random bytes', () => uploaded('bad/random.mov', noiseBytes(64 * 1024)), 'ffprobe', 'NotMediaError', /media|streams/],
    // Cut inside the first track's sample table (its ctts). A file cut later is media to ffprobe:
    // after the moov (5.1 and 7.1), or inside a chunk-offset table, whose listed chunks 7.1 keeps.
    [
      'an MP4 cut off inside its header',
      () => uploaded('bad/truncated.mp4', readFileSync(path.join(SAMPLES, 'trailer.mp4')).subarray(0, 1000)),
      'ffprobe',
      'NotMediaError',
      /media/,
    ],
    [
      'a Matroska inflate bomb, which ffprobe may not take the function’s memory for',
      () => uploaded('hostile/inflate-bomb.mkv', matroskaInflateBomb()),
      'ffprobe',
      'NotMediaError',
      new RegExp(`^ffprobe could not read the object as media: it ran out of its memory budget \\(${PROBE_MEMORY_BUDGET_MIB} MiB\\)`),
    ],
    [
      'a text file that echoes "Server returned 404 Not Found" into ffprobe’s messages',
      () => uploaded('hostile/echo-404.txt', ffmetadataEchoing('Server returned 404 Not Found')),
      'ffprobe',
      'NotMediaError',
      /^ffprobe could not read the object as media: Cannot allocate memory \(exit code 1\)$/,
    ],
    [
      'a text file that echoes "Connection reset by peer" (not retried as transient)',
      () => uploaded('hostile/echo-reset.txt', ffmetadataEchoing('Connection reset by peer')),
      'ffprobe',
      'NotMediaError',
      /^ffprobe could not read the object as media: Cannot allocate memory \(exit code 1\)$/,
    ],
    [
      'a corrupt WebM whose Matroska parse error ends in an I/O error (not retried as transient)',
      () => uploaded('hostile/element-past-end.webm', matroskaElementPastEnd()),
      'ffprobe',
      'NotMediaError',
      /^ffprobe could not read the object as media: \[matroska,webm\] Element at 0x[0-9a-f]+ ending at 0x[0-9a-f]+ exceeds containing master element ending at 0x[0-9a-f]+, then Input\/output error \(exit code 1\)$/,
    ],
    ['a missing object', async () => row('bad/never-uploaded.mp4'), 'presign', 'ObjectNotFoundError', /does not exist/],
    ['a row without S3_object', async () => row(undefined), 'presign', 'InvalidRowError', /no S3_object attribute/],
    [
      'an S3_bucket of the wrong type',
      async () => row('trailer.mp4', { S3_bucket: 42 }),
      'presign',
      'InvalidRowError',
      /S3_bucket must be a string \(S\), but the row has a number \(N\)/,
    ],
    [
      'a row whose S3_bucket is 140 KB',
      async () => ({ ...row('trailer.mp4'), S3_bucket: 'b'.repeat(140_000) }),
      'presign',
      'InvalidRowError',
      /^S3_bucket "b{256}…" \(140000 characters\) is not a valid S3 bucket name$/,
    ],
  ];

  it.each(cases)('%s', async (_name, makeRow, step, type, message) => {
    const r = await makeRow();
    const userAttributes = { owner: 'team-b', notes: { reviewed: false } };
    Object.assign(r, userAttributes);
    await analyse([r]);
    const it = await item(r.movie_id);
    const analysis = it.analysis as Record<string, any>;
    expect(analysis.status).toBe('FAILED');
    expect(analysis.error).toEqual({ step, type, message: expect.stringMatching(message) });
    expect(analysis.error.message).not.toMatch(/https?:\/\/|X-Amz-|\n\s+at /);
    expect(analysis.steps[step]).toMatchObject({ status: 'FAILED', attempts: 1 });
    const order = ['presign', 'ffprobe', 'update'];
    for (const later of order.slice(order.indexOf(step) + 1))
      expect(analysis.steps[later]).toEqual({ status: 'SKIPPED', attempts: 0, duration_ms: 0 });
    for (const earlier of order.slice(0, order.indexOf(step))) expect(analysis.steps[earlier].status).toBe('SUCCEEDED');
    expect(it.owner).toBe('team-b');
    expect(it.notes).toEqual({ reviewed: false });
    expect(it.media).toBeUndefined();
    expect(it.ffprobe_output).toBeUndefined();
  });
});

describe('hostile files stay within what a state and a row hold', () => {
  it('analyses a Matroska file whose language tags fill 300 KB, keeping a cut language', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'media-probe-tags-'));
    const file = path.join(dir, 'languages.mkv');
    // Three tracks with a 100 KB language each: one argument stays under the kernel's 128 KiB limit.
    const language = 'x'.repeat(100_000);
    execFileSync('ffmpeg', [
      ...['-hide_banner', '-loglevel', 'error'],
      ...[0, 1, 2].flatMap(() => ['-f', 'lavfi', '-i', 'sine=duration=1']),
      ...[0, 1, 2].flatMap((i) => ['-map', String(i), `-metadata:s:a:${i}`, `language=${language}`]),
      ...['-c:a', 'libopus', file],
    ]);
    await put('hostile/languages.mkv', readFileSync(file));
    const r = row('hostile/languages.mkv');
    await analyse([r]);
    const it = await item(r.movie_id);
    expect((it.analysis as Record<string, any>).status).toBe('SUCCEEDED');
    expect((it.media as Record<string, any>).audio).toEqual(
      [0, 1, 2].map((index) =>
        expect.objectContaining({ index, codec: 'opus', channels: 1, sample_rate: 48000, language: `${'x'.repeat(255)}…` }),
      ),
    );
    expect(it.ffprobe_output_location).toMatch(/^s3:\/\//);
  });
});

describe('faults', () => {
  it('absorbs transient S3 errors while ffprobe reads the object (Retry on TransientError)', async () => {
    const r = row('theme.mp3');
    const fault = stack.faults.s3.inject({ code: 'SlowDown', method: 'GET', operation: 'GetObject', key: 'theme.mp3', times: 1 });
    await analyse([r]);
    expect(fault.fired).toBe(1);
    const analysis = (await item(r.movie_id)).analysis as Record<string, any>;
    expect(analysis.status).toBe('SUCCEEDED');
    expect(analysis.steps.ffprobe.attempts).toBe(2);
  });

  it('absorbs Lambda service errors of a step (Retry on Lambda.ServiceException)', async () => {
    const r = row('theme.mp3');
    stack.functions.PresignFunction.failNext(2, 'Lambda.ServiceException');
    await analyse([r]);
    const analysis = (await item(r.movie_id)).analysis as Record<string, any>;
    expect(analysis.status).toBe('SUCCEEDED');
    expect(analysis.steps.presign.attempts).toBe(3);
  });

  it('absorbs DynamoDB throttling when recording (Retry on TransientError)', async () => {
    const r = row('ambience.wav');
    const fault = stack.faults.dynamodb.inject({ operation: 'UpdateItem', error: 'ProvisionedThroughputExceededException', times: 2 });
    await analyse([r]);
    expect(fault.fired).toBe(2);
    const analysis = (await item(r.movie_id)).analysis as Record<string, any>;
    expect(analysis.status).toBe('SUCCEEDED');
    expect(analysis.steps.update.attempts).toBe(3);
  });

  it.each([
    [
      'DynamoDB UpdateItem',
      'ambience.wav',
      'update',
      () => stack.faults.dynamodb.inject({ operation: 'UpdateItem', error: 'Stall', times: 1 }),
    ],
    [
      'S3 HeadObject',
      'theme.mp3',
      'presign',
      () => stack.faults.s3.inject({ code: 'Stall', operation: 'HeadObject', key: 'theme.mp3', times: 1 }),
    ],
  ])('gives up on a stalled %s and retries it, instead of running into the function timeout', async (_call, key, step, stall) => {
    const r = row(key);
    const fault = stall();
    await analyse([r]);
    expect(fault.fired).toBe(1);
    const analysis = (await item(r.movie_id)).analysis as Record<string, any>;
    expect(analysis.status).toBe('SUCCEEDED');
    expect(analysis.steps[step].attempts).toBe(2);
  });

  it('counts the tries of a step whose transient failure turned permanent on retry', async () => {
    const r = row('shot-list.txt');
    const fault = stack.faults.s3.inject({ code: 'SlowDown', method: 'GET', operation: 'GetObject', key: 'shot-list.txt', times: 1 });
    await analyse([r]);
    expect(fault.fired).toBe(1);
    const analysis = (await item(r.movie_id)).analysis as Record<string, any>;
    expect(analysis.error).toMatchObject({ step: 'ffprobe', type: 'NotMediaError' });
    expect(analysis.error.message).not.toContain('[attempt');
    expect(analysis.steps.ffprobe).toMatchObject({ status: 'FAILED', attempts: 2 });
  });

  it('records a permanent failure through the Catch path without retrying', async () => {
    const r = row('trailer.mp4');
    stack.functions.FfprobeFunction.failNext(1, 'NotMediaError', 'injected: not media');
    const before = stack.functions.FfprobeFunction.invocations;
    await analyse([r]);
    expect(stack.functions.FfprobeFunction.invocations - before).toBe(1);
    const analysis = (await item(r.movie_id)).analysis as Record<string, any>;
    expect(analysis.status).toBe('FAILED');
    expect(analysis.error).toEqual({ step: 'ffprobe', type: 'NotMediaError', message: 'injected: not media' });
  });

  it('parks the stream record in the dead-letter store when no outcome can be recorded', async () => {
    const r = row('ambience.wav');
    const fault = stack.faults.dynamodb.inject({ operation: 'UpdateItem', error: 'InternalServerError', times: Infinity });
    try {
      await insertRows(stack, [r]);
      const result = await waitForOutcomes(stack, [r], 120_000);
      expect(result.complete).toBe(true);
      expect(result.outcomes.get(String(r.movie_id))).toBe('DEAD_LETTERED');
    } finally {
      fault.clear();
    }
    const parked = stack.deadLetters.entries().flatMap((e) => e.records);
    expect(parked.map((rec) => rec.dynamodb?.Keys?.movie_id?.N)).toContain(String(r.movie_id));
    const it = await item(r.movie_id);
    expect(it.analysis).toBeUndefined();
    expect(it.movie_title).toBe(r.movie_title);
  });
});

describe('a batch with one record whose outcome cannot be recorded', () => {
  it('is bisected until only that record is dead-lettered; the others are recorded', async () => {
    // Rows of one lane of the pipe's parallelization: the pipe batches them together.
    const rows = rowsInOneLane(4, 'ambience.wav');
    const poisoned = String(rows[2].movie_id);
    const recordOf = (event: unknown) =>
      (event as { record?: { dynamodb?: { Keys?: { movie_id?: { N?: string } } } } })?.record?.dynamodb?.Keys?.movie_id?.N;
    const clear = stack.functions.UpdateFunction.failWhen(
      (event) => recordOf(event) === poisoned,
      'TransientError',
      'injected: table unreachable',
    );
    const before = { ...stack.pipe!.stats };
    // A batching window makes the four inserts one batch: at the default of 0 the pipe may read them over two polls.
    stack.pipe!.setBatchingWindow(1);
    try {
      await insertRows(stack, rows);
      const result = await waitForOutcomes(stack, rows, 120_000);
      expect(result.complete).toBe(true);
      for (const r of rows)
        expect(result.outcomes.get(String(r.movie_id))).toBe(String(r.movie_id) === poisoned ? 'DEAD_LETTERED' : 'SUCCEEDED');
    } finally {
      clear();
      stack.pipe!.setBatchingWindow(localTemplate(path.join(ROOT, 'template.yaml')).pipe.batchingWindowSeconds);
    }
    expect(stack.pipe!.stats.dead_lettered - before.dead_lettered).toBe(1);
    expect(stack.pipe!.stats.records_delivered - before.records_delivered).toBe(4);
    // One batch of 4 failed, then its half [poisoned, other], then the poisoned record with every retry.
    const retries = localTemplate(path.join(ROOT, 'template.yaml')).pipe.maximumRetryAttempts;
    expect(stack.pipe!.stats.failed_executions - before.failed_executions).toBe(2 + retries + 1);
    const parked = stack.deadLetters.entries().at(-1)!;
    expect(parked.DDBStreamBatchInfo.batchSize).toBe(1);
    expect(parked.records.map((rec) => rec.dynamodb?.Keys?.movie_id?.N)).toEqual([poisoned]);
  });
});

describe('a batch with a very large row and a row without S3_object', () => {
  it('records every row on its own: each analysed or failed once, none dead-lettered', async () => {
    // A row of 300 KB: the whole stream record would be over Step Functions' 256 KB input limit.
    const large = row('theme.mp3', { notes: 'x'.repeat(300 * 1024) });
    const broken = row(undefined);
    const normal = Array.from({ length: 3 }, () => row('ambience.wav'));
    const rows = [normal[0], large, normal[1], broken, normal[2]];
    const probes = stack.functions.FfprobeFunction.invocations;
    const parked = stack.deadLetters.entries().length;
    const before = { ...stack.pipe!.stats };
    const result = await analyse(rows);
    for (const r of [...normal, large])
      expect({ id: r.movie_id, outcome: result.outcomes.get(String(r.movie_id)) }).toEqual({ id: r.movie_id, outcome: 'SUCCEEDED' });
    expect((await item(broken.movie_id)).analysis).toMatchObject({
      status: 'FAILED',
      error: { step: 'presign', type: 'InvalidRowError', message: 'the row has no S3_object attribute' },
    });
    expect(stack.functions.FfprobeFunction.invocations - probes).toBe(normal.length + 1);
    expect(stack.deadLetters.entries()).toHaveLength(parked);
    expect(stack.pipe!.stats.failed_executions - before.failed_executions).toBe(0);
    expect(String((await item(large.movie_id)).notes)).toHaveLength(300 * 1024);
  });

  it("records a row too large to hold its analysis beside it as FAILED in update, with DynamoDB's reason, its attributes untouched", async () => {
    // 1.3 KB under DynamoDB's 400 KB item limit: room for a failure record (about 0.8 KB), not for
    // the summary and the inline ffprobe JSON of a success (about 2 KB).
    const huge = row('ambience.wav', { notes: 'x'.repeat(408_300) });
    await analyse([huge]);
    const it = await item(huge.movie_id);
    expect(it.analysis).toMatchObject({
      status: 'FAILED',
      error: { step: 'update', type: 'ValidationException', message: expect.stringMatching(/item size/i) },
    });
    expect(String(it.notes)).toHaveLength(408_300);
    expect(it.media).toBeUndefined();
  });
});

describe('rows replaced or re-pointed', () => {
  it('analyses a row replaced with PutItem (a MODIFY without analysis) for its new object, once', async () => {
    const r = row('trailer.mp4');
    await analyse([r]);
    expect((await item(r.movie_id)).media).toMatchObject({ format_name: expect.stringContaining('mp4') });
    // The first analysis's own MODIFY is read (and filtered out) before counting.
    await stack.waitUntilIdle();
    const before = { ...stack.pipe!.stats };
    await stack.dynamodb.send(new PutItemCommand({ TableName: stack.tableName, Item: rowToItem({ ...r, S3_object: 'theme.mp3' }) }));
    await stack.waitUntilIdle();
    const it = await item(r.movie_id);
    expect((it.analysis as Record<string, unknown>).status).toBe('SUCCEEDED');
    expect(it.media).toMatchObject({ format_name: 'mp3' });
    // One execution for the replacement; its own write (a MODIFY carrying the analysis) started nothing.
    expect(stack.pipe!.stats.executions - before.executions).toBe(1);
    expect(stack.pipe!.stats.records_delivered - before.records_delivered).toBe(1);
    expect(stack.pipe!.stats.filtered_out - before.filtered_out).toBe(1);
  });

  it('analyses a row again when its analysis is removed on purpose', async () => {
    const r = row('theme.mp3');
    await analyse([r]);
    const first = (await item(r.movie_id)).analysis as Record<string, unknown>;
    await stack.dynamodb.send(
      new UpdateItemCommand({
        TableName: stack.tableName,
        Key: { movie_id: { N: String(r.movie_id) } },
        UpdateExpression: 'REMOVE analysis, media, ffprobe_output',
      }),
    );
    await stack.waitUntilIdle();
    const again = (await item(r.movie_id)).analysis as Record<string, unknown>;
    expect(again.status).toBe('SUCCEEDED');
    expect(again.execution).not.toBe(first.execution);
  });
});

describe('stale results are not applied', () => {
  it('leaves a stale result alone when the row is re-pointed while it is analysed, and analyses the new object (the re-pointing is a MODIFY without analysis)', async () => {
    const r = row('trailer.mp4');
    const leftAlone = stack.pipe!.stats.left_alone;
    let intercepted = false;
    stack.functions.UpdateFunction.beforeNext(async () => {
      intercepted = true;
      await repoint(r.movie_id, 'theme.mp3');
    });
    await insertRows(stack, [r]);
    await stack.waitUntilIdle();
    const it = await item(r.movie_id);
    expect(intercepted).toBe(true);
    // The trailer's result was not applied to a row that now points at theme.mp3 ...
    expect(stack.pipe!.stats.left_alone).toBe(leftAlone + 1);
    expect(it.S3_object).toBe('theme.mp3');
    // ... and the re-pointing's own MODIFY (no analysis yet) had theme.mp3 analysed.
    expect((it.analysis as Record<string, unknown>).status).toBe('SUCCEEDED');
    expect(it.media).toMatchObject({ format_name: 'mp3' });
  });

  it('leaves a deleted row deleted', async () => {
    const r = row('trailer.mp4');
    const leftAlone = stack.pipe!.stats.left_alone;
    let intercepted = false;
    stack.functions.UpdateFunction.beforeNext(async () => {
      intercepted = true;
      await stack.dynamodb.send(new DeleteItemCommand({ TableName: stack.tableName, Key: { movie_id: { N: String(r.movie_id) } } }));
    });
    await insertRows(stack, [r]);
    await stack.waitUntilIdle();
    const found = await stack.dynamodb.send(
      new GetItemCommand({ TableName: stack.tableName, Key: { movie_id: { N: String(r.movie_id) } }, ConsistentRead: true }),
    );
    expect(intercepted).toBe(true);
    expect(stack.pipe!.stats.left_alone).toBe(leftAlone + 1);
    expect(found.Item).toBeUndefined();
  });

  it('does not let an analysis that started earlier replace a newer one', async () => {
    const r = row('theme.mp3');
    await analyse([r]);
    const newer = (await item(r.movie_id)).analysis as Record<string, any>;
    // Replay the same INSERT as an execution that started before the recorded one.
    const parkedBefore = stack.deadLetters.entries().length;
    const insert = {
      eventID: 'replayed',
      eventName: 'INSERT',
      dynamodb: {
        Keys: { movie_id: { N: String(r.movie_id) } },
        NewImage: { movie_id: { N: String(r.movie_id) }, S3_bucket: { S: stack.mediaBucket }, S3_object: { S: 'theme.mp3' } },
      },
    };
    const update = await stack.functions.UpdateFunction.invoke({
      status: 'FAILED',
      record: insert,
      execution: { id: 'arn:aws:states:us-east-1:000000000000:express:older', started_at: '2000-01-01T00:00:00.000Z' },
      steps: {},
      failure: { step: 'presign', error: { Error: 'TransientError', Cause: 'late' } },
    });
    expect(update).toMatchObject({ applied: false, reason: expect.stringMatching(/a newer analysis \(started .*\) is already recorded/) });
    expect((await item(r.movie_id)).analysis).toEqual(newer);
    expect(stack.deadLetters.entries()).toHaveLength(parkedBefore);
  });
});

describe('load', () => {
  /** What became of a row, in words: its recorded error and steps, or why the pipe dead-lettered it. */
  function accountOf(id: string, outcome: string, found: PlainRow | undefined): string {
    const analysis = found?.analysis as Record<string, any> | undefined;
    if (analysis?.error)
      return `${outcome}: ${analysis.error.type} in ${analysis.error.step}: ${analysis.error.message} (steps ${JSON.stringify(analysis.steps)})`;
    const parked = stack.deadLetters.entries().find((e) => e.records.some((r) => String(r.dynamodb?.Keys?.movie_id?.N) === id));
    if (parked) return `${outcome}: dead-lettered after ${parked.error}: ${parked.cause}`;
    return `${outcome}: ${analysis ? JSON.stringify(analysis) : 'no analysis on the row'}`;
  }

  it('accounts for every one of 300 inserts, naming what became of any row that did not end as expected', async () => {
    const rows = Array.from({ length: 300 }, (_, i) => row(i % 3 === 0 ? 'bad/never-uploaded.mp4' : 'ambience.wav'));
    const expected = new Map(rows.map((r) => [String(r.movie_id), r.S3_object === 'ambience.wav' ? 'SUCCEEDED' : 'FAILED']));
    const result = await analyse(rows, 170_000);
    const found = new Map(result.items.map((it) => [String(it.movie_id), it]));
    // A missing object must fail as such in presign; anything else is a lost or wrong outcome.
    const asExpected = (id: string, outcome: string) =>
      outcome === expected.get(id) &&
      (outcome === 'SUCCEEDED' || (found.get(id)?.analysis as Record<string, any>)?.error?.type === 'ObjectNotFoundError');
    const unexpected = [...result.outcomes]
      .filter(([id, outcome]) => !asExpected(id, outcome))
      .map(([id, outcome]) => `row ${id} expected ${expected.get(id)}, ${accountOf(id, outcome, found.get(id))}`);
    expect(unexpected).toEqual([]);
    expect([...result.outcomes.values()].filter((o) => o === 'SUCCEEDED')).toHaveLength(200);
    // Several batches of the shard ran at once, never more than the template's ParallelizationFactor.
    const factor = localTemplate(path.join(ROOT, 'template.yaml')).pipe.parallelizationFactor;
    expect(stack.pipe?.stats.peak_executions_in_flight).toBeGreaterThan(1);
    expect(stack.pipe?.stats.peak_executions_in_flight).toBeLessThanOrEqual(factor);
  });
});

describe('the local endpoints', () => {
  it('the Step Functions endpoint keeps an idle keep-alive connection open for its client to reuse', async () => {
    const request =
      'POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: AWSStepFunctions.ListStateMachines\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n{}';
    expect(await serverClosesIdleConnection(stack.endpoints.stepfunctions, request)).toBe(false);
  });
});

describe('the events/ samples', () => {
  const readEvent = (name: string) => JSON.parse(readFileSync(path.join(ROOT, 'events', name), 'utf8'));

  it('the state machine runs events/pipe-batch.json as the pipe hands it over, and leaves rows it cannot find alone', async () => {
    const batch = readEvent('pipe-batch.json') as Array<{ dynamodb: { Keys: { movie_id: { N: string } } } }>;
    const template = InputTemplate.parse(localTemplate(path.join(ROOT, 'template.yaml')).pipe.inputTemplate as string);
    const result = await stack.stateMachine.startSyncExecution(batch.map((record) => template.render(record)));
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toEqual(
      batch.map((record) => ({
        movie_id: record.dynamodb.Keys.movie_id.N,
        status: 'FAILED',
        applied: false,
        reason: 'the row was deleted before the result could be recorded',
      })),
    );
  });
});

describe('outcome events', () => {
  const eventsFor = (id: unknown) => stack.eventBus.events.filter((e) => (e.detail as { movie_id?: unknown }).movie_id === id);

  it('publishes one event per outcome written to a row, succeeded or failed, each valid against the schema in events/', async () => {
    const good = row('trailer.mp4');
    const missing = row('nowhere/missing.mp4');
    await analyse([good, missing]);
    const [succeeded] = eventsFor(good.movie_id);
    const [failed] = eventsFor(missing.movie_id);
    expect(eventsFor(good.movie_id)).toHaveLength(1);
    expect(eventsFor(missing.movie_id)).toHaveLength(1);
    expect(outcomeEventErrors(succeeded)).toEqual([]);
    expect(outcomeEventErrors(failed)).toEqual([]);

    const analysed = await item(good.movie_id);
    expect(succeeded).toMatchObject({ source: 'media-probe', 'detail-type': 'Media Analysis Succeeded', account: '000000000000' });
    expect(succeeded.detail).toMatchObject({
      version: 1,
      movie_id: good.movie_id,
      bucket: stack.mediaBucket,
      key: 'trailer.mp4',
      status: 'SUCCEEDED',
      object: (analysed.analysis as { object: unknown }).object,
      execution: (analysed.analysis as { execution: string }).execution,
      summary: {
        container: (analysed.media as { format_name: string }).format_name,
        video: { codec: 'h264', hdr_formats: [] },
        video_streams: 1,
      },
    });
    expect(failed['detail-type']).toBe('Media Analysis Failed');
    expect(failed.detail).toMatchObject({
      status: 'FAILED',
      key: 'nowhere/missing.mp4',
      error: { step: 'presign', type: 'ObjectNotFoundError' },
    });
    expect(failed.detail).not.toHaveProperty('summary');
  });

  it('publishes nothing for a result left alone: only the re-pointed object’s outcome is announced', async () => {
    const r = row('trailer.mp4');
    stack.functions.UpdateFunction.beforeNext(async () => {
      await repoint(r.movie_id, 'theme.mp3');
    });
    await insertRows(stack, [r]);
    await stack.waitUntilIdle();
    const events = eventsFor(r.movie_id);
    expect(events.map((e) => (e.detail as { key: string }).key)).toEqual(['theme.mp3']);
    expect((events[0].detail as { summary: { container: string } }).summary.container).toBe('mp3');
  });

  it('every event this run published is valid against the schema', () => {
    expect(stack.eventBus.events.length).toBeGreaterThan(20);
    const invalid = stack.eventBus.events.map((event) => ({ event, errors: outcomeEventErrors(event) })).filter((e) => e.errors.length);
    expect(invalid).toEqual([]);
  });
});
