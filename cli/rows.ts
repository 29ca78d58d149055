/** Rows in and out of the table: plain JSON ↔ DynamoDB items, and whether a row's analysis has ended. */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';

export type PlainRow = Record<string, unknown>;

/** A plain JSON object as a DynamoDB item: numbers become N, strings S, objects M, arrays L. */
export function rowToItem(row: PlainRow): Record<string, AttributeValue> {
  if (!row || typeof row !== 'object' || Array.isArray(row)) throw new Error('a row must be a JSON object');
  return marshall(row, { removeUndefinedValues: true, convertEmptyValues: false });
}

/** A DynamoDB number as JSON: a number when that is exact, else its digits as a string. */
function jsonNumber(digits: string): number | string {
  const value = Number(digits);
  return Number.isSafeInteger(value) || (!Number.isInteger(value) && String(value) === digits) ? value : digits;
}

/** An item as plain JSON; numbers JavaScript can't hold exactly stay exact as strings. */
export function itemToRow(item: Record<string, AttributeValue>): PlainRow {
  return unmarshall(item, { wrapNumbers: jsonNumber }) as PlainRow;
}

export type Outcome = 'SUCCEEDED' | 'FAILED' | 'DEAD_LETTERED' | 'PENDING';

/** The analysis status recorded on a row, or PENDING while there is none. */
export function recordedOutcome(row: PlainRow | undefined): Outcome {
  const status = (row?.analysis as { status?: string } | undefined)?.status;
  return status === 'SUCCEEDED' || status === 'FAILED' ? status : 'PENDING';
}
