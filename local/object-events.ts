/**
 * The local stand-in for the rule that sends S3's object events to the object-event function: the
 * local S3 endpoint's events for the media bucket are delivered to the function asynchronously,
 * as EventBridge invokes a rule's Lambda target, retried a few times on failure; what still fails
 * is kept in `undelivered`, where the rule's dead-letter queue would have it.
 */
import { type RetriesExhaustedError, type RetryOptions, withRetries } from '../util/backoff';
import type { S3ObjectEvent } from './components/s3';
import type { LocalFunction } from './lambda';

/** Deliveries of one event, and the pauses between them (EventBridge backs off far longer; locally a run is short). */
const DELIVERY_RETRIES: RetryOptions = { attempts: 3, baseDelayMs: 200, maxDelayMs: 1_000 };

export class ObjectEventDelivery {
  readonly undelivered: Array<{ event: S3ObjectEvent; error: string }> = [];
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    readonly target: LocalFunction,
    private readonly bucket: string,
    private readonly log: (line: string) => void,
  ) {}

  /** Events still being delivered. */
  get pending(): number {
    return this.inFlight.size;
  }

  deliver(event: S3ObjectEvent): void {
    if (event.detail.bucket.name !== this.bucket) return;
    const delivery = this.attempt(event).finally(() => this.inFlight.delete(delivery));
    this.inFlight.add(delivery);
  }

  private async attempt(event: S3ObjectEvent): Promise<void> {
    try {
      await withRetries(
        () => this.target.invoke(event),
        () => true,
        DELIVERY_RETRIES,
      );
    } catch (error) {
      const message = ((error as RetriesExhaustedError).lastError as Error | undefined)?.message ?? String(error);
      this.undelivered.push({ event, error: message });
      this.log(`object event for s3://${event.detail.bucket.name}/${event.detail.object.key} not delivered: ${message}`);
    }
  }

  /** Waits for the deliveries under way. */
  async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }
}
