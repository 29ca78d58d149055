/**
 * Which rows a backfill analyses, and the select step's page of them: one parallel-scan segment read
 * a page at a time, filtered by DynamoDB, turned into the records the pipe would deliver and packed
 * into state machine inputs. The operator's `backfill` and the backfill state machine share it.
 */
import { type AttributeValue, type DynamoDBClient, ScanCommand, type ScanCommandInput } from '@aws-sdk/client-dynamodb';
import { batchRecords } from './batching';
import { InvalidBackfillInputError } from './errors';
import { MEDIA_SCHEMA_VERSION } from './media-schema';
import type { StreamRecord } from './stream-record';
import { type Item, recordsForRows } from './synthetic-records';

export const BACKFILL_MODES = ['only-missing', 'failed', 'stale', 'older-schema', 'all'] as const;
export type BackfillMode = (typeof BACKFILL_MODES)[number];

type ScanFilter = Pick<ScanCommandInput, 'FilterExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'>;

/** What each mode selects, in words and as the Scan's FilterExpression (none: every row). */
export const MODE_FILTERS: Record<BackfillMode, { description: string; filter?: ScanFilter }> = {
  'only-missing': {
    description: 'without an analysis',
    filter: { FilterExpression: 'attribute_not_exists(#fa)', ExpressionAttributeNames: { '#fa': 'analysis' } },
  },
  failed: {
    description: 'whose analysis FAILED',
    filter: {
      FilterExpression: '#fa.#fs = :failed',
      ExpressionAttributeNames: { '#fa': 'analysis', '#fs': 'status' },
      ExpressionAttributeValues: { ':failed': { S: 'FAILED' } },
    },
  },
  stale: {
    description: 're-pointed since their analysis (STALE)',
    filter: {
      FilterExpression: 'attribute_exists(#fa.#fo.#fk) AND (#fa.#fo.#fb <> #b OR #fa.#fo.#fk <> #k)',
      ExpressionAttributeNames: { '#fa': 'analysis', '#fo': 'object', '#fb': 'bucket', '#fk': 'key', '#b': 'S3_bucket', '#k': 'S3_object' },
    },
  },
  'older-schema': {
    description: `analysed with a summary older than version ${MEDIA_SCHEMA_VERSION}`,
    filter: {
      FilterExpression: '#fa.#fs = :succeeded AND (attribute_not_exists(#fm.#fv) OR #fm.#fv < :version)',
      ExpressionAttributeNames: { '#fa': 'analysis', '#fs': 'status', '#fm': 'media', '#fv': 'schema_version' },
      ExpressionAttributeValues: { ':succeeded': { S: 'SUCCEEDED' }, ':version': { N: String(MEDIA_SCHEMA_VERSION) } },
    },
  },
  all: { description: '(all of them)' },
};

export function isBackfillMode(value: unknown): value is BackfillMode {
  return typeof value === 'string' && (BACKFILL_MODES as readonly string[]).includes(value);
}

/** Rows a select step hands on at most: ten executions of ten, well inside Step Functions' 256 KiB state. */
export const PAGE_ROWS = 100;
/**
 * Rows selected that end a page: each Scan's Limit is what is left of PAGE_ROWS (so a page never
 * holds more), and stopping here keeps that Limit from shrinking to single rows.
 */
const PAGE_FULL = (PAGE_ROWS * 3) / 4;
/** Rows a select step reads at most (before the filter), so a sparse selection still returns within the function's timeout. */
export const PAGE_SCAN_LIMIT = 2_000;

/** What the select step is asked for: where in which segment to go on, and the counts so far. */
export interface SelectRequest {
  mode: BackfillMode;
  segment: number;
  segments: number;
  /** Where the segment's scan goes on; null (or absent) at its start. */
  start_key?: Record<string, AttributeValue> | null;
  rows?: RowCounts;
}

/** The segment's rows so far: read by the scan, selected by the mode's filter, and too large for any execution input. */
export interface RowCounts {
  scanned: number;
  selected: number;
  too_large: number;
}

/** The page: the analyses to run (state machine inputs), and where the segment goes on (null when it is done). */
export interface SelectPage {
  mode: BackfillMode;
  segment: number;
  segments: number;
  start_key: Record<string, AttributeValue> | null;
  rows: RowCounts;
  batches: StreamRecord[][];
}

export interface SelectContext {
  tableName: string;
  streamArn: string;
  region: string;
}

const isCount = (n: unknown, min: number, max: number): n is number => Number.isInteger(n) && (n as number) >= min && (n as number) <= max;

/** The request, checked: a malformed one is the input's fault and is not retried. */
export function readSelectRequest(input: unknown): SelectRequest {
  const request = (input ?? {}) as Partial<SelectRequest>;
  if (!isBackfillMode(request.mode))
    throw new InvalidBackfillInputError(`mode must be one of ${BACKFILL_MODES.join(', ')}, got ${JSON.stringify(request.mode)}`);
  if (!isCount(request.segments, 1, 1_000_000))
    throw new InvalidBackfillInputError(`segments must be an integer from 1 to 1000000, got ${JSON.stringify(request.segments)}`);
  if (!isCount(request.segment, 0, request.segments - 1))
    throw new InvalidBackfillInputError(
      `segment must be an integer from 0 to ${request.segments - 1}, got ${JSON.stringify(request.segment)}`,
    );
  return request as SelectRequest;
}

/**
 * Reads the next page of one segment: Scan requests (the filter applied by DynamoDB) until
 * PAGE_ROWS rows are selected, PAGE_SCAN_LIMIT read, or the segment ends. Each request's Limit is
 * what is left of PAGE_ROWS, so a page never selects more than that.
 */
export async function selectPage(dynamodb: DynamoDBClient, context: SelectContext, request: SelectRequest): Promise<SelectPage> {
  const { filter } = MODE_FILTERS[request.mode];
  const selected: Item[] = [];
  let scanned = 0;
  let startKey = request.start_key ?? undefined;
  do {
    const page = await dynamodb.send(
      new ScanCommand({
        TableName: context.tableName,
        Segment: request.segment,
        TotalSegments: request.segments,
        ExclusiveStartKey: startKey,
        Limit: PAGE_ROWS - selected.length,
        ProjectionExpression: '#key, #bucket, #object',
        ...filter,
        ExpressionAttributeNames: {
          '#key': 'movie_id',
          '#bucket': 'S3_bucket',
          '#object': 'S3_object',
          ...filter?.ExpressionAttributeNames,
        },
      }),
    );
    scanned += page.ScannedCount ?? 0;
    selected.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
    // A page three-quarters full is handed on: Limit (what is left of the page) stays at least a quarter of it.
  } while (startKey && selected.length < PAGE_FULL && scanned < PAGE_SCAN_LIMIT);
  const records = recordsForRows(selected, { origin: 'backfill', streamArn: context.streamArn, region: context.region });
  const { batches, tooLarge } = batchRecords(records);
  return {
    mode: request.mode,
    segment: request.segment,
    segments: request.segments,
    start_key: startKey ?? null,
    rows: {
      scanned: (request.rows?.scanned ?? 0) + scanned,
      selected: (request.rows?.selected ?? 0) + selected.length,
      too_large: (request.rows?.too_large ?? 0) + tooLarge.length,
    },
    batches,
  };
}
