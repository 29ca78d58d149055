/** A token bucket: a long-run rate with bounded bursts, for pacing calls to a rate-limited API. */
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * On average `ratePerSecond` takes, in bursts of at most `burst`. A take that finds the bucket
 * empty reserves the next token (the count goes negative), so concurrent callers queue in order
 * instead of all waking at the same instant and bursting together.
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

  async take(wait: (ms: number) => Promise<unknown> = sleep): Promise<void> {
    const delay = this.reserve();
    if (delay > 0) await wait(delay);
  }
}
