/** Exponential back-off (with full jitter unless told otherwise), and retrying a call with it. */
import { setTimeout as sleep } from 'node:timers/promises';

export interface BackoffOptions {
  /** The pause before the first retry (the ceiling of it, with jitter). */
  baseDelayMs: number;
  /** No pause is longer than this. */
  maxDelayMs: number;
  /**
   * Full jitter (the default): a uniform pause up to the exponential ceiling, so callers retrying
   * together spread out rather than collide again. Without it the pause is the ceiling itself.
   */
  jitter?: boolean;
  random?: () => number;
}

/** The pause before retry number `retry` (0 for the first retry). */
export function backoffDelay(retry: number, options: BackoffOptions): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** retry);
  return options.jitter === false ? ceiling : Math.floor((options.random ?? Math.random)() * ceiling);
}

export interface RetryOptions extends BackoffOptions {
  /** Tries in all, the first included. */
  attempts: number;
  sleep?: (ms: number) => Promise<unknown>;
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
