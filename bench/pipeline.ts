/**
 * End-to-end timing of the local pipeline (DynamoDB Local stream → local pipe → ASL → handlers →
 * UpdateItem): per asset from the insert to the recorded result, split into the ffprobe step and
 * everything else, for a burst of inserts (throughput, queueing included), full batches one at a
 * time (no queueing, no batching wait), single inserts (the pipe's batching window), and in the full
 * run a load of thousands of inserts (nothing lost, nothing spuriously failed).
 */

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type AttributeValue, ScanCommand } from '@aws-sdk/client-dynamodb';
import { insertRows, waitForOutcomes } from '../cli/local-run';
import type { PlainRow } from '../cli/rows';
import type { LocalStack } from '../local/stack';
import { localTemplate } from '../local/template';
import { median, percentile, sum } from './stats';

export interface AssetTiming {
  movieId: string;
  key: string;
  status: string;
  /** PutItem returned: the row exists and its INSERT is on the stream. */
  insertedAt: number;
  /** The Express execution's start ($$.Execution.StartTime, recorded as analysis.started_at). */
  startedAt: number;
  /** The update handler returned: its conditional UpdateItem has been applied. */
  recordedAt: number;
  ffprobeMs: number;
  presignMs: number;
  updateMs: number;
}

export interface ScenarioSummary {
  name: string;
  description: string;
  assets: number;
  failed: number;
  /** Inserted rows with no recorded result by the scenario's deadline. */
  lost: number;
  e2eMs: { p50: number; p95: number; max: number };
  ffprobeMs: { p50: number; p95: number };
  /** End-to-end minus the ffprobe step, per asset. */
  restMs: { p50: number; p95: number };
  /** Insert → execution start: stream polling, the batching window, waiting behind earlier batches. */
  pipeWaitMs: { p50: number; p95: number };
  /** Everything but the ffprobe step, as a share of end-to-end time: per asset (p50, p95) and over all assets. */
  restShare: { p50: number; p95: number; overall: number };
  /** The same share inside the execution only (start → recorded), i.e. without the pipe's wait. */
  executionRestShare: { p50: number; overall: number };
  /** Start → recorded minus the ffprobe step: presign, state transitions, update, per asset. */
  executionRestMs: { p50: number; p95: number };
  /** Assets recorded per second from the first insert to the last recorded result. */
  throughputPerSecond: number;
  wallMs: number;
}

type RecordedTimes = Map<string, number>;

/**
 * Notes when each row's result is applied by wrapping the update function's local invocation:
 * `analysis.finished_at` is stamped before the UpdateItem call, so it would leave the write out.
 */
export function watchRecordedResults(stack: LocalStack, repositoryRoot: string): RecordedTimes {
  const recorded: RecordedTimes = new Map();
  const update = localTemplate(path.join(repositoryRoot, 'template.yaml')).analysis.substitutions.UpdateFunctionArn;
  if (!update) throw new Error('template.yaml no longer substitutes UpdateFunctionArn; the benchmark cannot find the update function');
  const fn = stack.functions[update.logicalId];
  const invoke = fn.invoke.bind(fn);
  fn.invoke = async (event: unknown) => {
    const result = await invoke(event);
    const id = (result as { movie_id?: unknown } | null)?.movie_id;
    if (id !== undefined) recorded.set(String(id), Date.now());
    return result;
  };
  return recorded;
}

/** Waits until every row's result is recorded or the deadline passes; returns the rows still without one. */
async function untilRecorded(recorded: RecordedTimes, ids: string[], timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  while (ids.some((id) => !recorded.has(id)) && Date.now() <= deadline) await sleep(20);
  return ids.filter((id) => !recorded.has(id));
}

type StepTimes = { duration_ms?: number };
type Analysis = { status?: string; started_at?: string; steps?: Record<string, StepTimes> };

/** Inserts the groups one after another, each group as fast as PutItem allows, waiting for a group's results before the next. */
async function runGroups(
  stack: LocalStack,
  recorded: RecordedTimes,
  groups: PlainRow[][],
  timeoutMs: number,
): Promise<{ timings: AssetTiming[]; lost: string[]; wallMs: number }> {
  const started = Date.now();
  const timings: AssetTiming[] = [];
  const lost: string[] = [];
  for (const rows of groups) {
    const insertedAt = new Map<string, number>();
    for (const row of rows) {
      await insertRows(stack, [row]);
      insertedAt.set(String(row.movie_id), Date.now());
    }
    const missing = await untilRecorded(recorded, [...insertedAt.keys()], timeoutMs);
    lost.push(...missing);
    const { items } = await waitForOutcomes(
      stack,
      rows.filter((row) => !missing.includes(String(row.movie_id))),
      0,
    );
    for (const item of items) {
      const id = String(item.movie_id);
      const analysis = (item.analysis ?? {}) as Analysis;
      timings.push({
        movieId: id,
        key: String(item.S3_object),
        status: analysis.status ?? 'PENDING',
        insertedAt: insertedAt.get(id)!,
        startedAt: Date.parse(analysis.started_at ?? ''),
        recordedAt: recorded.get(id)!,
        ffprobeMs: analysis.steps?.ffprobe?.duration_ms ?? 0,
        presignMs: analysis.steps?.presign?.duration_ms ?? 0,
        updateMs: analysis.steps?.update?.duration_ms ?? 0,
      });
    }
  }
  return { timings, lost, wallMs: Date.now() - started };
}

export function summarise(name: string, description: string, timings: AssetTiming[], wallMs: number, lost = 0): ScenarioSummary {
  const e2e = timings.map((t) => t.recordedAt - t.insertedAt);
  const rest = timings.map((t) => t.recordedAt - t.insertedAt - t.ffprobeMs);
  const execution = timings.map((t) => t.recordedAt - t.startedAt);
  const first = Math.min(...timings.map((t) => t.insertedAt));
  const last = Math.max(...timings.map((t) => t.recordedAt));
  return {
    name,
    description,
    assets: timings.length + lost,
    failed: timings.filter((t) => t.status !== 'SUCCEEDED').length,
    lost,
    e2eMs: { p50: median(e2e), p95: percentile(e2e, 95), max: Math.max(...e2e) },
    ffprobeMs: {
      p50: median(timings.map((t) => t.ffprobeMs)),
      p95: percentile(
        timings.map((t) => t.ffprobeMs),
        95,
      ),
    },
    restMs: { p50: median(rest), p95: percentile(rest, 95) },
    pipeWaitMs: {
      p50: median(timings.map((t) => t.startedAt - t.insertedAt)),
      p95: percentile(
        timings.map((t) => t.startedAt - t.insertedAt),
        95,
      ),
    },
    restShare: {
      p50: median(rest.map((r, i) => r / e2e[i])),
      p95: percentile(
        rest.map((r, i) => r / e2e[i]),
        95,
      ),
      overall: sum(rest) / sum(e2e),
    },
    executionRestShare: {
      p50: median(timings.map((t, i) => (execution[i] - t.ffprobeMs) / execution[i])),
      overall: (sum(execution) - sum(timings.map((t) => t.ffprobeMs))) / sum(execution),
    },
    executionRestMs: {
      p50: median(timings.map((t, i) => execution[i] - t.ffprobeMs)),
      p95: percentile(
        timings.map((t, i) => execution[i] - t.ffprobeMs),
        95,
      ),
    },
    throughputPerSecond: timings.length / ((last - first) / 1000),
    wallMs,
  };
}

export interface PipelineOptions {
  keys: string[];
  /** Inserts of the load run (0: no load run), spread over `loadKeys`. */
  load: number;
  loadKeys: string[];
  burst: number;
  batchRounds: number;
  singles: number;
  batchSize: number;
  batchingWindowSeconds: number;
  /** Besides the template's: other PipeBatchingWindowSeconds values lone inserts are timed at. */
  otherBatchingWindows: number[];
}

/** Bytes the functions logged per analysed asset, by function (Lambda logical id), at one log level. */
export interface LogVolume {
  level: string;
  assets: number;
  bytesPerAsset: Record<string, number>;
}

export interface PipelineResult {
  scenarios: ScenarioSummary[];
  timings: Record<string, AssetTiming[]>;
  logs?: LogVolume[];
  /** The size of an analysed row, by object key, as DynamoDB counts it for write units (the largest of the rows of that key). */
  itemBytes?: Record<string, number>;
}

/** Runs the scenarios on a started stack whose media bucket holds `keys`. */
export async function benchmarkPipeline(
  stack: LocalStack,
  repositoryRoot: string,
  options: PipelineOptions,
  log: (line: string) => void,
): Promise<PipelineResult> {
  const recorded = watchRecordedResults(stack, repositoryRoot);
  let nextId = 1;
  const rows = (count: number, keys = options.keys): PlainRow[] =>
    Array.from({ length: count }, () => {
      const id = nextId++;
      const key = keys[id % keys.length];
      return { movie_id: id, movie_title: `bench ${key}`, S3_bucket: stack.mediaBucket, S3_object: key };
    });
  const timeoutMs = 600_000;
  const scenarios: ScenarioSummary[] = [];
  const timings: Record<string, AssetTiming[]> = {};
  const run = async (name: string, description: string, groups: PlainRow[][], deadlineMs = timeoutMs) => {
    log(`pipeline: ${name} (${groups.flat().length} inserts)…`);
    const result = await runGroups(stack, recorded, groups, deadlineMs);
    timings[name] = result.timings;
    scenarios.push(summarise(name, description, result.timings, result.wallMs, result.lost.length));
    // The pipeline's own MODIFY records are still on the stream; let the pipe filter them out first.
    await stack.waitUntilIdle(120_000);
  };

  // A full batch first, not reported: it loads the handlers (TypeScript transpiled on first require).
  log('pipeline: warm-up batch…');
  await runGroups(stack, recorded, [rows(options.batchSize)], timeoutMs);
  await stack.waitUntilIdle(120_000);

  await run('burst', `${options.burst} inserts at once (PutItem back to back); batches queue behind each other on the stream's shard`, [
    rows(options.burst),
  ]);
  await run(
    'full batches',
    `${options.batchRounds} rounds of ${options.batchSize} inserts (one full batch, sent without waiting for the batching window), each round after the previous one finished`,
    Array.from({ length: options.batchRounds }, () => rows(options.batchSize)),
  );
  await run(
    'single inserts',
    `${options.singles} inserts one at a time: a lone record waits up to the pipe's ${options.batchingWindowSeconds} s batching window`,
    Array.from({ length: options.singles }, () => rows(1)),
  );
  for (const seconds of options.otherBatchingWindows) {
    stack.pipe?.setBatchingWindow(seconds);
    await run(
      `single inserts, window ${seconds} s`,
      `${options.singles} inserts one at a time with PipeBatchingWindowSeconds ${seconds}`,
      Array.from({ length: options.singles }, () => rows(1)),
    );
  }
  stack.pipe?.setBatchingWindow(options.batchingWindowSeconds);
  const logs: LogVolume[] = [];
  for (const level of LOG_LEVELS) {
    log(`pipeline: log volume at ${level} (the sample files, a stack of their own)…`);
    logs.push(await logVolume(level));
  }
  if (options.load > 0) {
    await run(
      'load',
      `${options.load} inserts at once (PutItem back to back) over the ${options.loadKeys.length} small files, to show nothing is lost or spuriously failed under load; the other scenarios' figures are the ones to read for latency`,
      [rows(options.load, options.loadKeys)],
      // Generous: the load drains at the burst's throughput, a few tens of rows a second here.
      3_600_000,
    );
  }
  return { scenarios, timings, logs, itemBytes: await analysedItemBytes(stack) };
}

/** Every analysed row's size, the largest per object key. */
async function analysedItemBytes(stack: LocalStack): Promise<Record<string, number>> {
  const sizes: Record<string, number> = {};
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await stack.dynamodb.send(new ScanCommand({ TableName: stack.tableName, ExclusiveStartKey: start }));
    for (const item of page.Items ?? []) {
      const key = item.S3_object?.S;
      if (key && item.analysis) sizes[key] = Math.max(sizes[key] ?? 0, dynamoItemBytes(item));
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return sizes;
}

/**
 * An item's size by DynamoDB's rules (the docs' "Item sizes and formats"): each attribute's name in
 * UTF-8 plus its value: strings in UTF-8, numbers about one byte per two digits plus one, binary as
 * is, booleans and nulls one byte, maps and lists three bytes plus one per element plus their contents.
 */
function dynamoItemBytes(item: Record<string, AttributeValue>): number {
  const value = (v: AttributeValue): number => {
    if (v.S !== undefined) return Buffer.byteLength(v.S);
    if (v.N !== undefined) return Math.ceil(v.N.replace(/^-|\.|^0+/g, '').length / 2) + 1;
    if (v.B !== undefined) return v.B.length;
    if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
    if (v.M) return 3 + Object.entries(v.M).reduce((n, [name, inner]) => n + Buffer.byteLength(name) + value(inner) + 1, 0);
    if (v.L) return 3 + v.L.reduce((n, inner) => n + value(inner) + 1, 0);
    if (v.SS) return v.SS.reduce((n, x) => n + Buffer.byteLength(x), 0);
    if (v.NS) return v.NS.reduce((n, x) => n + Math.ceil(x.length / 2) + 1, 0);
    return 0;
  };
  return Object.entries(item).reduce((n, [name, v]) => n + Buffer.byteLength(name) + value(v), 0);
}

/** The levels the log volume is measured at: the template's LogLevel values that log on success. */
const LOG_LEVELS = ['INFO', 'WARN'];

/**
 * What the functions log per analysed asset at `level`: the sample files through a local stack of
 * its own (bench/log-volume.ts) whose functions load at that level, their standard output counted
 * line by line, each line by the function it names; the update function's metric documents (EMF)
 * apart.
 */
export async function logVolume(level: string): Promise<LogVolume> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'media-probe-logs-'));
  const summary = path.join(dir, 'summary.json');
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'log-volume.ts')], {
      env: { ...process.env, MEDIA_PROBE_LOG_LEVEL: level, LOG_VOLUME_SUMMARY: summary },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const bytesPerFunction: Record<string, number> = {};
    let pending = '';
    const count = (line: string) => {
      if (!line.startsWith('{')) return;
      const name = /"function_name":"media-probe-local-([A-Za-z]+)"/.exec(line)?.[1];
      const id = name ?? (line.includes('"_aws"') ? 'UpdateFunction metrics (EMF)' : 'other');
      bytesPerFunction[id] = (bytesPerFunction[id] ?? 0) + Buffer.byteLength(line) + 1;
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      lines.forEach(count);
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    count(pending);
    if (code !== 0) throw new Error(`the log-volume run at ${level} failed (exit ${code})`);
    const { assets } = JSON.parse(await readFile(summary, 'utf8')) as { assets: number };
    return {
      level,
      assets,
      bytesPerAsset: Object.fromEntries(Object.entries(bytesPerFunction).map(([id, bytes]) => [id, bytes / Math.max(1, assets)])),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
