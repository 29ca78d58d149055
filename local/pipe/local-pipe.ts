/**
 * The local EventBridge Pipe: polls DynamoDB Local's stream, keeps the records the template's
 * filters match, batches them as the pipe does, hands each through the template's input template,
 * starts the Express state machine synchronously, retries failed executions, bisects, and finally
 * parks the batch in the dead-letter store.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { crc32 } from 'node:zlib';
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';
import { type PipeRecord, type StreamImage, toPipeRecord } from '../../functions/lib/stream-record';
import { backoffDelay } from '../../util/backoff';
import type { ExecutionResult } from '../state-machine';
import type { PipeSettings } from '../template';
import type { DeadLetterStore } from './dead-letter';
import type { EventFilter } from './event-filter';
import { InputTemplate } from './input-template';

/** An execution's account of one row, as the update step returns it. */
interface RowOutcome {
  applied?: boolean;
  status?: string;
}

export interface PipeStats {
  stream_records: number;
  filtered_out: number;
  records_delivered: number;
  executions: number;
  failed_executions: number;
  succeeded: number;
  failed: number;
  left_alone: number;
  dead_lettered: number;
  /** The most executions the pipe had running at once. */
  peak_executions_in_flight: number;
}

export interface LocalPipeOptions {
  streams: DynamoDBStreamsClient;
  streamArn: string;
  settings: PipeSettings;
  /** Decides which records pass the template's filters; the caller starts and stops it. */
  filter: Pick<EventFilter, 'matches'>;
  /** Starts the state machine with a batch: the records, each through the input template if the pipe has one. */
  target: (input: unknown[]) => Promise<ExecutionResult>;
  deadLetter: DeadLetterStore;
  /** Where the last processed sequence number of each shard is kept, so a restart resumes. */
  checkpointFile?: string;
  /** Scale for the pause between retries of a failed batch (1 = 1 s, 2 s, 4 s …). */
  retryIntervalScale?: number;
  pollIntervalMs?: number;
  onExecution?: (result: ExecutionResult, records: PipeRecord[]) => void;
}

const MAX_RETRY_PAUSE_MS = 30_000;
/** Pipes allow -1 (retry until the record expires); locally that would never end, so it is capped. */
const LOCAL_RETRY_CAP = 10;

/** The lane of a row key: Pipes keep one key's records in order when they run several batches of a shard at once. */
export function laneOf(keys: StreamImage | undefined, lanes: number): number {
  return crc32(JSON.stringify(keys ?? {})) % lanes;
}

/** The records of a round split into `lanes` lanes by row key, each in stream order; empty lanes are left out. */
export function lanesOf(records: readonly PipeRecord[], lanes: number): PipeRecord[][] {
  const byLane: PipeRecord[][] = Array.from({ length: lanes }, () => []);
  for (const record of records) byLane[laneOf(record.dynamodb?.Keys, lanes)].push(record);
  return byLane.filter((lane) => lane.length > 0);
}

export class LocalPipe {
  readonly stats: PipeStats = {
    stream_records: 0,
    filtered_out: 0,
    records_delivered: 0,
    executions: 0,
    failed_executions: 0,
    succeeded: 0,
    failed: 0,
    left_alone: 0,
    dead_lettered: 0,
    peak_executions_in_flight: 0,
  };
  private executionsInFlight = 0;
  private readonly checkpoints: Record<string, string>;
  private readonly iterators = new Map<string, string | undefined>();
  private readonly finishedShards = new Set<string>();
  private running = false;
  private loop?: Promise<void>;
  private busy = false;
  private lastPollEmpty = false;
  private readonly pending = new Map<string, { records: PipeRecord[]; since: number }>();
  private readonly inputTemplate?: InputTemplate;

  constructor(private readonly options: LocalPipeOptions) {
    if (options.settings.invocationType !== 'REQUEST_RESPONSE') {
      throw new Error(
        `the pipe must invoke the state machine synchronously (REQUEST_RESPONSE), the template says ${options.settings.invocationType}`,
      );
    }
    this.checkpoints =
      options.checkpointFile && existsSync(options.checkpointFile) ? JSON.parse(readFileSync(options.checkpointFile, 'utf8')) : {};
    const template = options.settings.inputTemplate;
    this.inputTemplate = template === undefined ? undefined : InputTemplate.parse(template);
  }

  /** The target's input for a batch: Pipes apply the input template to each record, not to the batch. */
  private targetInput(records: PipeRecord[]): unknown[] {
    const template = this.inputTemplate;
    return template ? records.map((record) => template.render(record)) : records;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** True when nothing is buffered or being delivered and the last poll found no new records. */
  /** Changes the batching window from the next poll on (PipeBatchingWindowSeconds): the benchmark times lone inserts at several. */
  setBatchingWindow(seconds: number): void {
    this.options.settings = { ...this.options.settings, batchingWindowSeconds: seconds };
  }

  get idle(): boolean {
    return !this.busy && this.lastPollEmpty && this.buffered === 0;
  }

  private async run(): Promise<void> {
    const pollInterval = this.options.pollIntervalMs ?? 200;
    while (this.running) {
      let found = 0;
      try {
        found = await this.pollOnce();
      } catch (error) {
        if (!this.running) break;
        process.stderr.write(`local pipe: polling the stream failed: ${(error as Error).message}\n`);
      }
      this.lastPollEmpty = found === 0;
      if (found === 0) await sleep(this.buffered > 0 ? Math.min(pollInterval, 50) : pollInterval);
    }
  }

  private saveCheckpoint(shardId: string, sequenceNumber: string | undefined): void {
    if (!sequenceNumber) return;
    this.checkpoints[shardId] = sequenceNumber;
    if (this.options.checkpointFile) writeFileSync(this.options.checkpointFile, JSON.stringify(this.checkpoints, null, 2));
  }

  private async shards(): Promise<Shard[]> {
    const shards: Shard[] = [];
    let exclusiveStartShardId: string | undefined;
    do {
      const page = await this.options.streams.send(
        new DescribeStreamCommand({ StreamArn: this.options.streamArn, ExclusiveStartShardId: exclusiveStartShardId }),
      );
      shards.push(...(page.StreamDescription?.Shards ?? []));
      exclusiveStartShardId = page.StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStartShardId);
    return shards;
  }

  private async iteratorFor(shard: Shard, known: Set<string>): Promise<string | undefined> {
    const shardId = shard.ShardId as string;
    const checkpoint = this.checkpoints[shardId];
    // A child shard is read from its start once its parent is finished, as Pipes keep per-key order.
    const parentPending = shard.ParentShardId && known.has(shard.ParentShardId) && !this.finishedShards.has(shard.ParentShardId);
    if (parentPending) return undefined;
    // Locally the table belongs to the stack, so a shard never read before is read from its start.
    const type = checkpoint ? 'AFTER_SEQUENCE_NUMBER' : 'TRIM_HORIZON';
    const response = await this.options.streams.send(
      new GetShardIteratorCommand({
        StreamArn: this.options.streamArn,
        ShardId: shardId,
        ShardIteratorType: type,
        SequenceNumber: checkpoint,
      }),
    );
    return response.ShardIterator;
  }

  /** Reads every shard once, delivering what matched; returns how many stream records it saw. */
  private async pollOnce(): Promise<number> {
    const shards = await this.shards();
    const known = new Set(shards.map((s) => s.ShardId as string));
    let seen = 0;
    for (const shard of shards) {
      const shardId = shard.ShardId as string;
      if (this.finishedShards.has(shardId)) continue;
      try {
        seen += await this.pollShard(shard, known);
      } catch (error) {
        // One shard's trouble must not stall the others; its iterator is fetched again next time,
        // from its start if the checkpoint points at records the stream no longer holds.
        this.iterators.delete(shardId);
        if ((error as Error).name === 'TrimmedDataAccessException') delete this.checkpoints[shardId];
        process.stderr.write(`local pipe: reading shard ${shardId} failed (${(error as Error).name}); retrying\n`);
      }
    }
    return seen;
  }

  private async pollShard(shard: Shard, known: Set<string>): Promise<number> {
    const shardId = shard.ShardId as string;
    if (this.iterators.get(shardId) === undefined) {
      const iterator = await this.iteratorFor(shard, known);
      if (!iterator) return 0;
      this.iterators.set(shardId, iterator);
    }
    const page = await this.options.streams.send(new GetRecordsCommand({ ShardIterator: this.iterators.get(shardId), Limit: 1000 }));
    const records = page.Records ?? [];
    if (page.NextShardIterator) this.iterators.set(shardId, page.NextShardIterator);
    else {
      this.iterators.delete(shardId);
      this.finishedShards.add(shardId);
    }
    await this.process(
      shardId,
      records.map((r) => toPipeRecord(r, this.options.streamArn)),
    );
    return records.length;
  }

  /** Filters a page of records into the shard's pending batch and delivers full (or timed-out) batches. */
  private async process(shardId: string, records: PipeRecord[]): Promise<void> {
    const kept = await this.options.filter.matches(records);
    const pending = this.pending.get(shardId) ?? { records: [], since: 0 };
    this.pending.set(shardId, pending);
    for (const [index, record] of records.entries()) {
      this.stats.stream_records += 1;
      if (!kept[index]) {
        this.stats.filtered_out += 1;
        if (pending.records.length === 0) this.saveCheckpoint(shardId, record.dynamodb?.SequenceNumber);
        continue;
      }
      if (pending.records.length === 0) pending.since = Date.now();
      pending.records.push(record);
    }
    const { batchSize, batchingWindowSeconds, parallelizationFactor } = this.options.settings;
    // A pipe waits up to the batching window to fill a batch, then sends what it has.
    while (
      pending.records.length >= batchSize ||
      (pending.records.length > 0 && Date.now() - pending.since >= batchingWindowSeconds * 1000)
    ) {
      // Up to ParallelizationFactor batches of the shard at once, each from its own lane of row keys.
      const round = pending.records.splice(0, batchSize * parallelizationFactor);
      this.busy = true;
      try {
        this.stats.records_delivered += round.length;
        await Promise.all(
          lanesOf(round, parallelizationFactor).map(async (lane) => {
            for (let i = 0; i < lane.length; i += batchSize) await this.deliver(lane.slice(i, i + batchSize), shardId);
          }),
        );
      } finally {
        this.busy = false;
      }
      // Only once every batch of the round has an outcome: the checkpoint is where a restart resumes.
      this.saveCheckpoint(shardId, round.at(-1)?.dynamodb?.SequenceNumber);
      pending.since = Date.now();
    }
  }

  /** Records waiting for their batch to fill. */
  get buffered(): number {
    let count = 0;
    for (const p of this.pending.values()) count += p.records.length;
    return count;
  }

  private countOutcomes(result: ExecutionResult): void {
    for (const outcome of (Array.isArray(result.output) ? result.output : []) as RowOutcome[]) {
      if (!outcome?.applied) this.stats.left_alone += 1;
      else if (outcome.status === 'SUCCEEDED') this.stats.succeeded += 1;
      else this.stats.failed += 1;
    }
  }

  /**
   * Invokes the target. A failed batch of several records is split in two at once and each half
   * delivered on its own (bisecting does not use up retries, as for stream sources); a single
   * record is retried with back-off up to MaximumRetryAttempts, then dead-lettered.
   */
  private async deliver(records: PipeRecord[], shardId: string): Promise<void> {
    const configured = this.options.settings.maximumRetryAttempts;
    const maxRetries = configured < 0 ? LOCAL_RETRY_CAP : Math.min(configured, LOCAL_RETRY_CAP);
    const scale = this.options.retryIntervalScale ?? 1;
    let last: ExecutionResult | undefined;
    for (let attempt = 0; attempt <= maxRetries; attempt += 1) {
      // Pipes do not document their pause between retries: doubling from a second, without jitter, keeps local runs predictable.
      if (attempt > 0)
        await sleep(backoffDelay(attempt - 1, { baseDelayMs: 1000 * scale, maxDelayMs: MAX_RETRY_PAUSE_MS * scale, jitter: false }));
      this.executionsInFlight += 1;
      this.stats.peak_executions_in_flight = Math.max(this.stats.peak_executions_in_flight, this.executionsInFlight);
      try {
        last = await this.options.target(this.targetInput(records));
      } finally {
        this.executionsInFlight -= 1;
      }
      this.stats.executions += 1;
      this.options.onExecution?.(last, records);
      if (last.status === 'SUCCEEDED') {
        this.countOutcomes(last);
        return;
      }
      this.stats.failed_executions += 1;
      if (this.options.settings.bisectOnFailure && records.length > 1) {
        const middle = Math.ceil(records.length / 2);
        await this.deliver(records.slice(0, middle), shardId);
        await this.deliver(records.slice(middle), shardId);
        return;
      }
    }
    await this.options.deadLetter.park(records, this.options.streamArn, shardId, last as ExecutionResult);
    this.stats.dead_lettered += records.length;
  }
}
