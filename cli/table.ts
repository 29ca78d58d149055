/** Reading the movie table for the operator commands: movie ids, projections, parallel scans and consistent batch reads. */

import { setTimeout as sleep } from 'node:timers/promises';
import {
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  type DynamoDBClient,
  ScanCommand,
  type ScanCommandInput,
} from '@aws-sdk/client-dynamodb';
import { KEY } from '../functions/lib/row';
import type { Item } from '../functions/lib/synthetic-records';
import { backoffDelay } from '../util/backoff';
import { Progress } from '../util/progress';
import { explained, OperatorError } from './errors';
import type { Target } from './target';

export { type Item, KEY };

/** Segments of a parallel scan: each is read by its own sequence of requests. */
export const SCAN_SEGMENTS = 4;

const BATCH_GET_LIMIT = 100;
/** BatchGetItem answers throttling with unprocessed keys rather than an error; this many requests, then give up. */
const UNPROCESSED_ROUNDS = 8;
/** The movie_id of an item as DynamoDB returns it (a number's text), or undefined. */
export function idOf(item: Item | undefined): string | undefined {
  const key = item?.[KEY];
  return key && 'N' in key ? key.N : undefined;
}

/** Numeric order of ids kept as text, exact beyond 2^53 for integers. */
export function compareIds(a: string, b: string): number {
  if (/^-?\d+$/.test(a) && /^-?\d+$/.test(b)) {
    const diff = BigInt(a) - BigInt(b);
    return diff < 0n ? -1 : diff > 0n ? 1 : 0;
  }
  return Number(a) - Number(b);
}

/** A ProjectionExpression for attribute paths such as "analysis.status", every name through a placeholder (many are reserved words). */
export function projection(paths: readonly string[]): { ProjectionExpression: string; ExpressionAttributeNames: Record<string, string> } {
  const names: Record<string, string> = {};
  const placeholder = new Map<string, string>();
  const nameFor = (part: string) => {
    let ph = placeholder.get(part);
    if (!ph) {
      ph = `#p${placeholder.size}`;
      placeholder.set(part, ph);
      names[ph] = part;
    }
    return ph;
  };
  const expression = paths.map((p) => p.split('.').map(nameFor).join('.')).join(', ');
  return { ProjectionExpression: expression, ExpressionAttributeNames: names };
}

/**
 * Scans the whole table in `segments` parallel segments (Segment/TotalSegments), following each
 * segment's pages to the end. `onPage` sees the running count, for progress.
 */
export async function parallelScan(
  dynamodb: DynamoDBClient,
  input: Omit<ScanCommandInput, 'Segment' | 'TotalSegments' | 'ExclusiveStartKey'>,
  options: { segments?: number; onPage?: (scanned: number) => void } = {},
): Promise<Item[]> {
  const segments = options.segments ?? SCAN_SEGMENTS;
  const items: Item[] = [];
  let scanned = 0;
  const readSegment = async (segment: number) => {
    let start: Item | undefined;
    do {
      const page = await dynamodb.send(new ScanCommand({ ...input, Segment: segment, TotalSegments: segments, ExclusiveStartKey: start }));
      items.push(...(page.Items ?? []));
      scanned += page.ScannedCount ?? 0;
      options.onPage?.(scanned);
      start = page.LastEvaluatedKey;
    } while (start);
  };
  await Promise.all(Array.from({ length: segments }, (_, segment) => readSegment(segment)));
  return items;
}

/**
 * Scans the target's whole table as `parallelScan` does, with a running count of the rows read on a
 * terminal (erased when the scan ends); a failure is explained for the operator.
 */
export async function scanTable(
  target: Target,
  input: Omit<ScanCommandInput, 'TableName' | 'Segment' | 'TotalSegments' | 'ExclusiveStartKey'>,
): Promise<Item[]> {
  const progress = new Progress({ terminalOnly: true });
  return explained(
    `scanning table ${target.tableName}`,
    parallelScan(
      target.dynamodb,
      { TableName: target.tableName, ...input },
      { onPage: (scanned) => progress.update(`scanning the table: ${scanned} rows read`) },
    ),
  ).finally(() => progress.finish());
}

/**
 * Reads rows by id with strongly consistent reads (the rows as they are now), 100 per request,
 * re-requesting unprocessed keys with backoff. Rows that do not exist are absent from the map.
 */
export async function getRows(
  dynamodb: DynamoDBClient,
  tableName: string,
  ids: readonly string[],
  paths?: readonly string[],
): Promise<Map<string, Item>> {
  const found = new Map<string, Item>();
  const projected = paths ? projection(paths.includes(KEY) ? paths : [KEY, ...paths]) : {};
  for (let i = 0; i < ids.length; i += BATCH_GET_LIMIT) {
    let keys: Item[] | undefined = [...new Set(ids.slice(i, i + BATCH_GET_LIMIT))].map((id) => ({ [KEY]: { N: id } }));
    for (let round = 0; keys?.length; round++) {
      if (round >= UNPROCESSED_ROUNDS) {
        throw new OperatorError(
          `DynamoDB kept throttling the reads of table ${tableName} (${keys.length} keys still unprocessed after ${round} requests): try again later`,
        );
      }
      if (round > 0) await sleep(backoffDelay(round, { baseDelayMs: 50, maxDelayMs: 2_000 }));
      const page: BatchGetItemCommandOutput = await dynamodb.send(
        new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: keys, ConsistentRead: true, ...projected } } }),
      );
      for (const item of page.Responses?.[tableName] ?? []) {
        const id = idOf(item);
        if (id !== undefined) found.set(id, item);
      }
      keys = page.UnprocessedKeys?.[tableName]?.Keys;
    }
  }
  return found;
}
