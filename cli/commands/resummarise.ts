/**
 * `media-probe resummarise`: rebuilds `media` from the ffprobe JSON a row already keeps (inline, or
 * in the results bucket) for rows whose summary is of an older schema version, so a library gets
 * the current summary without one byte read from its media buckets. Paced and resumable like
 * backfill: a row is written only while the analysis it holds is the one its JSON came from, and a
 * run again skips what is already current.
 */
import { ConditionalCheckFailedException, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { Option } from '@commander-js/extra-typings';
import { chunk } from '../../functions/lib/batching';
import { summaryForRow } from '../../functions/lib/ffprobe';
import type { FfprobeOutput } from '../../functions/lib/ffprobe-command';
import { MEDIA_SCHEMA_VERSION } from '../../functions/lib/media-schema';
import { buildSummaryUpdate } from '../../functions/lib/update-expression';
import { GracefulInterrupt } from '../../util/interrupt';
import { runPool } from '../../util/pool';
import { Progress } from '../../util/progress';
import { TokenBucket } from '../../util/token-bucket';
import { explainAwsError, OperatorError } from '../errors';
import { integerFrom, movieId, operatorCommand, positiveNumber } from '../options';
import { compareIds, getRows, type Item, idOf, KEY, projection, scanTable } from '../table';
import { type Target, type TargetValues, withTarget } from '../target';

/** Rows read at once: each may carry up to 100 KB of inline ffprobe JSON. */
const ROWS_PER_READ = 25;
export const DEFAULT_CONCURRENCY = 4;
/** Rows rewritten per second on average: a few write units a second, far from any table's limits. */
export const DEFAULT_RATE = 25;

/** The condition a row must meet to be rebuilt: an analysis that succeeded, its JSON kept, its summary older than the current version. */
const SELECT = {
  FilterExpression:
    '#a.#s = :succeeded AND (attribute_exists(#o) OR attribute_exists(#ol)) AND (attribute_not_exists(#m.#v) OR #m.#v < :version)',
  ExpressionAttributeNames: {
    '#a': 'analysis',
    '#s': 'status',
    '#o': 'ffprobe_output',
    '#ol': 'ffprobe_output_location',
    '#m': 'media',
    '#v': 'schema_version',
  },
  ExpressionAttributeValues: { ':succeeded': { S: 'SUCCEEDED' }, ':version': { N: String(MEDIA_SCHEMA_VERSION) } },
};

/** The same test on a row read back: the scan is minutes old for a large table. */
function needsSummary(item: Item): boolean {
  const analysis = item.analysis?.M;
  const version = Number(item.media?.M?.schema_version?.N ?? 0);
  return (
    analysis?.status?.S === 'SUCCEEDED' &&
    (item.ffprobe_output !== undefined || item.ffprobe_output_location !== undefined) &&
    version < MEDIA_SCHEMA_VERSION
  );
}

/** ffprobe's JSON of a row: on the row, or read from the results bucket at the location the row names. */
async function storedOutput(target: Target, item: Item): Promise<FfprobeOutput> {
  const inline = item.ffprobe_output?.S;
  if (inline !== undefined) return JSON.parse(inline) as FfprobeOutput;
  const location = String(item.ffprobe_output_location?.S);
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(location);
  if (!match) throw new OperatorError(`ffprobe_output_location "${location}" is not an s3:// location`);
  try {
    const object = await target.s3.send(new GetObjectCommand({ Bucket: match[1], Key: match[2] }));
    return JSON.parse(await (object.Body?.transformToString('utf8') ?? Promise.resolve('{}'))) as FfprobeOutput;
  } catch (error) {
    throw explainAwsError(error, `reading ${location}`);
  }
}

export interface ResummariseCounts {
  total: number;
  rebuilt: number;
  /** Current already, or changed since the scan (a new analysis, or another run got there first). */
  skipped: number;
  failed: number;
}

async function rebuildAll(target: Target, ids: string[], options: { concurrency: number; rate: number }) {
  const counts: ResummariseCounts = { total: ids.length, rebuilt: 0, skipped: 0, failed: 0 };
  const failures = new Map<string, string[]>();
  const bucket = new TokenBucket(options.rate);
  const progress = new Progress();
  const show = () =>
    `resummarise: ${counts.rebuilt + counts.skipped + counts.failed}/${counts.total} rows · ${counts.rebuilt} rebuilt · ${counts.skipped} skipped${counts.failed ? ` · ${counts.failed} failed` : ''}`;
  const interrupt = new GracefulInterrupt('rows');
  const fail = (id: string, reason: string) => {
    counts.failed += 1;
    failures.set(reason, [...(failures.get(reason) ?? []), id]);
  };
  try {
    await runPool(
      chunk(ids, ROWS_PER_READ),
      options.concurrency,
      async (group) => {
        let rows: Map<string, Item>;
        try {
          rows = await getRows(target.dynamodb, target.tableName, group, [
            'analysis.status',
            'analysis.execution',
            'media.schema_version',
            'media.faststart',
            'ffprobe_output',
            'ffprobe_output_location',
          ]);
        } catch (error) {
          for (const id of group) fail(id, explainAwsError(error, `reading rows from table ${target.tableName}`).message);
          return;
        }
        for (const id of group) {
          if (interrupt.requested) break;
          const item = rows.get(id);
          if (!item || !needsSummary(item)) {
            counts.skipped += 1;
            continue;
          }
          try {
            // faststart comes from the object's boxes, not from ffprobe's JSON: what the row knew stays.
            const media = summaryForRow(await storedOutput(target, item), { faststart: item.media?.M?.faststart?.BOOL });
            await bucket.take();
            const execution = String(item.analysis?.M?.execution?.S);
            await target.dynamodb.send(new UpdateItemCommand(buildSummaryUpdate(target.tableName, { [KEY]: { N: id } }, execution, media)));
            counts.rebuilt += 1;
          } catch (error) {
            if (error instanceof ConditionalCheckFailedException) counts.skipped += 1;
            else fail(id, explainAwsError(error, `rebuilding row ${id}`).message);
          }
          progress.update(show());
        }
      },
      () => interrupt.requested,
    );
  } finally {
    interrupt.dispose();
  }
  progress.finish(show());
  return { counts, failures, interrupted: interrupt.requested };
}

export interface ResummariseOptions extends TargetValues {
  id?: string[];
  concurrency: number;
  rate: number;
  dryRun?: boolean;
}

export async function resummarise(values: ResummariseOptions): Promise<number> {
  return withTarget(values, async (target) => {
    const projected = projection([KEY]);
    const ids = values.id?.length
      ? [...new Set(values.id)].sort(compareIds)
      : (
          await scanTable(target, {
            ...projected,
            ...SELECT,
            ExpressionAttributeNames: { ...projected.ExpressionAttributeNames, ...SELECT.ExpressionAttributeNames },
          })
        )
          .map(idOf)
          .filter((id): id is string => id !== undefined)
          .sort(compareIds);
    const which = `with a summary older than version ${MEDIA_SCHEMA_VERSION} in table ${target.tableName} on ${target.label}`;
    const found = `${ids.length} row${ids.length === 1 ? '' : 's'} ${which}`;
    if (!ids.length) {
      process.stdout.write(`nothing to do: found no rows ${which}\n`);
      return 0;
    }
    if (values.dryRun) {
      process.stdout.write(`found ${found} (dry run: nothing rebuilt)\n`);
      return 0;
    }
    process.stderr.write(`found ${found}; rebuilding at up to ${values.rate} rows/s, ${values.concurrency} reads in flight\n`);
    const { counts, failures, interrupted } = await rebuildAll(target, ids, values);
    process.stdout.write(
      `found ${ids.length}, rebuilt ${counts.rebuilt}, skipped ${counts.skipped} (current or changed since the scan), failed ${counts.failed}\n`,
    );
    for (const [reason, rows] of failures)
      process.stdout.write(`failed rows ${rows.slice(0, 20).join(', ')}${rows.length > 20 ? ', …' : ''}: ${reason}\n`);
    if (interrupted) {
      process.stdout.write('interrupted: run the same command again to resume\n');
      return 130;
    }
    return counts.failed ? 1 : 0;
  });
}

export const resummariseCommand = () =>
  operatorCommand('resummarise')
    .description('rebuild `media` from the ffprobe JSON rows already keep, for rows whose summary is of an older version (reads no media)')
    .addOption(
      new Option('--id <n>', 'only this row (repeat the option for more)').argParser((text: string, previous: string[] = []) => [
        ...previous,
        movieId(text),
      ]),
    )
    .addOption(new Option('--concurrency <n>', 'row reads in flight').argParser(integerFrom(1, 64)).default(DEFAULT_CONCURRENCY))
    .addOption(new Option('--rate <per-second>', 'rows rewritten per second on average').argParser(positiveNumber).default(DEFAULT_RATE))
    .option('--dry-run', 'only count the rows')
    .action(async (options) => {
      process.exitCode = await resummarise(options);
    });
