/** The operator commands' pacing: the token bucket, the bounded pool, backoff with full jitter, the batcher, and the progress line. */
import { batchRecords, chunk, MAX_EXECUTION_INPUT_BYTES, RECORDS_PER_EXECUTION } from '../../cli/ops/batching';
import { backoffDelay, RetriesExhaustedError, runPool, TokenBucket, withRetries } from '../../cli/ops/pacing';
import { progressText } from '../../cli/ops/progress';

describe('TokenBucket', () => {
  test('allows a burst, then spaces takes at 1/rate, queueing concurrent callers in order', () => {
    const bucket = new TokenBucket(2, 2, 0);
    expect([bucket.reserve(0), bucket.reserve(0)]).toEqual([0, 0]);
    // Empty: the third waits one interval, the fourth two.
    expect(bucket.reserve(0)).toBe(500);
    expect(bucket.reserve(0)).toBe(1000);
    // One second later the two reserved tokens have been paid back; the next is half a second out.
    expect(bucket.reserve(1000)).toBe(500);
  });

  test('refills at the rate and never beyond the burst', () => {
    const bucket = new TokenBucket(4, 2, 0);
    bucket.reserve(0);
    bucket.reserve(0);
    // Ten idle seconds still only buy the burst.
    expect([bucket.reserve(10_000), bucket.reserve(10_000), bucket.reserve(10_000)]).toEqual([0, 0, 250]);
  });

  test('keeps a long-run average of the rate', () => {
    const bucket = new TokenBucket(5, 1, 0);
    let now = 0;
    for (let i = 0; i < 100; i++) now += bucket.reserve(now);
    // 100 takes with one free token: 99 intervals of 200 ms.
    expect(now).toBe(99 * 200);
  });

  test('fractional rates get a burst of one, and a rate must be positive', () => {
    const bucket = new TokenBucket(0.5, undefined, 0);
    expect(bucket.burst).toBe(1);
    expect(bucket.reserve(0)).toBe(0);
    expect(bucket.reserve(0)).toBe(2000);
    expect(() => new TokenBucket(0)).toThrow(RangeError);
    expect(() => new TokenBucket(Number.NaN)).toThrow(RangeError);
  });
});

describe('runPool', () => {
  test('never runs more than the concurrency at once and does every item', async () => {
    let running = 0;
    let peak = 0;
    const done: number[] = [];
    await runPool([1, 2, 3, 4, 5, 6, 7], 3, async (item) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      done.push(item);
      running--;
    });
    expect(peak).toBe(3);
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  test('begins no further item once stopped', async () => {
    const begun: number[] = [];
    let stop = false;
    await runPool([1, 2, 3, 4, 5], 1, async (item) => {
      begun.push(item);
      if (item === 2) stop = true;
    }, () => stop);
    expect(begun).toEqual([1, 2]);
  });
});

describe('withRetries and backoffDelay', () => {
  const options = { attempts: 4, baseDelayMs: 100, maxDelayMs: 350 };

  test('full jitter: a uniform pause under an exponential ceiling capped at the maximum', () => {
    expect([0, 1, 2, 3].map((retry) => backoffDelay(retry, { ...options, random: () => 0.999 }))).toEqual([99, 199, 349, 349]);
    expect(backoffDelay(3, { ...options, random: () => 0 })).toBe(0);
  });

  test('retries retryable errors, then gives up with the last error attached', async () => {
    const pauses: number[] = [];
    const fn = jest.fn().mockRejectedValue(Object.assign(new Error('slow down'), { name: 'Throttled' }));
    const error = (await withRetries(fn, () => true, { ...options, random: () => 0.5, sleep: async (ms) => void pauses.push(ms) }).catch((e) => e)) as RetriesExhaustedError;
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect(error.attempts).toBe(4);
    expect((error.lastError as Error).message).toBe('slow down');
    expect(fn).toHaveBeenCalledTimes(4);
    expect(pauses).toEqual([50, 100, 175]);
  });

  test('rethrows a non-retryable error at once', async () => {
    const fn = jest.fn().mockRejectedValue(new Error('bad input'));
    await expect(withRetries(fn, () => false, { ...options, sleep: async () => undefined })).rejects.toThrow('bad input');
    expect(fn).toHaveBeenCalledTimes(1);
  });
});

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
    expect(progressText(counts, 10_000, true)).toBe('[############------------] 100/200 rows · 9 executions · 10.0 rows/s · ETA 10 s · 5 skipped · 5 failed to start');
  });

  test('a plain line for logs, and "done" at the end', () => {
    expect(progressText({ ...counts, started: 190 }, 20_000, false)).toBe('backfill: 200/200 rows · 9 executions · 10.0 rows/s · done · 5 skipped · 5 failed to start');
    expect(progressText({ total: 7200, started: 10, skipped: 0, failed: 0, executions: 1 }, 10_000, false)).toContain('ETA 1 h 59 min');
  });
});
