/**
 * Generic "fail the next N matching requests" bookkeeping shared by the S3 endpoint and the
 * DynamoDB fault proxy; each component decides what a match is and what the failure looks like.
 */

export interface FaultHandle {
  /** Requests this fault has failed so far. */
  readonly fired: number;
  /** Failures still to come (Infinity until cleared). */
  readonly remaining: number;
  /** Withdraw this fault. */
  clear(): void;
}

interface Entry<R> {
  matches: (request: R) => boolean;
  remaining: number;
  fired: number;
}

/** Holds armed faults; `take` is called once per incoming request and consumes at most one fault. */
export class FaultInjector<R, F> {
  private readonly entries: Array<Entry<R> & { fault: F }> = [];

  /** Arm `fault` for the next `times` requests that `matches` accepts (default once; Infinity until cleared). */
  arm(matches: (request: R) => boolean, fault: F, times = 1): FaultHandle {
    if (!(times >= 1)) throw new RangeError(`times must be >= 1 (got ${times})`);
    const entry = { matches, fault, remaining: times, fired: 0 };
    this.entries.push(entry);
    const entries = this.entries;
    return {
      get fired() {
        return entry.fired;
      },
      get remaining() {
        return entry.remaining;
      },
      clear() {
        const i = entries.indexOf(entry);
        if (i >= 0) entries.splice(i, 1);
        entry.remaining = 0;
      },
    };
  }

  /** The fault to apply to this request, if any; earlier armed faults win. */
  take(request: R): F | undefined {
    const i = this.entries.findIndex((e) => e.matches(request));
    if (i < 0) return undefined;
    const entry = this.entries[i];
    entry.fired += 1;
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.entries.splice(i, 1);
    return entry.fault;
  }

  /** Withdraw every armed fault. */
  clear(): void {
    for (const e of this.entries) e.remaining = 0;
    this.entries.length = 0;
  }

  /** Number of faults still armed. */
  get pending(): number {
    return this.entries.length;
  }
}
