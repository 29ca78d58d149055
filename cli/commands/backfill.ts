/**
 * `media-probe backfill`: finds the rows that need an analysis with a parallel scan and starts the
 * state machine for them in batches, paced by a token bucket and a bound on StartExecution calls in
 * flight. Each batch is re-read just before its start, so an interrupted run, re-run, skips what was
 * analysed in the meantime.
 */
import { Option } from '@commander-js/extra-typings';
import { type BackfillMode, MODE_FILTERS } from '../../functions/lib/backfill';
import { batchRecords, chunk, RECORDS_PER_EXECUTION } from '../../functions/lib/batching';
import { MEDIA_SCHEMA_VERSION } from '../../functions/lib/media-schema';
import { movieIdOfRecord, recordsForRows } from '../../functions/lib/synthetic-records';
import { GracefulInterrupt } from '../../util/interrupt';
import { runPool } from '../../util/pool';
import { durationText, Progress } from '../../util/progress';
import { TokenBucket } from '../../util/token-bucket';
import { distributedBackfill, MAX_SEGMENTS, ROWS_PER_SEGMENT } from '../distributed-backfill';
import { explainAwsError, UsageError } from '../errors';
import { integerFrom, operatorCommand, positiveNumber } from '../options';
import { itemToRow } from '../rows';
import { runName, startExecution } from '../start';
import { compareIds, getRows, type Item, idOf, KEY, projection, scanTable } from '../table';
import { type Target, type TargetValues, withTarget } from '../target';
import { isStale } from '../view';

/** StartExecution calls in flight at once. */
export const DEFAULT_CONCURRENCY = 4;
/** Executions started per second on average (10 rows each): see docs/operate.md for why. */
export const DEFAULT_RATE = 2;
const MAX_CONCURRENCY = 64;

/**
 * Each mode's test of a row as it is just before its start (the scan is minutes old by then for a
 * large table), beside the Scan filter the mode selects with (MODE_FILTERS).
 */
const SELECTS: Record<BackfillMode, (item: Item) => boolean> = {
  'only-missing': (item) => item.analysis === undefined,
  failed: (item) => item.analysis?.M?.status?.S === 'FAILED',
  stale: (item) => isStale(itemToRow(item)),
  'older-schema': (item) =>
    item.analysis?.M?.status?.S === 'SUCCEEDED' && !(Number(item.media?.M?.schema_version?.N) >= MEDIA_SCHEMA_VERSION),
  all: () => true,
};

const write = (text: string) => process.stdout.write(`${text}\n`);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** How far the run has got: rows it set out to start, and what became of them. */
export interface ProgressCounts {
  total: number;
  started: number;
  skipped: number;
  failed: number;
  executions: number;
}

const BAR_WIDTH = 24;

/** "[######------] 120/200 rows · 12 executions · 19.8 rows/s · ETA 4 s · 1 failed to start" */
export function progressText(counts: ProgressCounts, elapsedMs: number, bar: boolean): string {
  const done = counts.started + counts.skipped + counts.failed;
  const fraction = counts.total ? Math.min(1, done / counts.total) : 1;
  const rate = elapsedMs > 0 ? (done / elapsedMs) * 1000 : 0;
  const remaining = counts.total - done;
  const parts = [
    `${done}/${counts.total} rows`,
    `${counts.executions} execution${counts.executions === 1 ? '' : 's'}`,
    `${rate.toFixed(1)} rows/s`,
    remaining <= 0 ? 'done' : rate > 0 ? `ETA ${durationText(remaining / rate)}` : 'ETA -',
  ];
  if (counts.skipped) parts.push(`${counts.skipped} skipped`);
  if (counts.failed) parts.push(`${counts.failed} failed to start`);
  const filled = Math.round(fraction * BAR_WIDTH);
  return `${bar ? `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ` : 'backfill: '}${parts.join(' · ')}`;
}

async function findRows(target: Target, mode: BackfillMode): Promise<string[]> {
  const { filter } = MODE_FILTERS[mode];
  const projected = projection([KEY]);
  const items = await scanTable(target, {
    ...projected,
    ...filter,
    ExpressionAttributeNames: { ...projected.ExpressionAttributeNames, ...filter?.ExpressionAttributeNames },
  });
  return items
    .map(idOf)
    .filter((id): id is string => id !== undefined)
    .sort(compareIds);
}

interface RunOptions {
  mode: BackfillMode;
  concurrency: number;
  rate: number;
}

interface RunResult {
  counts: ProgressCounts;
  /** Reason → the rows that could not be started for it. */
  failures: Map<string, string[]>;
  interrupted: boolean;
}

async function startAll(target: Target, ids: string[], options: RunOptions): Promise<RunResult> {
  const counts: ProgressCounts = { total: ids.length, started: 0, skipped: 0, failed: 0, executions: 0 };
  const failures = new Map<string, string[]>();
  const fail = (rows: string[], reason: string) => {
    counts.failed += rows.length;
    failures.set(reason, [...(failures.get(reason) ?? []), ...rows]);
  };
  const bucket = new TokenBucket(options.rate);
  const progress = new Progress();
  const startedAt = Date.now();
  const show = () => progressText(counts, Date.now() - startedAt, progress.terminal);
  const name = runName('backfill');
  let executionNumber = 0;
  // The first Ctrl-C lets the starts in flight finish and prints the summary; a second one quits at once.
  const interrupt = new GracefulInterrupt('starts');
  try {
    await runPool(
      chunk(ids, RECORDS_PER_EXECUTION),
      options.concurrency,
      async (group) => {
        let rows: Map<string, Item>;
        try {
          rows = await getRows(target.dynamodb, target.tableName, group);
        } catch (error) {
          fail(group, explainAwsError(error, `reading rows from table ${target.tableName}`).message);
          return;
        }
        // The scan is minutes old by now for a large table; what the pipe or a user changed since counts.
        const current = group.filter((id) => rows.has(id) && SELECTS[options.mode](rows.get(id) as Item));
        counts.skipped += group.length - current.length;
        const records = recordsForRows(
          current.map((id) => rows.get(id) as Item),
          { origin: 'backfill', streamArn: target.streamArn, region: target.region },
        );
        const { batches, tooLarge } = batchRecords(records);
        if (tooLarge.length) fail(tooLarge.map(movieIdOfRecord), 'the row is too large for a Step Functions input (256 KiB) even alone');
        for (const batch of batches) {
          await bucket.take();
          // A Ctrl-C while this worker waited for its turn: the batch is left for the next run.
          if (interrupt.requested) break;
          try {
            await startExecution(target.sfn, target.stateMachineArn, batch, `${name}-${++executionNumber}`);
            counts.started += batch.length;
            counts.executions++;
          } catch (error) {
            fail(batch.map(movieIdOfRecord), (error as Error).message);
          }
          progress.update(show());
        }
        progress.update(show());
      },
      () => interrupt.requested,
    );
  } finally {
    interrupt.dispose();
  }
  progress.finish(show());
  return { counts, failures, interrupted: interrupt.requested };
}

function listIds(ids: string[]): string {
  const shown = ids.slice(0, 20).join(', ');
  return ids.length > 20 ? `${shown}, … (${ids.length} rows)` : shown;
}

export interface BackfillOptions extends TargetValues {
  onlyMissing?: boolean;
  failed?: boolean;
  stale?: boolean;
  olderSchema?: boolean;
  all?: boolean;
  distributed?: boolean;
  segments?: number;
  maxConcurrency?: number;
  stop?: boolean;
  resume?: boolean;
  concurrency: number;
  rate: number;
  dryRun?: boolean;
}

export async function backfill(values: BackfillOptions): Promise<number> {
  const mode: BackfillMode = values.all
    ? 'all'
    : values.failed
      ? 'failed'
      : values.stale
        ? 'stale'
        : values.olderSchema
          ? 'older-schema'
          : 'only-missing';
  const { concurrency, rate } = values;

  return withTarget(values, async (target) => {
    if (values.distributed)
      return distributedBackfill(target, {
        mode,
        segments: values.segments,
        maxConcurrency: values.maxConcurrency,
        stop: values.stop,
        resume: values.resume,
      });
    const ids = await findRows(target, mode);
    const found = `${plural(ids.length, 'row')} ${MODE_FILTERS[mode].description} in table ${target.tableName} on ${target.label}`;
    if (!ids.length) {
      write(`nothing to do: found no rows ${MODE_FILTERS[mode].description} in table ${target.tableName} on ${target.label}`);
      return 0;
    }
    const groups = chunk(ids, RECORDS_PER_EXECUTION);
    if (values.dryRun) {
      write(
        `found ${found}; would start ${plural(groups.length, 'execution')} of up to ${RECORDS_PER_EXECUTION} rows (dry run: nothing started):`,
      );
      for (const group of groups) write(`  ${group.join(', ')}`);
      return 0;
    }
    process.stderr.write(`found ${found}; starting ${plural(groups.length, 'execution')} at up to ${rate}/s, ${concurrency} in flight\n`);
    const { counts, failures, interrupted } = await startAll(target, ids, { mode, concurrency, rate });
    const notReached = counts.total - counts.started - counts.skipped - counts.failed;
    write(
      [
        `found ${ids.length}`,
        `started ${counts.started} in ${plural(counts.executions, 'execution')}`,
        `skipped ${counts.skipped} (changed since the scan)`,
        `failed to start ${counts.failed}`,
        ...(notReached ? [`not reached ${notReached}`] : []),
      ].join(', '),
    );
    for (const [reason, rows] of failures) write(`failed to start rows ${listIds(rows)}: ${reason}`);
    if (counts.started) write(`the executions run on their own; follow them with: npx media-probe status ${target.flags}`);
    if (interrupted) {
      write(
        `interrupted: run the same command again to resume${mode === 'all' ? ' (with --all it starts over; --only-missing picks up the rows still without an analysis)' : ''}`,
      );
      return 130;
    }
    return counts.failed ? 1 : 0;
  });
}

export const backfillCommand = () =>
  operatorCommand('backfill')
    .description('start analyses for the rows that need one, paced; interrupt and run again to resume')
    .addOption(
      new Option('--only-missing', `rows ${MODE_FILTERS['only-missing'].description} (the default)`).conflicts([
        'failed',
        'stale',
        'olderSchema',
        'all',
      ]),
    )
    .addOption(new Option('--failed', `rows ${MODE_FILTERS.failed.description}`).conflicts(['stale', 'olderSchema', 'all']))
    .addOption(new Option('--stale', `rows ${MODE_FILTERS.stale.description}`).conflicts(['olderSchema', 'all']))
    .addOption(new Option('--older-schema', `rows ${MODE_FILTERS['older-schema'].description}`).conflicts('all'))
    .option('--all', 'every row')
    .addOption(
      new Option(
        '--distributed',
        "run it in Step Functions (the stack's backfill state machine, a Distributed Map) and follow its progress; for large tables",
      ).conflicts(['dryRun', 'rate', 'concurrency']),
    )
    .addOption(
      new Option('--segments <n>', `with --distributed: parallel-scan segments (default: about ${ROWS_PER_SEGMENT} rows each)`).argParser(
        integerFrom(1, MAX_SEGMENTS),
      ),
    )
    .addOption(
      new Option('--max-concurrency <n>', "with --distributed: segments at once (default: the stack's BackfillConcurrency)").argParser(
        integerFrom(1, 1000),
      ),
    )
    .addOption(new Option('--stop', 'with --distributed: stop the running backfill (resume it later with --resume)').conflicts('resume'))
    .option('--resume', 'with --distributed: run the unfinished segments of the latest failed or stopped backfill again')
    .addOption(
      new Option('--concurrency <n>', 'StartExecution calls in flight')
        .argParser(integerFrom(1, MAX_CONCURRENCY))
        .default(DEFAULT_CONCURRENCY),
    )
    .addOption(
      new Option('--rate <per-second>', 'executions started per second on average (10 rows each)')
        .argParser(positiveNumber)
        .default(DEFAULT_RATE),
    )
    .option('--dry-run', 'only count the rows and list the executions it would start')
    .action(async (options) => {
      for (const [given, flag] of [
        [options.segments, '--segments'],
        [options.maxConcurrency, '--max-concurrency'],
        [options.stop, '--stop'],
        [options.resume, '--resume'],
      ] as const) {
        if (given !== undefined && !options.distributed) throw new UsageError(`${flag} only applies with --distributed`);
      }
      process.exitCode = await backfill(options);
    });
