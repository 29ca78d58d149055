/** The operator commands' batching of stream records into executions, and the backfill's progress line. */

import { progressText } from '../../cli/commands/backfill';
import { batchRecords, chunk, MAX_EXECUTION_INPUT_BYTES, RECORDS_PER_EXECUTION } from '../../functions/lib/batching';

describe('batchRecords', () => {
  const record = (id: number, padding = 0) => ({ id, pad: 'x'.repeat(padding) });
  const size = (batch: unknown[]) => Buffer.byteLength(JSON.stringify(batch));

  test('groups by the pipe batch size, in order', () => {
    const records = Array.from({ length: 23 }, (_, i) => record(i));
    const { batches, tooLarge } = batchRecords(records);
    expect(batches.map((b) => b.length)).toEqual([RECORDS_PER_EXECUTION, RECORDS_PER_EXECUTION, 3]);
    expect(batches.flat()).toEqual(records);
    expect(tooLarge).toEqual([]);
  });

  test('starts a new batch before the serialised input would exceed the byte limit', () => {
    const records = Array.from({ length: 6 }, (_, i) => record(i, 90));
    const oneSize = Buffer.byteLength(JSON.stringify(records[0]));
    // Room for exactly two records: "[" a "," b "]".
    const { batches } = batchRecords(records, { maxBytes: 2 * oneSize + 3 });
    expect(batches.map((b) => b.length)).toEqual([2, 2, 2]);
    for (const batch of batches) expect(size(batch)).toBeLessThanOrEqual(2 * oneSize + 3);
    expect(batchRecords(records, { maxBytes: 2 * oneSize + 2 }).batches.map((b) => b.length)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  test('sets aside a record too large for any execution input and keeps the rest', () => {
    const huge = record(1, MAX_EXECUTION_INPUT_BYTES);
    const { batches, tooLarge } = batchRecords([record(0), huge, record(2)]);
    expect(tooLarge).toEqual([huge]);
    expect(batches).toEqual([[record(0), record(2)]]);
  });

  test('chunk splits into consecutive groups', () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunk([], 10)).toEqual([]);
    expect(() => chunk([1], 0)).toThrow(RangeError);
  });
});

describe('progressText', () => {
  const counts = { total: 200, started: 90, skipped: 5, failed: 5, executions: 9 };

  test('a bar with counts, rate and ETA for a terminal', () => {
    expect(progressText(counts, 10_000, true)).toBe(
      '[############------------] 100/200 rows · 9 executions · 10.0 rows/s · ETA 10 s · 5 skipped · 5 failed to start',
    );
  });

  test('a plain line for logs, and "done" at the end', () => {
    expect(progressText({ ...counts, started: 190 }, 20_000, false)).toBe(
      'backfill: 200/200 rows · 9 executions · 10.0 rows/s · done · 5 skipped · 5 failed to start',
    );
    expect(progressText({ total: 7200, started: 10, skipped: 0, failed: 0, executions: 1 }, 10_000, false)).toContain('ETA 1 h 59 min');
  });
});
