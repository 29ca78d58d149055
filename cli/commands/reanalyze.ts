/** `media-probe reanalyze`: runs the state machine now for given rows, with the input the pipe would deliver; --wait reports the outcome. */
import { setTimeout as sleep } from 'node:timers/promises';
import { Option } from '@commander-js/extra-typings';
import { batchRecords } from '../../functions/lib/batching';
import { movieIdOfRecord, recordsForRows } from '../../functions/lib/synthetic-records';
import { explained, OperatorError, UsageError } from '../errors';
import { movieId, operatorCommand, positiveNumber } from '../options';
import { itemToRow, type PlainRow } from '../rows';
import { runName, type StartedExecution, startExecution } from '../start';
import { getRows, type Item } from '../table';
import { formatTable } from '../table-format';
import { type Target, type TargetValues, withTarget } from '../target';
import { outcomeLine, STATUS_LABELS, statusOf } from '../view';

const DEFAULT_WAIT_SECONDS = 300;
const POLL_MS = 500;

const write = (text: string) => process.stdout.write(`${text}\n`);

function analysisOf(row: PlainRow | undefined): { started_at?: string; execution?: string } | undefined {
  return row?.analysis && typeof row.analysis === 'object' ? (row.analysis as { started_at?: string; execution?: string }) : undefined;
}

/** True once the row carries an analysis newer than the one it had before the start (or one of the executions started). */
export function hasNewOutcome(before: PlainRow | undefined, now: PlainRow | undefined, executions: ReadonlySet<string>): boolean {
  const current = analysisOf(now);
  if (!current?.started_at) return false;
  if (current.execution && executions.has(current.execution)) return true;
  const previous = analysisOf(before)?.started_at;
  return previous === undefined || Date.parse(current.started_at) > Date.parse(previous);
}

async function waitForOutcomes(
  target: Target,
  ids: string[],
  before: Map<string, PlainRow>,
  started: StartedExecution[],
  timeoutSeconds: number,
): Promise<number> {
  const executions = new Set(started.map((s) => s.executionArn));
  const deadline = Date.now() + timeoutSeconds * 1000;
  process.stderr.write(`waiting for ${ids.length} row${ids.length === 1 ? '' : 's'} to record the new analysis…\n`);
  let latest = new Map<string, PlainRow>();
  for (;;) {
    const fresh = await explained(
      'reading the rows',
      getRows(target.dynamodb, target.tableName, ids, ['S3_bucket', 'S3_object', 'analysis', 'media']),
    );
    latest = new Map([...fresh].map(([id, item]) => [id, itemToRow(item)]));
    const pending = ids.filter((id) => !hasNewOutcome(before.get(id), latest.get(id), executions));
    if (!pending.length || Date.now() >= deadline) {
      const table = ids.map((id) => {
        const row = latest.get(id);
        const title = String(before.get(id)?.movie_title ?? '');
        if (pending.includes(id))
          return [id, title, row ? 'PENDING' : 'DELETED', row ? 'no new analysis recorded yet' : 'the row was deleted'];
        return [id, title, STATUS_LABELS[statusOf(row)], row ? outcomeLine(row) : ''];
      });
      write(formatTable(['ID', 'TITLE', 'STATUS', 'MEDIA / ERROR'], table));
      if (pending.length) {
        process.stderr.write(`timed out after ${timeoutSeconds} s; the state machine's log shows what the executions did\n`);
        return 1;
      }
      return ids.every((id) => statusOf(latest.get(id)) === 'SUCCEEDED') ? 0 : 1;
    }
    await sleep(POLL_MS);
  }
}

export interface ReanalyzeOptions extends TargetValues {
  id: string[];
  wait?: boolean;
  timeout?: number;
}

export async function reanalyze(values: ReanalyzeOptions): Promise<number> {
  if (values.timeout !== undefined && !values.wait) throw new UsageError('--timeout applies to --wait');
  const timeout = values.timeout ?? DEFAULT_WAIT_SECONDS;
  const ids = [...new Set(values.id)];

  return withTarget(values, async (target) => {
    const found = await explained(`reading rows from table ${target.tableName}`, getRows(target.dynamodb, target.tableName, ids));
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length) {
      throw new OperatorError(
        `no row with movie_id ${missing.join(', ')} in table ${target.tableName} on ${target.label}; nothing was started`,
      );
    }
    const items = ids.map((id) => found.get(id) as Item);
    const records = recordsForRows(items, { origin: 'reanalyze', streamArn: target.streamArn, region: target.region });
    const { batches, tooLarge } = batchRecords(records);
    if (tooLarge.length) {
      const tooLargeIds = tooLarge.map(movieIdOfRecord);
      throw new OperatorError(
        `rows ${tooLargeIds.join(', ')} are too large for a Step Functions input (256 KiB) even alone; nothing was started`,
      );
    }
    const name = runName('reanalyze');
    const started: StartedExecution[] = [];
    for (const [index, batch] of batches.entries()) {
      try {
        started.push(await startExecution(target.sfn, target.stateMachineArn, batch, `${name}-${index + 1}`));
      } catch (error) {
        const notStarted = batches.slice(index).flatMap((b) => b.map(movieIdOfRecord));
        throw new OperatorError(
          `${(error as Error).message}${started.length ? `; started before that: rows ${started.flatMap((s) => s.movieIds).join(', ')}` : ''}; not started: rows ${notStarted.join(', ')}`,
          {
            cause: error,
          },
        );
      }
      const last = started[started.length - 1];
      write(`started ${last.executionArn} for row${last.movieIds.length === 1 ? '' : 's'} ${last.movieIds.join(', ')}`);
    }
    if (!values.wait) return 0;
    const before = new Map(items.map((item, i) => [ids[i], itemToRow(item)]));
    return waitForOutcomes(target, ids, before, started, timeout);
  });
}

export const reanalyzeCommand = () =>
  operatorCommand('reanalyze')
    .description('run the analysis again now for the given rows, with the input the pipe would deliver')
    .addOption(
      new Option('--id <n>', 'movie_id of a row to analyse again (repeat the option for more)')
        .argParser((text: string, previous: string[] = []) => [...previous, movieId(text)])
        .makeOptionMandatory(),
    )
    .option('--wait', 'wait for the new outcomes and print them')
    .addOption(
      new Option('--timeout <seconds>', `with --wait: stop waiting after this long (default ${DEFAULT_WAIT_SECONDS})`).argParser(
        positiveNumber,
      ),
    )
    .action(async (options) => {
      process.exitCode = await reanalyze(options);
    });
