/**
 * The operator commands as an operator runs them: the real CLI in child processes against
 * `media-probe up --no-pipe` (so nothing is analysed unless a command starts it), on 200 rows.
 */

import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  BatchWriteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { itemToRow, type PlainRow, rowToItem } from '../../cli/rows';
import { LOCAL_CREDENTIALS } from '../../local/components/constants';
import type { LocalConnection } from '../../local/connection';

jest.setTimeout(120_000);

const ROOT = path.resolve(__dirname, '../..');
const NODE = path.join(ROOT, 'node_modules/.bin/node');
const CLI = path.join(ROOT, 'cli/bin/media-probe.js');
const SAMPLES = path.join(ROOT, 'samples');
const ROWS = 200;
const THROUGH_PUT = [1, 2, 3, 4, 5];
/** Rows whose object is never uploaded, and one that is not media: the failures expected. */
const MISSING = [13, 77, 150];
const NOT_MEDIA = 42;
/** A row analysed before this run: backfill --only-missing must leave it alone. */
const ANALYSED_BEFORE = 1000;

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'media-probe-operator-'));
let up: ChildProcess;
let upOutput = '';
let upExit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
let connection: LocalConnection;
let dynamodb: DynamoDBClient;
let s3: S3Client;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `media-probe ARGS --local --data <dataDir>` and resolves with its status and output, whatever the status. */
function cli(...args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      NODE,
      [CLI, ...args, '--local', '--data', dataDir],
      { cwd: ROOT, maxBuffer: 16 * 1024 * 1024, timeout: 90_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

const objectKey = (id: number) =>
  MISSING.includes(id) ? `ops/missing-${id}.wav` : id === NOT_MEDIA ? 'ops/shot-list.txt' : 'ops/ambience.wav';

function row(id: number): PlainRow {
  return { movie_id: id, movie_title: `asset ${id}`, S3_bucket: connection.mediaBucket, S3_object: objectKey(id) };
}

async function upload(key: string, file: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: connection.mediaBucket, Key: key, Body: readFileSync(path.join(SAMPLES, file)) }));
}

async function readRows(ids: number[]): Promise<Map<number, PlainRow>> {
  const found = new Map<number, PlainRow>();
  for (let i = 0; i < ids.length; i += 100) {
    let keys: Array<Record<string, AttributeValue>> | undefined = ids.slice(i, i + 100).map((id) => ({ movie_id: { N: String(id) } }));
    while (keys?.length) {
      const page: BatchGetItemCommandOutput = await dynamodb.send(
        new BatchGetItemCommand({ RequestItems: { [connection.tableName]: { Keys: keys, ConsistentRead: true } } }),
      );
      for (const item of page.Responses?.[connection.tableName] ?? []) found.set(Number(item.movie_id.N), itemToRow(item));
      keys = page.UnprocessedKeys?.[connection.tableName]?.Keys;
    }
  }
  return found;
}

async function readRow(id: number): Promise<PlainRow | undefined> {
  const { Item } = await dynamodb.send(
    new GetItemCommand({ TableName: connection.tableName, Key: { movie_id: { N: String(id) } }, ConsistentRead: true }),
  );
  return Item && itemToRow(Item);
}

const statusOf = (r: PlainRow | undefined) => (r?.analysis as { status?: string } | undefined)?.status;

/** The pids of the DynamoDB Local processes (supervisor and JVM) serving this test's data directory. */
function dynamoDbLocalPids(): number[] {
  const found = spawnSync('pgrep', ['-f', `media-probe.component=DynamoDBLocal .*-dbPath ${path.join(dataDir, 'dynamodb')}`], {
    encoding: 'utf8',
  });
  return found.stdout.split('\n').filter(Boolean).map(Number);
}

beforeAll(async () => {
  up = spawn(NODE, [CLI, 'up', '--no-pipe', '--data', dataDir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  up.stdout?.on('data', (chunk: Buffer) => (upOutput += chunk.toString()));
  up.stderr?.on('data', (chunk: Buffer) => (upOutput += chunk.toString()));
  upExit = new Promise((resolve) => up.once('exit', (code, signal) => resolve({ code, signal })));
  const endpoints = path.join(dataDir, 'endpoints.json');
  const deadline = Date.now() + 90_000;
  while (!existsSync(endpoints)) {
    if (up.exitCode !== null || Date.now() > deadline) throw new Error(`media-probe up did not publish its endpoints:\n${upOutput}`);
    await sleep(100);
  }
  connection = JSON.parse(readFileSync(endpoints, 'utf8')) as LocalConnection;
  dynamodb = new DynamoDBClient({ region: connection.region, credentials: LOCAL_CREDENTIALS, endpoint: connection.endpoints.dynamodb });
  s3 = new S3Client({ region: connection.region, credentials: LOCAL_CREDENTIALS, endpoint: connection.endpoints.s3, forcePathStyle: true });
  await upload('ops/ambience.wav', 'ambience.wav');
  await upload('ops/shot-list.txt', 'shot-list.txt');
}, 120_000);

afterAll(async () => {
  dynamodb?.destroy();
  s3?.destroy();
  const pids = dynamoDbLocalPids();
  up.kill('SIGINT');
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([upExit, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 30_000)))]);
  clearTimeout(timer);
  if (exit === 'timeout') up.kill('SIGKILL');
  let remaining = dynamoDbLocalPids();
  for (let i = 0; i < 50 && remaining.length; i++) {
    await sleep(200);
    remaining = dynamoDbLocalPids();
  }
  rmSync(dataDir, { recursive: true, force: true });
  expect(pids.length).toBeGreaterThan(0);
  expect(exit).not.toBe('timeout');
  // `up` ends on its own after Ctrl-C: a clean exit, or the conventional death by SIGINT once its resources are stopped.
  expect(exit === 'timeout' || exit.code === 0 || exit.signal === 'SIGINT').toBe(true);
  expect(remaining).toEqual([]);
});

describe('up', () => {
  test('prints the local credentials and an export line with which the AWS CLI and SDKs reach the local stack', async () => {
    for (let i = 0; i < 100 && !/^\s*export /m.test(upOutput); i++) await sleep(100);
    const exportLine = upOutput.split('\n').find((line) => /^\s*export /.test(line));
    expect(exportLine).toBeDefined();
    const exported = Object.fromEntries(
      (exportLine ?? '')
        .trim()
        .split(/\s+/)
        .slice(1)
        .map((assignment) => assignment.split('=', 2)),
    );
    expect(exported).toEqual({
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_REGION: connection.region,
      AWS_DEFAULT_REGION: connection.region,
      AWS_ENDPOINT_URL_S3: connection.endpoints.s3,
      AWS_ENDPOINT_URL_DYNAMODB: connection.endpoints.dynamodb,
    });
    expect(upOutput).toContain(LOCAL_CREDENTIALS.secretAccessKey);

    // A process configured by that line alone (no AWS settings of this machine) uploads and reads the table with the SDK's defaults.
    const withoutAws = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_')));
    const script = `
      const { S3Client, PutObjectCommand } = require('@aws-sdk/client-s3');
      const { DynamoDBClient, DescribeTableCommand } = require('@aws-sdk/client-dynamodb');
      (async () => {
        await new S3Client({}).send(new PutObjectCommand({ Bucket: ${JSON.stringify(connection.mediaBucket)}, Key: 'up/export-line.txt', Body: 'exported' }));
        const { Table } = await new DynamoDBClient({}).send(new DescribeTableCommand({ TableName: ${JSON.stringify(connection.tableName)} }));
        process.stdout.write(Table.TableStatus);
      })().catch((err) => { console.error(err.name, err.message); process.exit(1); });`;
    const child = await new Promise<Result>((resolve) => {
      execFile(
        NODE,
        ['-e', script],
        {
          cwd: ROOT,
          timeout: 60_000,
          env: {
            ...withoutAws,
            ...exported,
            AWS_CONFIG_FILE: path.join(dataDir, 'none'),
            AWS_SHARED_CREDENTIALS_FILE: path.join(dataDir, 'none'),
          },
        },
        (error, stdout, stderr) => resolve({ code: error ? 1 : 0, stdout, stderr }),
      );
    });
    expect(child).toEqual({ code: 0, stdout: 'ACTIVE', stderr: '' });
    const uploaded = await s3.send(new GetObjectCommand({ Bucket: connection.mediaBucket, Key: 'up/export-line.txt' }));
    expect(await uploaded.Body?.transformToString()).toBe('exported');
  });
});

describe('put', () => {
  test('inserts rows, and refuses to overwrite one without --replace', async () => {
    for (const id of THROUGH_PUT) {
      const r = row(id);
      const result = await cli(
        'put',
        '--id',
        String(id),
        '--title',
        String(r.movie_title),
        '--bucket',
        String(r.S3_bucket),
        '--key',
        String(r.S3_object),
      );
      expect(result).toMatchObject({ code: 0, stdout: expect.stringContaining(`inserted row ${id}`) });
    }
    // The other rows through the SDK, 25 per request: 200 child processes would take most of the time budget.
    const rest = Array.from({ length: ROWS }, (_, i) => i + 1).filter((id) => !THROUGH_PUT.includes(id));
    for (let i = 0; i < rest.length; i += 25) {
      const requests = rest.slice(i, i + 25).map((id) => ({ PutRequest: { Item: rowToItem(row(id)) } }));
      await dynamodb.send(new BatchWriteItemCommand({ RequestItems: { [connection.tableName]: requests } }));
    }
    const earlier = {
      status: 'SUCCEEDED',
      execution: 'earlier',
      started_at: '2026-01-01T00:00:00.000Z',
      finished_at: '2026-01-01T00:00:01.000Z',
      steps: {},
    };
    await dynamodb.send(
      new PutItemCommand({ TableName: connection.tableName, Item: rowToItem({ ...row(ANALYSED_BEFORE), analysis: earlier }) }),
    );

    const refused = await cli('put', '--id', '3', '--title', 'overwritten', '--bucket', connection.mediaBucket, '--key', 'ops/other.wav');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('row 3 ("asset 3") already exists in media-probe-local; pass --replace to overwrite it');
    expect(await readRow(3)).toEqual(row(3));

    const replaced = await cli(
      'put',
      '--id',
      '4',
      '--title',
      'asset 4, replaced',
      '--bucket',
      connection.mediaBucket,
      '--key',
      'ops/ambience.wav',
      '--replace',
    );
    expect(replaced.code).toBe(0);
    expect(replaced.stdout).toContain('replaced row 4 (was "asset 4")');
    expect(replaced.stderr).toContain('the pipe analyses the replaced row (its MODIFY carries no analysis)');
    expect(replaced.stderr).toContain('npx media-probe reanalyze --id 4 --local');
    expect((await readRow(4))?.movie_title).toBe('asset 4, replaced');
  });
});

describe('backfill', () => {
  const all = Array.from({ length: ROWS }, (_, i) => i + 1);

  test('--dry-run lists the rows without an analysis and starts nothing', async () => {
    const result = await cli('backfill', '--dry-run');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`found ${ROWS} rows without an analysis`);
    expect(result.stdout).toContain(`would start ${ROWS / 10} executions`);
    const listed = result.stdout
      .split('\n')
      .slice(1)
      .join(',')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map(Number);
    expect(listed).toEqual(all);
    const rows = await readRows(all);
    expect([...rows.values()].filter((r) => r.analysis)).toEqual([]);
  });

  test('--only-missing analyses exactly the rows without an analysis; a second run finds nothing to do', async () => {
    const result = await cli('backfill', '--only-missing', '--rate', '20', '--concurrency', '4');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      `found ${ROWS}, started ${ROWS} in ${ROWS / 10} executions, skipped 0 (changed since the scan), failed to start 0`,
    );
    // stderr is not a terminal here: plain progress lines, the last one complete.
    expect(result.stderr).toMatch(new RegExp(`backfill: ${ROWS}/${ROWS} rows · ${ROWS / 10} executions · .* · done`));

    const deadline = Date.now() + 90_000;
    let rows = await readRows(all);
    while ([...rows.values()].some((r) => !r.analysis) && Date.now() < deadline) {
      await sleep(500);
      rows = await readRows(all);
    }
    const failed = all.filter((id) => statusOf(rows.get(id)) === 'FAILED');
    const succeeded = all.filter((id) => statusOf(rows.get(id)) === 'SUCCEEDED');
    expect(failed).toEqual([...MISSING, NOT_MEDIA].sort((a, b) => a - b));
    expect(succeeded).toHaveLength(ROWS - failed.length);
    for (const id of MISSING) expect(rows.get(id)?.analysis).toMatchObject({ error: { step: 'presign', type: 'ObjectNotFoundError' } });
    expect(rows.get(NOT_MEDIA)?.analysis).toMatchObject({ error: { step: 'ffprobe', type: 'NotMediaError' } });
    expect((rows.get(1)?.media as { format_name?: string } | undefined)?.format_name).toBe('wav');
    expect(String((rows.get(1)?.analysis as { execution?: string } | undefined)?.execution)).toContain(':backfill-');
    expect((await readRow(ANALYSED_BEFORE))?.analysis).toMatchObject({ execution: 'earlier' });

    const again = await cli('backfill', '--only-missing');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to do: found no rows without an analysis');

    // `up` shows each outcome event as it is published, and keeps them in events.jsonl.
    const eventsFile = path.join(dataDir, 'events.jsonl');
    const eventsDeadline = Date.now() + 10_000;
    while (!/movie_id 200 /.test(upOutput) && Date.now() < eventsDeadline) await sleep(100);
    expect(upOutput).toMatch(
      new RegExp(`event  Media Analysis Succeeded  movie_id 1  ${connection.mediaBucket}/ops/ambience\\.wav  wav, `),
    );
    expect(upOutput).toContain(
      `event  Media Analysis Failed  movie_id ${NOT_MEDIA}  ${connection.mediaBucket}/ops/shot-list.txt  ffprobe NotMediaError`,
    );
    const logged = readFileSync(eventsFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(
      logged
        .filter((e) => all.includes(e.detail.movie_id))
        .map((e) => e.detail.movie_id)
        .sort((a, b) => a - b),
    ).toEqual(all);
  });
});

describe('status and reanalyze', () => {
  const failedIds = [...MISSING, NOT_MEDIA].sort((a, b) => a - b);

  test('status --failed --json lists exactly the failed rows, with their reasons', async () => {
    const result = await cli('status', '--failed', '--json');
    expect(result.code).toBe(0);
    const listed = JSON.parse(result.stdout) as Array<{ movie_id: number; error: { type: string } }>;
    expect(listed.map((r) => r.movie_id)).toEqual(failedIds);
    expect(listed.find((r) => r.movie_id === NOT_MEDIA)?.error.type).toBe('NotMediaError');
  });

  test('status summarises the table by outcome', async () => {
    const json = await cli('status', '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      total: ROWS + 1,
      counts: { SUCCEEDED: ROWS + 1 - failedIds.length, FAILED: failedIds.length, STALE: 0, NOT_ANALYSED: 0 },
    });
    const text = await cli('status', '--limit', '2');
    expect(text.stdout).toContain(`table media-probe-local on the local stack (${dataDir}): ${ROWS + 1} rows`);
    expect(text.stdout).toContain(`failed rows (${failedIds.length}):`);
    expect(text.stdout).toContain(`… and ${failedIds.length - 2} more`);
  });

  test('once the object is uploaded, reanalyze turns a failed row SUCCEEDED, and status --id shows it', async () => {
    const id = MISSING[0];
    await upload(objectKey(id), 'ambience.wav');
    const result = await cli('reanalyze', '--id', String(id), '--wait', '--timeout', '60');
    expect(result.stderr).toBe(`waiting for 1 row to record the new analysis…\n`);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`started arn:aws:states:[^ ]+:reanalyze-[^ ]+ for row ${id}\\n`));
    expect(result.stdout).toMatch(new RegExp(`${id} +asset ${id} +SUCCEEDED +wav · 1.0 s · pcm_s16le 1 ch 16000 Hz`));

    const status = await cli('status', '--id', String(id), '--json');
    expect(status.code).toBe(0);
    const shown = JSON.parse(status.stdout);
    expect(shown).toMatchObject({
      movie_id: id,
      status: 'SUCCEEDED',
      summary: 'wav · 1.0 s · pcm_s16le 1 ch 16000 Hz',
      media: { format_name: 'wav' },
    });
    expect(shown.analysis.execution).toContain(':reanalyze-');
    expect(shown).not.toHaveProperty('ffprobe_output');
    expect(shown.ffprobe_output_bytes).toBeGreaterThan(0);
  });

  test('a row re-pointed after its analysis is STALE, and backfill --stale analyses exactly it again', async () => {
    const id = 1;
    await upload('ops/ambience-copy.wav', 'ambience.wav');
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: connection.tableName,
        Key: { movie_id: { N: String(id) } },
        UpdateExpression: 'SET S3_object = :k',
        ExpressionAttributeValues: { ':k': { S: 'ops/ambience-copy.wav' } },
      }),
    );
    const one = await cli('status', '--id', String(id), '--json');
    expect(JSON.parse(one.stdout)).toMatchObject({ status: 'STALE', analysis: { object: { key: 'ops/ambience.wav' } } });
    const text = await cli('status', '--id', String(id));
    expect(text.stdout).toContain('the row was re-pointed after its analysis');
    expect(JSON.parse((await cli('status', '--json')).stdout).counts.STALE).toBe(1);

    const backfill = await cli('backfill', '--stale', '--rate', '20');
    expect(backfill.code).toBe(0);
    expect(backfill.stdout).toContain('found 1, started 1 in 1 execution, skipped 0');
    const deadline = Date.now() + 60_000;
    let analysed = await readRow(id);
    const analysedKey = () => (analysed?.analysis as { object?: { key?: string } } | undefined)?.object?.key;
    while (analysedKey() !== 'ops/ambience-copy.wav' && Date.now() < deadline) {
      await sleep(500);
      analysed = await readRow(id);
    }
    expect(analysed?.analysis).toMatchObject({ status: 'SUCCEEDED', object: { key: 'ops/ambience-copy.wav' } });
    expect(JSON.parse((await cli('status', '--json')).stdout).counts.STALE).toBe(0);
  });

  test('a row that does not exist is a clear error', async () => {
    const status = await cli('status', '--id', '99999');
    expect(status.code).toBe(1);
    expect(status.stderr).toBe(`media-probe status: row 99999 does not exist in table media-probe-local on the local stack (${dataDir})\n`);
    const reanalyze = await cli('reanalyze', '--id', '99999', '--id', '7');
    expect(reanalyze.code).toBe(1);
    expect(reanalyze.stderr).toContain('no row with movie_id 99999 in table media-probe-local');
    expect(reanalyze.stderr).toContain('nothing was started');
  });
});

describe('resummarise', () => {
  /** A row analysed under an older summary version, its ffprobe JSON kept, its object nowhere to be read. */
  const analysed = (id: number, extra: PlainRow) => ({
    movie_id: id,
    movie_title: `asset ${id}`,
    S3_bucket: connection.mediaBucket,
    S3_object: `ops/gone-${id}.mp4`,
    analysis: { status: 'SUCCEEDED', execution: `earlier-${id}`, started_at: '2026-01-01T00:00:00.000Z' },
    ...extra,
  });
  const fixture = (name: string) => readFileSync(path.join(ROOT, 'tests/unit/fixtures/ffprobe-5.1', name), 'utf8');

  test('rebuilds the summary of older rows from the JSON they keep, inline or in the results bucket, and reads no media', async () => {
    const inline = fixture('hdr10-hevc.mp4.json');
    const stored = fixture('surround.mkv.json');
    const location = `s3://${connection.resultsBucket}/ffprobe-output/3002/earlier.json`;
    const uri = new URL(location);
    await s3.send(new PutObjectCommand({ Bucket: uri.hostname, Key: uri.pathname.slice(1), Body: stored }));
    const rows = [
      analysed(3001, {
        media: { format_name: 'mov,mp4,m4a,3gp,3g2,mj2', faststart: true, video: [], audio: [], subtitles: [] },
        ffprobe_output: inline,
      }),
      analysed(3002, { media: { format_name: 'matroska,webm', video: [], audio: [], subtitles: [] }, ffprobe_output_location: location }),
      analysed(3003, { media: { schema_version: 2, format_name: 'current' }, ffprobe_output: inline }),
      {
        ...analysed(3004, { ffprobe_output: inline }),
        analysis: { status: 'FAILED', execution: 'earlier-3004', started_at: '2026-01-01T00:00:00.000Z' },
      },
    ];
    for (const r of rows) await dynamodb.send(new PutItemCommand({ TableName: connection.tableName, Item: rowToItem(r) }));

    const run = await cli('resummarise');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^found 2, rebuilt 2, skipped 0 \(current or changed since the scan\), failed 0$/m);
    const after = await readRows([3001, 3002, 3003, 3004]);
    const media = (id: number) => after.get(id)?.media as Record<string, any>;
    expect(media(3001)).toMatchObject({ schema_version: 2, format_name: 'mov,mp4,m4a,3gp,3g2,mj2', faststart: true });
    expect(media(3001).video[0].hdr.formats).toContain('HDR10');
    expect(media(3002)).toMatchObject({ schema_version: 2, format_name: 'matroska,webm' });
    expect(media(3002).audio[0].channels).toBe(6);
    expect(after.get(3001)?.analysis).toEqual(rows[0].analysis);
    expect(media(3003)).toEqual({ schema_version: 2, format_name: 'current' });
    expect(media(3004)).toBeUndefined();

    const again = await cli('resummarise');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^nothing to do: found no rows with a summary older than version 2/);
  });
});

describe('backfill --distributed', () => {
  /** Every FAILED row of the table now, by id, with when its analysis started. */
  async function failedRows(): Promise<Map<number, string>> {
    const listed = await cli('status', '--failed', '--json');
    expect(listed.code).toBe(0);
    const ids = (JSON.parse(listed.stdout) as Array<{ movie_id: number }>).map((r) => r.movie_id);
    const rows = await readRows(ids);
    return new Map(ids.map((id) => [id, String((rows.get(id)?.analysis as { started_at?: string })?.started_at)]));
  }

  test("runs the stack's backfill state machine, follows its Map Run to the end and reports the rows", async () => {
    const before = await failedRows();
    expect(before.size).toBeGreaterThan(0);
    const result = await cli('backfill', '--distributed', '--failed', '--segments', '4', '--max-concurrency', '2');
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('started a backfill of 4 segments (mode failed) in Step Functions');
    expect(result.stdout).toContain(
      `execution: arn:aws:states:${connection.region}:000000000000:execution:media-probe-local-backfill:backfill-`,
    );
    expect(result.stdout).toMatch(new RegExp(`^backfill SUCCEEDED: read \\d+ rows, analysed ${before.size}$`, 'm'));
    // stderr is not a terminal here: plain progress lines, the last one complete.
    expect(result.stderr).toMatch(/backfill: 4\/4 segments · 0 running · .* · done/);
    // Each failed row analysed again (and failing again: its object is still missing), no other row touched.
    const after = await failedRows();
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [id, startedAt] of after) expect(startedAt > (before.get(id) as string)).toBe(true);
  });

  test('--stop with nothing running and --resume after a success say so and change nothing', async () => {
    const stop = await cli('backfill', '--distributed', '--stop');
    expect(stop).toMatchObject({ code: 0, stdout: 'no backfill is running\n' });
    const resume = await cli('backfill', '--distributed', '--resume');
    expect(resume.code).toBe(0);
    expect(resume.stdout).toMatch(/^nothing to resume: the latest backfill \(backfill-.*\) SUCCEEDED$/m);
  });

  test('--segments, --stop and --resume apply only with --distributed, which takes no --rate', async () => {
    for (const args of [['--segments', '4'], ['--stop'], ['--resume'], ['--distributed', '--rate', '3']]) {
      const result = await cli('backfill', ...args);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/only applies with --distributed|cannot be used with/);
    }
  });
});
