/** The update step: write the analysis (success or failure) onto the row, stale-safe. */
import { ConditionalCheckFailedException, type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import {
  type Analysis,
  type CaughtError,
  type FailureContext,
  failedSteps,
  type StepName,
  type StepRecord,
  withoutFinishTime,
} from './analysis';
import { asTransientIfRetryable } from './errors';
import type { FfprobeResult } from './ffprobe';
import { type OutcomeEvent, outcomeEvent } from './outcome-event';
import type { ObjectIdentity } from './presign';
import { keysOf } from './row';
import { buildAnalysisUpdate, explainStaleRow } from './update-expression';

export interface ExecutionRef {
  id: string;
  started_at: string;
}

/** What the state machine hands the update step, for either outcome. */
export interface UpdateRequest {
  /** The analysis' outcome: SUCCEEDED carries `result`, FAILED carries `failure`. */
  status: Analysis['status'];
  record: unknown;
  execution: ExecutionRef;
  steps?: Partial<Record<StepName, StepRecord>>;
  result?: FfprobeResult;
  /** The object the analysis is of (the presign step's HeadObject); absent when presign failed. */
  object?: ObjectIdentity;
  failure?: { step: StepName; error: CaughtError; started_at?: string; failed_at?: string };
}

/** The execution's account of one row: applied, or left alone and why. */
export interface UpdateOutcome {
  movie_id: string;
  status: Analysis['status'];
  applied: boolean;
  reason?: string;
  error?: Analysis['error'];
  /** For an outcome applied to the row: the event the state machine publishes (outcome-event.ts). */
  event?: OutcomeEvent;
}

/** The analysis map for a request, given how the update step itself went. */
export function analysisFor(request: UpdateRequest, updateStep: StepRecord, now = new Date()): Analysis {
  const base = {
    execution: request.execution.id,
    started_at: request.execution.started_at,
    finished_at: now.toISOString(),
    ...(request.object ? { object: request.object } : {}),
  };
  if (request.status === 'SUCCEEDED') {
    return {
      status: 'SUCCEEDED',
      ...base,
      steps: {
        presign: withoutFinishTime(request.steps?.presign) as StepRecord,
        ffprobe: withoutFinishTime(request.steps?.ffprobe) as StepRecord,
        update: updateStep,
      },
    };
  }
  if (!request.failure) throw new Error('a FAILED update needs a failure');
  const { steps, error } = failedSteps(request.steps ?? {}, request.failure as FailureContext);
  return { status: 'FAILED', ...base, steps, error };
}

/** Writes the analysis; a refused condition is an answer ("left alone because …"), not an error. */
export async function updateRow(
  dynamodb: DynamoDBClient,
  tableName: string,
  request: UpdateRequest,
  updateStep: StepRecord,
): Promise<UpdateOutcome> {
  const analysis = analysisFor(request, updateStep);
  const [key] = Object.values(keysOf(request.record));
  const movieId = String(key?.N ?? key?.S ?? '');
  const input = buildAnalysisUpdate(tableName, request.record, analysis, request.status === 'SUCCEEDED' ? request.result : undefined);
  try {
    await dynamodb.send(new UpdateItemCommand(input));
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException || (error as { name?: string }).name === 'ConditionalCheckFailedException') {
      const reason = explainStaleRow(request.record, (error as ConditionalCheckFailedException).Item, analysis.started_at);
      return { movie_id: movieId, status: analysis.status, applied: false, reason };
    }
    throw asTransientIfRetryable(error, 'updating the row');
  }
  const media = request.status === 'SUCCEEDED' ? request.result?.media : undefined;
  return {
    movie_id: movieId,
    status: analysis.status,
    applied: true,
    ...(analysis.error ? { error: analysis.error } : {}),
    event: outcomeEvent(request.record, analysis, media),
  };
}
