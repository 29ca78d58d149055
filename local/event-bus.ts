/**
 * The local stand-in for the EventBridge bus the state machine publishes outcomes on: each
 * PutEvents entry becomes an event as EventBridge delivers it to a rule's target, kept in memory,
 * appended to a JSON Lines file when the stack has a data directory, and handed to listeners
 * (`media-probe up` prints them).
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';

/** An event as EventBridge delivers it (the envelope, `detail` parsed). */
export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
}

/** One entry of a PutEvents request, as the state machine's integration sends it. */
export interface PutEventsEntry {
  Source?: string;
  DetailType?: string;
  Detail?: unknown;
  EventBusName?: string;
  Resources?: string[];
}

export class LocalEventBus {
  readonly events: BusEvent[] = [];
  private readonly listeners = new Set<(event: BusEvent) => void>();

  constructor(private readonly options: { region: string; account: string; file?: string }) {}

  /** PutEvents: every entry is accepted (the local bus has no rules that could refuse one). */
  put(entries: readonly PutEventsEntry[]): { Entries: Array<{ EventId: string }>; FailedEntryCount: number } {
    const accepted = entries.map((entry) => {
      const event: BusEvent = {
        version: '0',
        id: randomUUID(),
        'detail-type': String(entry.DetailType),
        source: String(entry.Source),
        account: this.options.account,
        time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        region: this.options.region,
        resources: entry.Resources ?? [],
        // The integration sends Detail as JSON (an object from the state); the API takes its text.
        detail: typeof entry.Detail === 'string' ? JSON.parse(entry.Detail) : entry.Detail,
      };
      this.events.push(event);
      if (this.options.file) appendFileSync(this.options.file, `${JSON.stringify(event)}\n`);
      for (const listener of this.listeners) listener(event);
      return { EventId: event.id };
    });
    return { Entries: accepted, FailedEntryCount: 0 };
  }

  /** Calls `listener` with every event published from now on; returns how to stop. */
  subscribe(listener: (event: BusEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
