/**
 * The local dead-letter queue: batches whose executions kept failing are appended to a JSON-lines
 * file, with the batch metadata a pipe sends to its SQS DLQ and, locally, the records themselves.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import type { PipeRecord } from '../../functions/lib/stream-record';
import type { ExecutionResult } from '../state-machine';

export interface DeadLetterEntry {
  condition: 'RetryAttemptsExhausted';
  timestamp: string;
  error?: string;
  cause?: string;
  DDBStreamBatchInfo: {
    shardId: string;
    startSequenceNumber?: string;
    endSequenceNumber?: string;
    batchSize: number;
    streamArn: string;
  };
  /** Local only: a real pipe's DLQ message carries the batch coordinates, not the records. */
  records: PipeRecord[];
}

export class DeadLetterStore {
  private readonly memory: DeadLetterEntry[] = [];

  /** With a file, entries survive a restart of the local stack; without, they live in memory. */
  constructor(private readonly file?: string) {}

  async park(records: PipeRecord[], streamArn: string, shardId: string, last: ExecutionResult): Promise<void> {
    const entry: DeadLetterEntry = {
      condition: 'RetryAttemptsExhausted',
      timestamp: new Date().toISOString(),
      error: last?.error,
      cause: last?.cause,
      DDBStreamBatchInfo: {
        shardId,
        startSequenceNumber: records[0]?.dynamodb?.SequenceNumber,
        endSequenceNumber: records.at(-1)?.dynamodb?.SequenceNumber,
        batchSize: records.length,
        streamArn,
      },
      records,
    };
    if (this.file) appendFileSync(this.file, `${JSON.stringify(entry)}\n`);
    else this.memory.push(entry);
  }

  entries(): DeadLetterEntry[] {
    if (!this.file) return [...this.memory];
    if (!existsSync(this.file)) return [];
    return readFileSync(this.file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as DeadLetterEntry);
  }
}
