/** `media-probe status`: one row's analysis, or the table's counts by outcome and its failed rows. */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { Option } from '@commander-js/extra-typings';
import { explained, OperatorError, UsageError } from '../errors';
import { integerFrom, movieId, operatorCommand } from '../options';
import { itemToRow } from '../rows';
import { compareIds, type Item, KEY, projection, scanTable } from '../table';
import { type Target, type TargetValues, withTarget } from '../target';
import { failedRowOf, failedTable, outcomeLine, type RowStatus, rowReport, STATUS_LABELS, statusOf } from '../view';

/** Failed rows listed under the counts unless --limit says otherwise; --failed lists them all. */
const SUMMARY_LIMIT = 20;

/** What the summary reads of each row: never ffprobe_output, which can be 100 KB a row. */
const SUMMARY_PATHS = [
  KEY,
  'movie_title',
  'S3_bucket',
  'S3_object',
  'analysis.status',
  'analysis.error',
  'analysis.finished_at',
  'analysis.object.bucket',
  'analysis.object.key',
  'analysis.object_state',
];

const write = (text: string) => process.stdout.write(`${text}\n`);

async function oneRow(target: Target, id: string, json: boolean): Promise<number> {
  const { Item: item } = await explained(
    `reading row ${id} from table ${target.tableName}`,
    target.dynamodb.send(new GetItemCommand({ TableName: target.tableName, Key: { [KEY]: { N: id } }, ConsistentRead: true })),
  );
  if (!item) throw new OperatorError(`row ${id} does not exist in table ${target.tableName} on ${target.label}`);
  const row = itemToRow(item);
  // The inline ffprobe JSON can be 100 KB; its size says enough here (GetItem returns the whole row).
  const inlineBytes = typeof row.ffprobe_output === 'string' ? Buffer.byteLength(row.ffprobe_output) : undefined;
  delete row.ffprobe_output;
  const status = statusOf(row);
  if (json) {
    const { movie_id, movie_title, S3_bucket, S3_object, ...rest } = row;
    const report = { movie_id, movie_title, S3_bucket, S3_object, status, summary: outcomeLine(row), ...rest };
    write(JSON.stringify(inlineBytes === undefined ? report : { ...report, ffprobe_output_bytes: inlineBytes }, null, 2));
  } else {
    write(rowReport(row, inlineBytes));
    if (status === 'NOT_ANALYSED')
      write(
        `\nno analysis recorded yet; rows inserted before the pipe existed are not analysed: npx media-probe reanalyze --id ${id} ${target.flags}`,
      );
    if (status === 'STALE')
      write(
        `\nthe row was re-pointed after its analysis, which describes another object: npx media-probe reanalyze --id ${id} ${target.flags}`,
      );
  }
  return 0;
}

async function summary(target: Target, options: { failedOnly: boolean; limit?: number; json: boolean }): Promise<number> {
  const projected = projection(SUMMARY_PATHS);
  const items = await scanTable(target, {
    ...projected,
    ...(options.failedOnly
      ? {
          FilterExpression: '#fa.#fs = :failed',
          ExpressionAttributeNames: { ...projected.ExpressionAttributeNames, '#fa': 'analysis', '#fs': 'status' },
          ExpressionAttributeValues: { ':failed': { S: 'FAILED' } },
        }
      : {}),
  });
  const counts: Record<RowStatus, number> = { SUCCEEDED: 0, FAILED: 0, STALE: 0, DELETED: 0, NOT_ANALYSED: 0 };
  const failed: Item[] = [];
  for (const item of items) {
    const status = statusOf(itemToRow(item));
    counts[status]++;
    if (status === 'FAILED') failed.push(item);
  }
  failed.sort((a, b) => compareIds(String(a[KEY]?.N), String(b[KEY]?.N)));
  const limit = options.limit ?? (options.failedOnly ? Infinity : SUMMARY_LIMIT);
  const listed = failed.slice(0, limit).map(failedRowOf);
  const more = failed.length - listed.length;

  if (options.json) {
    write(
      JSON.stringify(
        options.failedOnly
          ? listed
          : { table: target.tableName, target: target.label, total: items.length, counts, failed_total: counts.FAILED, failed: listed },
        null,
        2,
      ),
    );
    if (more > 0) process.stderr.write(`${more} more failed row${more === 1 ? '' : 's'} not listed (--limit)\n`);
    return 0;
  }
  const lines: string[] = [];
  if (!options.failedOnly) {
    lines.push(`table ${target.tableName} on ${target.label}: ${items.length} row${items.length === 1 ? '' : 's'}`);
    const width = Math.max(...Object.values(STATUS_LABELS).map((l) => l.length));
    const digits = String(items.length).length;
    for (const status of Object.keys(counts) as RowStatus[])
      lines.push(`  ${STATUS_LABELS[status].padEnd(width)}  ${String(counts[status]).padStart(digits)}`);
    if (listed.length) lines.push('');
  }
  if (listed.length) {
    lines.push(`failed rows (${failed.length}):`, failedTable(listed));
    if (more > 0) lines.push(`… and ${more} more (--limit N, or --failed for all of them)`);
  } else if (options.failedOnly) {
    lines.push(`no failed rows in table ${target.tableName} on ${target.label}`);
  }
  write(lines.join('\n'));
  return 0;
}

export interface StatusOptions extends TargetValues {
  id?: string;
  failed?: boolean;
  limit?: number;
  json?: boolean;
}

export async function status(values: StatusOptions): Promise<number> {
  if (values.id !== undefined && (values.failed || values.limit !== undefined))
    throw new UsageError('--failed and --limit list the table; they do not combine with --id');
  const json = Boolean(values.json);
  return withTarget(values, (target) =>
    values.id === undefined
      ? summary(target, { failedOnly: Boolean(values.failed), limit: values.limit, json })
      : oneRow(target, values.id, json),
  );
}

export const statusCommand = () =>
  operatorCommand('status')
    .description("one row's analysis, or the table's counts by outcome and its failed rows")
    .addOption(new Option('--id <n>', 'show this row').argParser(movieId))
    .option('--failed', 'list every failed row (without the counts)')
    .addOption(
      new Option('--limit <n>', `failed rows listed (default ${SUMMARY_LIMIT}, or all with --failed)`).argParser(
        integerFrom(1, Number.MAX_SAFE_INTEGER),
      ),
    )
    .option('--json', 'print JSON')
    .action(async (options) => {
      process.exitCode = await status(options);
    });
