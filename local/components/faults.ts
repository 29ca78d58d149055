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

/** A fault taken for one request. */
export interface TakenFault<F> {
  fault: F;
  /** Aborted when the fault is cleared, by its handle or with every fault: what a request held by the fault waits for. */
  cleared: AbortSignal;
}

interface Entry<R, F> {
  matches: (request: R) => boolean;
  fault: F;
  remaining: number;
  fired: number;
  cleared: AbortController;
}

/** Holds armed faults; `take` is called once per incoming request and consumes at most one fault. */
export class FaultInjector<R, F> {
  private readonly entries: Array<Entry<R, F>> = [];
  /**
   * Every fault not cleared yet, consumed ones too: a request a fault holds (the S3 endpoint's
   * Stall) waits for the clear, and a spent `times: 1` fault is still cleared by clear().
   */
  private readonly uncleared = new Set<AbortController>();

  /** Arm `fault` for the next `times` requests that `matches` accepts (default once; Infinity until cleared). */
  arm(matches: (request: R) => boolean, fault: F, times = 1): FaultHandle {
    if (!(times >= 1)) throw new RangeError(`times must be >= 1 (got ${times})`);
    const entry: Entry<R, F> = { matches, fault, remaining: times, fired: 0, cleared: new AbortController() };
    this.entries.push(entry);
    this.uncleared.add(entry.cleared);
    const entries = this.entries;
    const uncleared = this.uncleared;
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
        uncleared.delete(entry.cleared);
        entry.cleared.abort();
      },
    };
  }

  /** The fault to apply to this request, if any; earlier armed faults win. */
  take(request: R): TakenFault<F> | undefined {
    const i = this.entries.findIndex((e) => e.matches(request));
    if (i < 0) return undefined;
    const entry = this.entries[i];
    entry.fired += 1;
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.entries.splice(i, 1);
    return { fault: entry.fault, cleared: entry.cleared.signal };
  }

  /** Withdraw every armed fault. */
  clear(): void {
    for (const e of this.entries) e.remaining = 0;
    this.entries.length = 0;
    for (const cleared of this.uncleared) cleared.abort();
    this.uncleared.clear();
  }

  /** Number of faults still armed. */
  get pending(): number {
    return this.entries.length;
  }
}
