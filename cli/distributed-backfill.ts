/**
 * `media-probe backfill --distributed`: runs the stack's backfill state machine (a Distributed Map
 * over parallel-scan segments) instead of the loop on this machine, follows its Map Run with
 * progress and an ETA, and stops or resumes (redrives) it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  DescribeMapRunCommand,
  type DescribeMapRunCommandOutput,
  type ExecutionStatus,
  ListExecutionsCommand,
  ListMapRunsCommand,
  RedriveExecutionCommand,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { BackfillMode, RowCounts } from '../functions/lib/backfill';
import { GracefulInterrupt } from '../util/interrupt';
import { durationText, Progress } from '../util/progress';
import { explainAwsError, OperatorError } from './errors';
import { runName } from './start';
import type { Target } from './target';

/** Rows per parallel-scan segment the CLI aims at when it chooses the segment count. */
export const ROWS_PER_SEGMENT = 1_000;
/**
 * Segments at least: DescribeTable's ItemCount is refreshed only every six hours or so (0 on a table
 * just filled), and one segment's child execution holds at most about 27,000 rows in its history.
 * An empty segment costs a few state transitions.
 */
export const MIN_SEGMENTS = 100;
/** The most segments one backfill lists (States.ArrayRange makes at most 1,000 items). */
export const MAX_SEGMENTS = 1_000;

export interface DistributedOptions {
  mode: BackfillMode;
  segments?: number;
  maxConcurrency?: number;
  stop?: boolean;
  resume?: boolean;
  /** How often the Map Run is read while following. */
  pollMs?: number;
}

const write = (text: string) => process.stdout.write(`${text}\n`);
const UNSUCCESSFUL: ExecutionStatus[] = ['FAILED', 'ABORTED', 'TIMED_OUT'];

/** Segments for a table of `items` rows (DescribeTable's count): about 1,000 rows each, at least MIN_SEGMENTS. */
export function segmentsFor(items: number): number {
  return Math.min(MAX_SEGMENTS, Math.max(MIN_SEGMENTS, Math.ceil(items / ROWS_PER_SEGMENT)));
}

type ItemCounts = Partial<NonNullable<DescribeMapRunCommandOutput['itemCounts']>>;

/** Segments whose child execution has ended, however. */
const ended = (counts: ItemCounts) => (counts.succeeded ?? 0) + (counts.failed ?? 0) + (counts.timedOut ?? 0) + (counts.aborted ?? 0);

/** "312/1000 segments · 40 running · 2 failed · 1.3 segments/s · ETA 8 min 30 s", the rate measured since following began. */
export function mapRunProgress(counts: ItemCounts, doneAtStart: number, elapsedMs: number): string {
  const total = counts.total ?? 0;
  const done = ended(counts);
  // After a redrive the first count read may still include the segments about to run again.
  const rate = elapsedMs > 0 ? (Math.max(0, done - doneAtStart) / elapsedMs) * 1000 : 0;
  const parts = [`${done}/${total} segments`, `${counts.running ?? 0} running`];
  const failed = (counts.failed ?? 0) + (counts.timedOut ?? 0);
  if (failed) parts.push(`${failed} failed`);
  parts.push(`${rate.toFixed(2)} segments/s`);
  parts.push(done >= total && total > 0 ? 'done' : rate > 0 ? `ETA ${durationText((total - done) / rate)}` : 'ETA -');
  return `backfill: ${parts.join(' · ')}`;
}

/** The rows the segments report in the execution's output: read, selected, too large for an execution. */
export function rowTotals(output: string | undefined): RowCounts | undefined {
  let results: unknown;
  try {
    results = JSON.parse(output ?? '');
  } catch {
    return undefined;
  }
  if (!Array.isArray(results)) return undefined;
  const totals: RowCounts = { scanned: 0, selected: 0, too_large: 0 };
  for (const result of results) {
    const rows = (result as { rows?: Partial<RowCounts> } | null)?.rows;
    totals.scanned += rows?.scanned ?? 0;
    totals.selected += rows?.selected ?? 0;
    totals.too_large += rows?.too_large ?? 0;
  }
  return totals;
}

function consoleLink(executionArn: string, region: string): string | undefined {
  // The console host is known for the aws partition; elsewhere the ARN is what to look up.
  if (!executionArn.startsWith('arn:aws:states:')) return undefined;
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}

/** The machine's newest execution, of one status or of any (ListExecutions lists the newest first). */
async function latestExecution(target: Target, machineArn: string, statusFilter?: ExecutionStatus) {
  const page = await target.sfn.send(new ListExecutionsCommand({ stateMachineArn: machineArn, statusFilter, maxResults: 1 }));
  return page.executions?.[0];
}

/** Follows the execution until it ends (or Ctrl-C), showing its Map Run's progress; returns the final description. */
async function follow(target: Target, executionArn: string, pollMs: number): Promise<DescribeExecutionCommandOutput | undefined> {
  const progress = new Progress();
  const interrupt = new GracefulInterrupt('', 'stopped following; the backfill goes on in Step Functions');
  const startedAt = Date.now();
  let doneAtStart: number | undefined;
  let mapRunArn: string | undefined;
  let last = '';
  try {
    for (;;) {
      const execution = await target.sfn.send(new DescribeExecutionCommand({ executionArn }));
      // The Map Run exists once the execution reaches its Map state, and stays the same after.
      mapRunArn ??= (await target.sfn.send(new ListMapRunsCommand({ executionArn }))).mapRuns?.[0]?.mapRunArn;
      if (mapRunArn) {
        const counts: ItemCounts = (await target.sfn.send(new DescribeMapRunCommand({ mapRunArn }))).itemCounts ?? {};
        doneAtStart ??= ended(counts);
        last = mapRunProgress(counts, doneAtStart, Date.now() - startedAt);
        progress.update(last);
      }
      if (execution.status !== 'RUNNING') {
        progress.finish(last || undefined);
        return execution;
      }
      await sleep(pollMs, undefined, { signal: interrupt.signal }).catch(() => undefined);
      if (interrupt.requested) {
        progress.finish(last || undefined);
        return undefined;
      }
    }
  } finally {
    interrupt.dispose();
  }
}

function report(execution: DescribeExecutionCommandOutput, target: Target): number {
  const totals = rowTotals(execution.output);
  if (execution.status === 'SUCCEEDED') {
    write(
      totals
        ? `backfill SUCCEEDED: read ${totals.scanned} rows, analysed ${totals.selected}${totals.too_large ? `, ${totals.too_large} too large for an execution input` : ''}`
        : 'backfill SUCCEEDED',
    );
    write(`the rows' outcomes: npx media-probe status ${target.flags}`);
    return 0;
  }
  write(`backfill ${execution.status}${execution.error ? `: ${execution.error}` : ''}${execution.cause ? ` (${execution.cause})` : ''}`);
  write(`resume it where it stopped with: npx media-probe backfill --distributed --resume ${target.flags}`);
  return 1;
}

/** The distributed backfill: start (or join the one running), stop, or resume; then follow it to its end. */
export async function distributedBackfill(target: Target, options: DistributedOptions): Promise<number> {
  const machineArn = target.backfillStateMachineArn;
  if (!machineArn)
    throw new OperatorError(
      `${target.label} has no backfill state machine (output BackfillStateMachineArn): deploy this version of media-probe, or run backfill without --distributed`,
    );
  const pollMs = options.pollMs ?? (target.local ? 500 : 5_000);
  try {
    const running = await latestExecution(target, machineArn, 'RUNNING');
    let executionArn: string;
    if (options.stop) {
      if (!running?.executionArn) {
        write('no backfill is running');
        return 0;
      }
      await target.sfn.send(
        new StopExecutionCommand({ executionArn: running.executionArn, cause: 'stopped with media-probe backfill --stop' }),
      );
      write(`stopped ${running.name}; resume it with: npx media-probe backfill --distributed --resume ${target.flags}`);
      return 0;
    }
    if (running?.executionArn) {
      executionArn = running.executionArn;
      write(`a backfill is running already (${running.name}): following it`);
    } else if (options.resume) {
      const stopped = await latestExecution(target, machineArn);
      if (!stopped?.executionArn || !UNSUCCESSFUL.includes(stopped.status as ExecutionStatus)) {
        write(`nothing to resume: the latest backfill${stopped ? ` (${stopped.name}) ${stopped.status}` : ' does not exist'}`);
        return 0;
      }
      await target.sfn.send(new RedriveExecutionCommand({ executionArn: stopped.executionArn }));
      executionArn = stopped.executionArn;
      write(`resumed ${stopped.name}: its unfinished segments run again, the finished ones are kept`);
    } else {
      let segments = options.segments;
      if (segments === undefined) {
        const table = await target.dynamodb.send(new DescribeTableCommand({ TableName: target.tableName }));
        segments = segmentsFor(table.Table?.ItemCount ?? 0);
      }
      const input = {
        mode: options.mode,
        segments,
        ...(options.maxConcurrency === undefined ? {} : { concurrency: options.maxConcurrency }),
      };
      const started = await target.sfn.send(
        new StartExecutionCommand({ stateMachineArn: machineArn, name: runName('backfill'), input: JSON.stringify(input) }),
      );
      executionArn = started.executionArn as string;
      write(`started a backfill of ${segments} segments (mode ${options.mode}) in Step Functions`);
    }
    const link = target.local ? undefined : consoleLink(executionArn, target.region);
    write(link ? `  console: ${link}` : `  execution: ${executionArn}`);
    const outcome = await follow(target, executionArn, pollMs);
    if (!outcome) {
      write(
        `the backfill goes on in Step Functions: follow it again with the same command, or stop it with: npx media-probe backfill --distributed --stop ${target.flags}`,
      );
      return 130;
    }
    return report(outcome, target);
  } catch (error) {
    if ((error as { name?: string }).name === 'UnknownOperationException')
      throw new OperatorError(
        `${(error as Error).message}: the local stack cannot redrive; run the backfill again instead (its mode skips the rows already done)`,
      );
    throw explainAwsError(error, 'running the backfill state machine');
  }
}
