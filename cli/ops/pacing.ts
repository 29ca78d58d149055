/** Pacing for the operator commands: a token bucket for the start rate, a bounded worker pool, and retries with backoff and full jitter. */

export type Sleep = (ms: number) => Promise<void>;

export const sleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A token bucket: on average `ratePerSecond` takes, in bursts of at most `burst`. A take that
 * finds the bucket empty reserves the next token (the count goes negative), so concurrent callers
 * queue in order instead of all waking at the same instant and bursting together.
 */
export class TokenBucket {
  readonly burst: number;
  private tokens: number;
  private updatedAt: number;

  constructor(
    readonly ratePerSecond: number,
    burst?: number,
    now = Date.now(),
  ) {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) throw new RangeError('the rate must be a positive number');
    this.burst = burst ?? Math.max(1, Math.ceil(ratePerSecond));
    if (!(this.burst >= 1)) throw new RangeError('the burst must be at least 1');
    this.tokens = this.burst;
    this.updatedAt = now;
  }

  /** Takes one token and says how many milliseconds the caller has to wait before using it. */
  reserve(now = Date.now()): number {
    const elapsed = Math.max(0, now - this.updatedAt);
    this.tokens = Math.min(this.burst, this.tokens + (elapsed / 1000) * this.ratePerSecond);
    this.updatedAt = Math.max(this.updatedAt, now);
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.ratePerSecond) * 1000);
  }

  async take(wait: Sleep = sleep): Promise<void> {
    const delay = this.reserve();
    if (delay > 0) await wait(delay);
  }
}

/**
 * Runs `work` on every item with at most `concurrency` running at once, in order of the items.
 * Once `stopped()` is true no further item is begun; the ones under way finish.
 */
export async function runPool<T>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<void>, stopped: () => boolean = () => false): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && !stopped()) {
      const index = next++;
      await work(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
}

export interface RetryOptions {
  /** Tries in all, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  random?: () => number;
  sleep?: Sleep;
}

export const START_RETRIES: RetryOptions = { attempts: 6, baseDelayMs: 250, maxDelayMs: 8_000 };

/** Full jitter: a uniform pause up to the exponential ceiling, so retrying callers spread out rather than collide again. */
export function backoffDelay(retry: number, options: RetryOptions): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** retry);
  return Math.floor((options.random ?? Math.random)() * ceiling);
}

/** The error of the last try when every try failed on a retryable error. */
export class RetriesExhaustedError extends Error {
  override name = 'RetriesExhaustedError';
  constructor(
    readonly attempts: number,
    readonly lastError: unknown,
  ) {
    super(`still failing after ${attempts} attempts`, { cause: lastError });
  }
}

/** Calls `fn` until it succeeds, a non-retryable error occurs (rethrown as is), or the attempts run out. */
export async function withRetries<T>(fn: () => Promise<T>, retryable: (error: unknown) => boolean, options: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!retryable(error)) throw error;
      if (attempt >= options.attempts) throw new RetriesExhaustedError(attempt, error);
      await (options.sleep ?? sleep)(backoffDelay(attempt - 1, options));
    }
  }
}
