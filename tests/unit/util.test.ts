/** The generic helpers in util/: the token bucket, the bounded pool, back-off with full jitter and retries, the progress line. */

import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay, RetriesExhaustedError, withRetries } from '../../util/backoff';
import { GracefulInterrupt } from '../../util/interrupt';
import { runPool } from '../../util/pool';
import { Progress } from '../../util/progress';
import { TokenBucket } from '../../util/token-bucket';

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
      await sleep(5);
      done.push(item);
      running--;
    });
    expect(peak).toBe(3);
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  test('begins no further item once stopped', async () => {
    const begun: number[] = [];
    let stop = false;
    await runPool(
      [1, 2, 3, 4, 5],
      1,
      async (item) => {
        begun.push(item);
        if (item === 2) stop = true;
      },
      () => stop,
    );
    expect(begun).toEqual([1, 2]);
  });
});

describe('withRetries and backoffDelay', () => {
  const options = { attempts: 4, baseDelayMs: 100, maxDelayMs: 350 };

  test('full jitter: a uniform pause under an exponential ceiling capped at the maximum', () => {
    expect([0, 1, 2, 3].map((retry) => backoffDelay(retry, { ...options, random: () => 0.999 }))).toEqual([99, 199, 349, 349]);
    expect(backoffDelay(3, { ...options, random: () => 0 })).toBe(0);
  });

  test('without jitter the pause is the exponential ceiling itself', () => {
    expect([0, 1, 2, 3].map((retry) => backoffDelay(retry, { ...options, jitter: false }))).toEqual([100, 200, 350, 350]);
  });

  test('retries retryable errors, then gives up with the last error attached', async () => {
    const pauses: number[] = [];
    const fn = jest.fn().mockRejectedValue(Object.assign(new Error('slow down'), { name: 'Throttled' }));
    const error = (await withRetries(fn, () => true, { ...options, random: () => 0.5, sleep: async (ms) => void pauses.push(ms) }).catch(
      (e) => e,
    )) as RetriesExhaustedError;
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

describe('Progress', () => {
  /** A stream that records what was written, and says whether it is a terminal. */
  const sink = (isTTY: boolean) => {
    const stream = Object.assign(new PassThrough(), { isTTY }) as unknown as NodeJS.WriteStream & PassThrough;
    const written: string[] = [];
    stream.on('data', (chunk: Buffer) => written.push(chunk.toString()));
    return { stream, written };
  };

  test('on a terminal: redraws in place at most every 100 ms, skips unchanged text, ends on a fresh line', () => {
    let now = 0;
    const { stream, written } = sink(true);
    const progress = new Progress({ stream, now: () => now });
    progress.update('1/3');
    now = 50;
    progress.update('2/3');
    now = 150;
    progress.update('2/3');
    progress.update('2/3');
    progress.finish('3/3');
    expect(written.join('')).toBe('\r1/3\x1b[K\r2/3\x1b[K\r3/3\x1b[K\n');
  });

  test('in a log: plain lines, the first once two seconds have passed, and the final one always', () => {
    let now = 0;
    const { stream, written } = sink(false);
    const progress = new Progress({ stream, now: () => now });
    progress.update('1/3');
    now = 2_000;
    progress.update('2/3');
    now = 3_000;
    progress.update('2.5/3');
    progress.finish('3/3');
    expect(written).toEqual(['2/3\n', '3/3\n']);
  });

  test('terminal only: silent in a log; on a terminal the line is erased at the end', () => {
    const log = sink(false);
    const inLog = new Progress({ stream: log.stream, terminalOnly: true });
    inLog.update('scanning: 10 rows read');
    inLog.finish();
    expect(log.written).toEqual([]);
    const terminal = sink(true);
    const onTerminal = new Progress({ stream: terminal.stream, terminalOnly: true });
    onTerminal.update('scanning: 10 rows read');
    onTerminal.finish();
    expect(terminal.written.join('')).toBe('\rscanning: 10 rows read\x1b[K\r\x1b[K');
  });
});

describe('GracefulInterrupt', () => {
  it('notes a first Ctrl-C and says what it lets finish; once disposed it leaves SIGINT alone', () => {
    const written: string[] = [];
    const write = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    const before = process.listenerCount('SIGINT');
    const interrupt = new GracefulInterrupt('rows');
    expect(interrupt.requested).toBe(false);
    expect(process.listenerCount('SIGINT')).toBe(before + 1);
    process.emit('SIGINT', 'SIGINT');
    expect(interrupt.requested).toBe(true);
    expect(written.join('')).toBe('\ninterrupted: finishing the rows in flight (Ctrl-C again to quit now)\n');
    // once: the second Ctrl-C reaches Node's default handler (quits).
    expect(process.listenerCount('SIGINT')).toBe(before);
    const unused = new GracefulInterrupt('starts');
    unused.dispose();
    expect(process.listenerCount('SIGINT')).toBe(before);
    write.mockRestore();
  });
});
