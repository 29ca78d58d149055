/**
 * Metadata that follows the file: on the real local stack, the local S3 endpoint's Object Created /
 * Object Deleted events reach the real object-event function, which finds the rows through the
 * table's object index and has them analysed again (through the real state machine) or marks the
 * deletion on them.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { insertRows, waitForOutcomes } from '../../cli/local-run';
import { itemToRow, type PlainRow } from '../../cli/rows';
import { statusOf } from '../../cli/view';
import { OBJECT_INDEX_NAME } from '../../functions/lib/object-index';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { outcomeEventErrors } from '../support/outcome-schema';

jest.setTimeout(120_000);

const ROOT = path.resolve(__dirname, '../..');
const sample = (name: string) => readFileSync(path.join(ROOT, 'samples', name));
let stack: LocalStack;
let nextId = 900_000;

type Analysis = { status?: string; execution?: string; object?: { etag?: string }; object_state?: string; object_deleted_at?: string };
const analysisOf = (row: PlainRow) => row.analysis as Analysis;

async function row(id: unknown): Promise<PlainRow> {
  const found = await stack.dynamodb.send(
    new GetItemCommand({ TableName: stack.tableName, Key: { movie_id: { N: String(id) } }, ConsistentRead: true }),
  );
  return itemToRow(found.Item ?? {});
}

async function upload(key: string, body: Buffer): Promise<void> {
  await stack.s3.send(new PutObjectCommand({ Bucket: stack.mediaBucket, Key: key, Body: body }));
}

/** Waits until the object events are handled and the analyses they started have ended. */
async function settle(): Promise<void> {
  await stack.objectEvents.drain();
  while (stack.stateMachine.running) await sleep(50);
}

/** Rows for `key`, analysed by the pipe as inserted. */
async function analysedRows(key: string, count = 1): Promise<PlainRow[]> {
  const rows = Array.from({ length: count }, () => {
    const id = nextId++;
    return { movie_id: id, movie_title: `asset ${id}`, S3_bucket: stack.mediaBucket, S3_object: key };
  });
  await insertRows(stack, rows);
  expect((await waitForOutcomes(stack, rows, 60_000)).complete).toBe(true);
  await settle();
  return Promise.all(rows.map((r) => row(r.movie_id)));
}

beforeAll(async () => {
  stack = await startLocalStack({ repositoryRoot: ROOT, retryIntervalScale: 0.01 });
});

afterAll(async () => {
  await stack?.stop();
});

test('each analysed row carries object_uri, and the table has the sparse index on it', async () => {
  await upload('watch/indexed.wav', sample('ambience.wav'));
  const [analysed] = await analysedRows('watch/indexed.wav');
  expect(analysed.object_uri).toBe(`s3://${stack.mediaBucket}/watch/indexed.wav`);
  const found = await stack.dynamodb.send(
    new QueryCommand({
      TableName: stack.tableName,
      IndexName: OBJECT_INDEX_NAME,
      KeyConditionExpression: 'object_uri = :uri',
      ExpressionAttributeValues: { ':uri': { S: `s3://${stack.mediaBucket}/watch/indexed.wav` } },
    }),
  );
  // Keys only: the index is rewritten when a row's object changes, not on every analysis.
  expect(found.Items).toEqual([{ movie_id: { N: String(analysed.movie_id) }, object_uri: { S: analysed.object_uri } }]);
});

test('an overwrite is analysed again, every row pointing at the object, with the new identity', async () => {
  await upload('watch/master.wav', sample('ambience.wav'));
  const before = await analysedRows('watch/master.wav', 2);
  const published = stack.eventBus.events.length;
  await upload('watch/master.wav', sample('theme.mp3'));
  await settle();
  for (const old of before) {
    const now = await row(old.movie_id);
    expect(analysisOf(now).execution).not.toBe(analysisOf(old).execution);
    expect(analysisOf(now).object?.etag).not.toBe(analysisOf(old).object?.etag);
    expect((now.media as { format_name?: string }).format_name).toBe('mp3');
  }
  // Each re-analysis announced, as any outcome is.
  const announced = stack.eventBus.events.slice(published);
  expect(announced.map((e) => (e.detail as { movie_id: number }).movie_id).sort()).toEqual(before.map((r) => r.movie_id).sort());
  for (const event of announced) expect(outcomeEventErrors(event)).toEqual([]);
});

test('the same content uploaded again (same ETag) is not analysed again', async () => {
  await upload('watch/same.wav', sample('ambience.wav'));
  const [before] = await analysedRows('watch/same.wav');
  const invocations = stack.functions.ObjectEventFunction.invocations;
  await upload('watch/same.wav', sample('ambience.wav'));
  await settle();
  expect(stack.functions.ObjectEventFunction.invocations).toBe(invocations + 1);
  expect(analysisOf(await row(before.movie_id)).execution).toBe(analysisOf(before).execution);
});

test('a deletion is recorded on the row, never left as a silent stale success; a new upload is analysed', async () => {
  await upload('watch/gone.wav', sample('ambience.wav'));
  const [before] = await analysedRows('watch/gone.wav');
  await stack.s3.send(new DeleteObjectCommand({ Bucket: stack.mediaBucket, Key: 'watch/gone.wav' }));
  await settle();
  const deleted = await row(before.movie_id);
  expect(analysisOf(deleted)).toMatchObject({ status: 'SUCCEEDED', execution: analysisOf(before).execution, object_state: 'DELETED' });
  expect(analysisOf(deleted).object_deleted_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  expect(statusOf(deleted)).toBe('DELETED');

  // The same content back: the deletion is what changed, so it is analysed again and the mark goes.
  await upload('watch/gone.wav', sample('ambience.wav'));
  await settle();
  const back = await row(before.movie_id);
  expect(analysisOf(back).execution).not.toBe(analysisOf(before).execution);
  expect(analysisOf(back)).not.toHaveProperty('object_state');
  expect(statusOf(back)).toBe('SUCCEEDED');
});

test('a row that failed because its object was missing is analysed once the object is uploaded', async () => {
  const [failed] = await analysedRows('watch/later.wav');
  expect(analysisOf(failed).status).toBe('FAILED');
  await upload('watch/later.wav', sample('ambience.wav'));
  await settle();
  expect(analysisOf(await row(failed.movie_id)).status).toBe('SUCCEEDED');
});

test('a row re-pointed elsewhere is left alone when its former object changes', async () => {
  await upload('watch/former.wav', sample('ambience.wav'));
  const [before] = await analysedRows('watch/former.wav');
  await stack.dynamodb.send(
    new UpdateItemCommand({
      TableName: stack.tableName,
      Key: { movie_id: { N: String(before.movie_id) } },
      UpdateExpression: 'SET S3_object = :k',
      ExpressionAttributeValues: { ':k': { S: 'watch/elsewhere.wav' } },
    }),
  );
  await upload('watch/former.wav', sample('theme.mp3'));
  await settle();
  expect(analysisOf(await row(before.movie_id)).execution).toBe(analysisOf(before).execution);
  expect(stack.objectEvents.undelivered).toEqual([]);
});

describe('a replacement between the presign step and the probe', () => {
  const UNWATCHED = 'media-probe-unwatched';

  /** Inserts a row for `bucket/key`, replaces the object just before the ffprobe step's first read, and waits for the pipe to settle. */
  async function replacedMidAnalysis(bucket: string, key: string): Promise<{ id: number; first: string | undefined }> {
    await stack.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: sample('ambience.wav') }));
    let first: string | undefined;
    stack.functions.FfprobeFunction.beforeNext(async (event) => {
      first = (event as { if_match?: string }).if_match ?? undefined;
      await stack.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: sample('theme.mp3') }));
    });
    const id = nextId++;
    await insertRows(stack, [{ movie_id: id, movie_title: `asset ${id}`, S3_bucket: bucket, S3_object: key }]);
    await stack.waitUntilIdle();
    await settle();
    return { id, first };
  }

  test('records ObjectChangedError rather than describe a mix of two files, then the retried batch analyses the new content', async () => {
    await stack.s3.send(new CreateBucketCommand({ Bucket: UNWATCHED }));
    const { id, first } = await replacedMidAnalysis(UNWATCHED, 'replaced.wav');
    // The probe was handed the ETag presign saw; S3 refused the reads once it no longer matched.
    expect(first).toMatch(/^"[0-9a-f]{32}"$/);
    const announced = stack.eventBus.events.filter((e) => (e.detail as { movie_id: number }).movie_id === id);
    expect(announced.map((e) => e['detail-type'])).toEqual(['Media Analysis Failed', 'Media Analysis Succeeded']);
    expect(announced[0].detail).toMatchObject({
      object: { etag: first },
      error: { step: 'ffprobe', type: 'ObjectChangedError', message: expect.stringContaining('412 Precondition Failed') },
    });
    // The execution failed on purpose after recording it, and the pipe ran the batch again.
    const analysed = await row(id);
    expect(analysisOf(analysed).status).toBe('SUCCEEDED');
    expect(analysisOf(analysed).object?.etag).not.toBe(first);
    expect((analysed.media as { format_name?: string }).format_name).toBe('mp3');
    expect(stack.deadLetters.entries()).toEqual([]);
  });

  test('in a watched bucket it ends the same way: the new content analysed', async () => {
    const { id, first } = await replacedMidAnalysis(stack.mediaBucket, 'watch/replaced.wav');
    const analysed = await row(id);
    expect(analysisOf(analysed).status).toBe('SUCCEEDED');
    expect(analysisOf(analysed).object?.etag).not.toBe(first);
    expect((analysed.media as { format_name?: string }).format_name).toBe('mp3');
  });
});
