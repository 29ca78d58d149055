/** Splits stream records into state machine inputs the way the pipe would: at most its batch size, and within Step Functions' input limit. */

/** The pipe's batch size (PipeBatchSize's default) and the Map state's MaxConcurrency. */
export const RECORDS_PER_EXECUTION = 10;

/** Step Functions refuses an execution input over 256 KiB (UTF-8). */
export const MAX_EXECUTION_INPUT_BYTES = 262_144;

export interface BatchLimits {
  maxRecords: number;
  maxBytes: number;
}

export interface Batches<T> {
  batches: T[][];
  /** Records that alone exceed the byte limit: no execution can carry them. */
  tooLarge: T[];
}

const DEFAULT_LIMITS: BatchLimits = { maxRecords: RECORDS_PER_EXECUTION, maxBytes: MAX_EXECUTION_INPUT_BYTES };

/** Consecutive groups of at most `size` items. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  if (!(size >= 1)) throw new RangeError('the chunk size must be at least 1');
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/**
 * Packs records, in order, into JSON arrays of at most `maxRecords` whose serialised size stays
 * within `maxBytes`; a record that cannot fit even alone is set aside in `tooLarge`.
 */
export function batchRecords<T>(records: readonly T[], limits: Partial<BatchLimits> = {}): Batches<T> {
  const { maxRecords, maxBytes } = { ...DEFAULT_LIMITS, ...limits };
  const batches: T[][] = [];
  const tooLarge: T[] = [];
  let current: T[] = [];
  // "[" + "]" around the batch, and a comma before every record but the first.
  let currentBytes = 2;
  for (const record of records) {
    const bytes = Buffer.byteLength(JSON.stringify(record), 'utf8');
    if (bytes + 2 > maxBytes) {
      tooLarge.push(record);
      continue;
    }
    const added = bytes + (current.length ? 1 : 0);
    if (current.length >= maxRecords || currentBytes + added > maxBytes) {
      batches.push(current);
      current = [];
      currentBytes = 2;
    }
    currentBytes += bytes + (current.length ? 1 : 0);
    current.push(record);
  }
  if (current.length) batches.push(current);
  return { batches, tooLarge };
}
