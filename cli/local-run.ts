/** Drives a local stack the way a user would: start it, upload files, insert rows, wait for every row's outcome, report. */
import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { StoredMediaSummary } from '../functions/lib/media-schema';
import { describeMedia } from '../functions/lib/media-summary';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../local/stack';
import { runPool } from '../util/pool';
import { Progress } from '../util/progress';
import { itemToRow, type Outcome, type PlainRow, recordedOutcome, rowToItem } from './rows';
import { getRows } from './table';
import { formatTable } from './table-format';

export const REPOSITORY_ROOT = path.resolve(__dirname, '..');
/** How long the local commands wait for every row's outcome unless told otherwise. */
export const DEFAULT_TIMEOUT_SECONDS = 300;
const POLL_MS = 250;

/** The local commands' messages go to stderr, so stdout holds only their results. */
export const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** Starts a local stack for the repository, runs `body`, and stops the stack whatever happens. */
export async function withStack<T>(
  options: Omit<LocalStackOptions, 'repositoryRoot' | 'log'>,
  body: (stack: LocalStack) => Promise<T>,
): Promise<T> {
  const stack = await startLocalStack({ repositoryRoot: REPOSITORY_ROOT, log, ...options });
  try {
    return await body(stack);
  } finally {
    await stack.stop();
  }
}

/** The pipe's counters for the report; zeros when the stack runs without its pipe. */
export function statsOf(stack: LocalStack) {
  const s = stack.pipe?.stats;
  return {
    stream_records: s?.stream_records ?? 0,
    filtered_out: s?.filtered_out ?? 0,
    records_delivered: s?.records_delivered ?? 0,
    executions: s?.executions ?? 0,
    failed_executions: s?.failed_executions ?? 0,
    succeeded: s?.succeeded ?? 0,
    failed: s?.failed ?? 0,
    left_alone: s?.left_alone ?? 0,
    dead_lettered: s?.dead_lettered ?? 0,
    peak_executions_in_flight: s?.peak_executions_in_flight ?? 0,
  };
}

/** Inserts the rows, waits for their outcomes with a progress line, and lets the pipe settle so its counters are final. */
export async function analyseRows(stack: LocalStack, rows: PlainRow[], timeoutSeconds: number): Promise<WaitResult> {
  await insertRows(stack, rows);
  log(`inserted ${rows.length} row${rows.length === 1 ? '' : 's'} into ${stack.tableName}; waiting for the pipe and the state machine…`);
  const progress = new Progress();
  const result = await waitForOutcomes(stack, rows, timeoutSeconds * 1000, (outcomes) => progress.update(progressLine(outcomes)));
  progress.finish(progressLine(result.outcomes));
  // Let the pipe see the pipeline's own MODIFY records before the stats are read.
  await stack.waitUntilIdle(30_000).catch(() => undefined);
  return result;
}

export interface LocalFile {
  /** Path relative to the directory, POSIX separators: the object key. */
  key: string;
  absolutePath: string;
  size: number;
}

/** Every regular file under a directory (symbolic links are not followed), in byte order of their keys. */
export async function listFiles(directory: string): Promise<LocalFile[]> {
  const files: LocalFile[] = [];
  const walk = async (dir: string, prefix: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const absolutePath = path.join(dir, entry.name);
      const key = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(absolutePath, key);
      else if (entry.isFile()) files.push({ key, absolutePath, size: (await lstat(absolutePath)).size });
    }
  };
  await walk(path.resolve(directory), '');
  return files.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
}

/** Uploads files to the local bucket with a few in flight, streaming each (no file is read whole). */
export async function uploadFiles(stack: LocalStack, bucket: string, files: LocalFile[], concurrency = 4): Promise<void> {
  await runPool(files, concurrency, async (file) => {
    await stack.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: file.key, Body: createReadStream(file.absolutePath), ContentLength: file.size }),
    );
  });
}

/** One row per file: movie_id 1…N in key order, the file name as title. */
export function rowsForFiles(bucket: string, files: LocalFile[]): PlainRow[] {
  return files.map((file, i) => ({ movie_id: i + 1, movie_title: path.posix.basename(file.key), S3_bucket: bucket, S3_object: file.key }));
}

export interface WaitResult {
  items: PlainRow[];
  outcomes: Map<string, Outcome>;
  complete: boolean;
}

function movieIdOf(row: PlainRow): string {
  const id = row.movie_id;
  if (typeof id !== 'number' && typeof id !== 'bigint') throw new Error(`every row needs a numeric movie_id (got ${JSON.stringify(id)})`);
  return String(id);
}

/** Inserts rows as they are. */
export async function insertRows(stack: LocalStack, rows: PlainRow[]): Promise<void> {
  for (const row of rows) {
    movieIdOf(row);
    await stack.dynamodb.send(new PutItemCommand({ TableName: stack.tableName, Item: rowToItem(row) }));
  }
}

async function readRows(stack: LocalStack, ids: string[]): Promise<Map<string, PlainRow>> {
  const items = await getRows(stack.dynamodb, stack.tableName, ids);
  return new Map([...items].map(([id, item]) => [id, itemToRow(item)]));
}

function deadLetteredIds(stack: LocalStack): Set<string> {
  const ids = new Set<string>();
  for (const entry of stack.deadLetters.entries()) {
    for (const record of entry.records) {
      const id = record?.dynamodb?.Keys?.movie_id?.N;
      if (id) ids.add(String(id));
    }
  }
  return ids;
}

/** Polls until every row has an outcome (recorded, or its record dead-lettered) or the timeout passes. */
export async function waitForOutcomes(
  stack: LocalStack,
  rows: PlainRow[],
  timeoutMs: number,
  progress?: (outcomes: Map<string, Outcome>) => void,
): Promise<WaitResult> {
  const ids = [...new Set(rows.map(movieIdOf))];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const items = await readRows(stack, ids);
    const dead = deadLetteredIds(stack);
    const outcomes = new Map<string, Outcome>();
    for (const id of ids) {
      const outcome = recordedOutcome(items.get(id));
      outcomes.set(id, outcome === 'PENDING' && dead.has(id) ? 'DEAD_LETTERED' : outcome);
    }
    progress?.(outcomes);
    const complete = [...outcomes.values()].every((o) => o !== 'PENDING');
    if (complete || Date.now() >= deadline) {
      const sorted = [...items.values()].sort((a, b) => Number(a.movie_id) - Number(b.movie_id));
      return { items: sorted, outcomes, complete };
    }
    await sleep(POLL_MS);
  }
}

/** Polls until each row records an analysis started after the one it had (`before`, by id), or the timeout passes. */
export async function waitForNewAnalyses(stack: LocalStack, before: PlainRow[], timeoutMs: number): Promise<WaitResult> {
  const startedAt = (row: PlainRow | undefined) => String((row?.analysis as { started_at?: string } | undefined)?.started_at ?? '');
  const previous = new Map(before.map((row) => [String(row.movie_id), startedAt(row)]));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const items = await readRows(stack, [...previous.keys()]);
    const renewed = [...previous].every(([id, then]) => startedAt(items.get(id)) > then);
    if (renewed || Date.now() >= deadline) {
      const outcomes = new Map([...previous.keys()].map((id) => [id, recordedOutcome(items.get(id))]));
      return { items: [...items.values()], outcomes, complete: renewed };
    }
    await sleep(POLL_MS);
  }
}

/** "3/7 done: 2 succeeded, 1 failed, 0 dead-lettered" */
export function progressLine(outcomes: Map<string, Outcome>): string {
  const count = (o: Outcome) => [...outcomes.values()].filter((v) => v === o).length;
  const done = outcomes.size - count('PENDING');
  return `${done}/${outcomes.size} done: ${count('SUCCEEDED')} succeeded, ${count('FAILED')} failed, ${count('DEAD_LETTERED')} dead-lettered`;
}

type StepCell = { status?: string; duration_ms?: number };

function stepCell(step: StepCell | undefined): string {
  if (!step?.status) return '-';
  const mark = step.status === 'SUCCEEDED' ? 'ok' : step.status === 'FAILED' ? 'FAILED' : 'skipped';
  return step.status === 'SKIPPED' ? mark : `${mark} ${step.duration_ms ?? 0} ms`;
}

/** The readable results table: status, each step's status and time, and a one-line summary or the error. */
export function resultsTable(rows: PlainRow[], result: WaitResult): string {
  const byId = new Map(result.items.map((item) => [String(item.movie_id), item]));
  const body = rows.map((row) => {
    const id = String(row.movie_id);
    const item = byId.get(id);
    const analysis = (item?.analysis ?? {}) as {
      steps?: Record<string, StepCell>;
      error?: { step: string; type: string; message: string };
    };
    const outcome = result.outcomes.get(id) ?? 'PENDING';
    const detail = analysis.error
      ? `${analysis.error.type} in ${analysis.error.step}: ${analysis.error.message}`
      : item?.media
        ? describeMedia(item.media as StoredMediaSummary)
        : outcome === 'DEAD_LETTERED'
          ? 'the outcome could not be recorded; the stream record is in the dead-letter store'
          : '';
    const title = String(row.movie_title ?? row.S3_object ?? '');
    return [
      id,
      title,
      outcome,
      stepCell(analysis.steps?.presign),
      stepCell(analysis.steps?.ffprobe),
      stepCell(analysis.steps?.update),
      detail,
    ];
  });
  return formatTable(['ID', 'TITLE', 'STATUS', 'PRESIGN', 'FFPROBE', 'UPDATE', 'MEDIA / ERROR'], body);
}
