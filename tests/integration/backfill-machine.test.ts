/**
 * The backfill state machine's real ASL on the local interpreter, over the real local stack without
 * its pipe: a Distributed Map over parallel-scan segments whose children page through their
 * segment with the real select function and run the real Express analysis machine on each batch.
 * 300 rows; each mode selects exactly its rows, the Map Run is counted, a bad input fails early.
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BatchWriteItemCommand, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { itemToRow, type PlainRow, rowToItem } from '../../cli/rows';
import { BACKFILL_MODES, PAGE_ROWS } from '../../functions/lib/backfill';
import { MEDIA_SCHEMA_VERSION } from '../../functions/lib/media-schema';
import { type LocalStack, startLocalStack } from '../../local/stack';

jest.setTimeout(240_000);

const ROOT = path.resolve(__dirname, '../..');
const FIRST_ID = 800_000;
const ROWS = 300;
/** Rows whose object is missing at first: they end FAILED, then succeed once it is uploaded. */
const MISSING = [FIRST_ID + 7, FIRST_ID + 150, FIRST_ID + 299];
/** Rows with an analysis before the backfill: only-missing leaves them alone. */
const ANALYSED_BEFORE = [FIRST_ID + 10, FIRST_ID + 11];
const SEGMENTS = 6;
/**
 * Where the missing objects are uploaded later: a bucket whose object events the local stack does
 * not deliver, so that only the failed backfill, not an upload, gets those rows analysed again.
 */
const UNWATCHED_BUCKET = 'media-probe-backfill-unwatched';

let stack: LocalStack;
const ids = Array.from({ length: ROWS }, (_, i) => FIRST_ID + i);

async function row(id: number): Promise<PlainRow> {
  const found = await stack.dynamodb.send(
    new GetItemCommand({ TableName: stack.tableName, Key: { movie_id: { N: String(id) } }, ConsistentRead: true }),
  );
  return itemToRow(found.Item ?? {});
}

const analysisOf = (r: PlainRow) => r.analysis as { status?: string; execution?: string; started_at?: string } | undefined;

async function analyses(): Promise<Map<number, ReturnType<typeof analysisOf>>> {
  const found = new Map<number, ReturnType<typeof analysisOf>>();
  for (const id of ids) found.set(id, analysisOf(await row(id)));
  return found;
}

async function runBackfill(input: unknown) {
  const { executionArn, result } = stack.backfillMachine.startExecution(input);
  const outcome = await result;
  return { outcome, record: stack.backfillMachine.describe(executionArn) };
}

beforeAll(async () => {
  stack = await startLocalStack({ repositoryRoot: ROOT, withPipe: false, retryIntervalScale: 0.01 });
  await stack.s3.send(new CreateBucketCommand({ Bucket: UNWATCHED_BUCKET }));
  await stack.s3.send(
    new PutObjectCommand({
      Bucket: stack.mediaBucket,
      Key: 'backfill/ambience.wav',
      Body: readFileSync(path.join(ROOT, 'samples/ambience.wav')),
    }),
  );
  const rows = ids.map((id) => ({
    movie_id: id,
    movie_title: `asset ${id}`,
    S3_bucket: MISSING.includes(id) ? UNWATCHED_BUCKET : stack.mediaBucket,
    S3_object: MISSING.includes(id) ? `backfill/missing-${id}.wav` : 'backfill/ambience.wav',
    ...(ANALYSED_BEFORE.includes(id)
      ? {
          analysis: { status: 'SUCCEEDED', execution: 'earlier', started_at: '2026-01-01T00:00:00Z' },
          media: { schema_version: MEDIA_SCHEMA_VERSION, format_name: 'wav' },
        }
      : {}),
  }));
  for (let i = 0; i < rows.length; i += 25) {
    await stack.dynamodb.send(
      new BatchWriteItemCommand({
        RequestItems: { [stack.tableName]: rows.slice(i, i + 25).map((r) => ({ PutRequest: { Item: rowToItem(r) } })) },
      }),
    );
  }
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

test('only-missing analyses exactly the rows without an analysis, across every segment, through the Express machine', async () => {
  const { outcome, record } = await runBackfill({ mode: 'only-missing', segments: SEGMENTS, concurrency: 3 });
  expect(outcome).toMatchObject({ status: 'SUCCEEDED' });

  // One result per segment, in segment order; together they read the whole table once.
  const results = outcome.output as Array<{ segment: number; rows: { scanned: number; selected: number; too_large: number } }>;
  expect(results.map((r) => r.segment)).toEqual([...Array(SEGMENTS).keys()]);
  const sum = (key: 'scanned' | 'selected' | 'too_large') => results.reduce((n, r) => n + r.rows[key], 0);
  expect(sum('scanned')).toBe(ROWS);
  expect(sum('selected')).toBe(ROWS - ANALYSED_BEFORE.length);
  expect(sum('too_large')).toBe(0);
  // Some segment held more than a page: the child went round its loop.
  expect(Math.max(...results.map((r) => r.rows.selected))).toBeGreaterThan(PAGE_ROWS / 2);

  expect(record?.mapRuns).toHaveLength(1);
  expect(record?.mapRuns[0]).toMatchObject({
    status: 'SUCCEEDED',
    itemCounts: { total: SEGMENTS, succeeded: SEGMENTS, failed: 0, running: 0, pending: 0 },
  });
  expect(record?.mapRuns[0].mapRunArn).toMatch(/:mapRun:media-probe-local-backfill\/segments:/);

  const found = await analyses();
  for (const id of ids) {
    if (ANALYSED_BEFORE.includes(id)) expect(found.get(id)).toMatchObject({ execution: 'earlier' });
    else if (MISSING.includes(id))
      expect(found.get(id)).toMatchObject({ status: 'FAILED', error: { step: 'presign', type: 'ObjectNotFoundError' } });
    else expect(found.get(id)).toMatchObject({ status: 'SUCCEEDED' });
  }
  // Each row analysed by an execution of the analysis machine, as the pipe would have started it.
  expect(found.get(FIRST_ID)?.execution).toContain(':express:media-probe-local:');

  const again = await runBackfill({ mode: 'only-missing', segments: SEGMENTS });
  expect((again.outcome.output as Array<{ rows: { selected: number } }>).every((r) => r.rows.selected === 0)).toBe(true);
});

test('failed, stale and older-schema each select only their rows', async () => {
  for (const id of MISSING) {
    await stack.s3.send(
      new PutObjectCommand({
        Bucket: UNWATCHED_BUCKET,
        Key: `backfill/missing-${id}.wav`,
        Body: readFileSync(path.join(ROOT, 'samples/ambience.wav')),
      }),
    );
  }
  const before = await analyses();
  const failed = await runBackfill({ mode: 'failed', segments: 2 });
  expect(failed.outcome.status).toBe('SUCCEEDED');
  const afterFailed = await analyses();
  const changed = (a: typeof before, b: typeof before) => ids.filter((id) => a.get(id)?.execution !== b.get(id)?.execution);
  expect(changed(before, afterFailed)).toEqual(MISSING);
  for (const id of MISSING) expect(afterFailed.get(id)?.status).toBe('SUCCEEDED');

  // Re-pointed with UpdateItem after its analysis: STALE. And a summary of an older version.
  const stale = FIRST_ID + 20;
  const older = FIRST_ID + 30;
  await stack.s3.send(
    new PutObjectCommand({
      Bucket: stack.mediaBucket,
      Key: 'backfill/other.mp3',
      Body: readFileSync(path.join(ROOT, 'samples/theme.mp3')),
    }),
  );
  await stack.dynamodb.send(
    new UpdateItemCommand({
      TableName: stack.tableName,
      Key: { movie_id: { N: String(stale) } },
      UpdateExpression: 'SET S3_object = :key',
      ExpressionAttributeValues: { ':key': { S: 'backfill/other.mp3' } },
    }),
  );
  await stack.dynamodb.send(
    new UpdateItemCommand({
      TableName: stack.tableName,
      Key: { movie_id: { N: String(older) } },
      UpdateExpression: 'SET media.schema_version = :old',
      ExpressionAttributeValues: { ':old': { N: String(MEDIA_SCHEMA_VERSION - 1) } },
    }),
  );
  const staleRun = await runBackfill({ mode: 'stale', segments: 3 });
  expect(staleRun.outcome.status).toBe('SUCCEEDED');
  const afterStale = await analyses();
  expect(changed(afterFailed, afterStale)).toEqual([stale]);
  expect(((await row(stale)).media as { format_name?: string }).format_name).toBe('mp3');

  const olderRun = await runBackfill({ mode: 'older-schema', segments: 3 });
  expect(olderRun.outcome.status).toBe('SUCCEEDED');
  expect(changed(afterStale, await analyses())).toEqual([older]);
  expect(((await row(older)).media as { schema_version?: number }).schema_version).toBe(MEDIA_SCHEMA_VERSION);
});

test('a bad input fails before any segment starts, naming what is wrong', async () => {
  for (const input of [
    { mode: 'everything' },
    { segments: 0 },
    { segments: 1001 },
    { concurrency: 'many' },
    { tolerated_failure_percentage: 101 },
  ]) {
    const { outcome, record } = await runBackfill(input);
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'InvalidBackfillInputError' });
    expect(outcome.cause).toContain(BACKFILL_MODES.join(', '));
    expect(record?.mapRuns).toEqual([]);
  }
});

test('a stopped backfill ends ABORTED with its Map Run and the analysis it waited for', async () => {
  const { executionArn, result } = stack.backfillMachine.startExecution({ mode: 'all', segments: 4, concurrency: 1 });
  const deadline = Date.now() + 30_000;
  while (!stack.backfillMachine.describe(executionArn)?.mapRuns[0]?.itemCounts.running && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  stack.backfillMachine.stop(executionArn, undefined, 'stopped by the test');
  const outcome = await result;
  expect(outcome).toMatchObject({ status: 'ABORTED', error: 'States.Aborted', cause: 'stopped by the test' });
  const record = stack.backfillMachine.describe(executionArn);
  expect(record).toMatchObject({ status: 'ABORTED', cause: 'stopped by the test' });
  expect(record?.mapRuns[0].status).toBe('ABORTED');
  const counts = record?.mapRuns[0].itemCounts;
  expect(counts?.succeeded).toBeLessThan(4);
  // Every segment not ended is counted aborted, none left running.
  expect(counts).toMatchObject({ running: 0, pending: 0, total: 4 });
  expect((counts?.succeeded ?? 0) + (counts?.failed ?? 0) + (counts?.aborted ?? 0)).toBe(4);
  // The analysis execution the stopped child waited for is stopped with it.
  const stopDeadline = Date.now() + 5_000;
  while (stack.stateMachine.running && Date.now() < stopDeadline) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(stack.stateMachine.running).toBe(0);
});
