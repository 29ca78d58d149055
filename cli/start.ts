/** Starts one state machine execution for a batch of stream records, retrying throttled and failed-over starts with backoff. */
import { randomBytes } from 'node:crypto';
import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { StreamRecord } from '../functions/lib/stream-record';
import { movieIdOfRecord, type StartOrigin } from '../functions/lib/synthetic-records';
import { type RetryOptions, withRetries } from '../util/backoff';
import { explainAwsError, isRetryableStart } from './errors';

/** How a throttled start is tried again: six tries, with at most about 8 s of pauses between them. */
export const START_RETRIES: RetryOptions = { attempts: 6, baseDelayMs: 250, maxDelayMs: 8_000 };

export interface StartedExecution {
  executionArn: string;
  movieIds: string[];
}

/** "reanalyze-20261125T100000Z-3f2a": findable in the state machine's log, unique enough for a run. */
export function runName(origin: StartOrigin, now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${origin}-${stamp}-${randomBytes(2).toString('hex')}`;
}

/**
 * StartExecution with the records as input. A throttled start (ThrottlingException,
 * ExecutionLimitExceeded, 5xx) is tried again after a jittered exponential pause; when the tries
 * run out, or on any other error, the error says what happened in words.
 */
export async function startExecution(
  sfn: SFNClient,
  stateMachineArn: string,
  records: readonly StreamRecord[],
  name: string,
  retry: RetryOptions = START_RETRIES,
): Promise<StartedExecution> {
  const movieIds = records.map(movieIdOfRecord);
  try {
    const started = await withRetries(
      () => sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(records) })),
      isRetryableStart,
      retry,
    );
    return { executionArn: started.executionArn ?? '', movieIds };
  } catch (error) {
    throw explainAwsError(error, `StartExecution on ${stateMachineArn}`);
  }
}
