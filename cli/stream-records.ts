/**
 * Builds, for rows as they are now, the input the EventBridge Pipe would deliver had each row just
 * been inserted: a JSON array of DynamoDB stream INSERT records, so a manual start runs the very
 * same state machine path as the pipe. The records are marked as synthetic in eventID and SequenceNumber.
 */
import { randomUUID } from 'node:crypto';
import type { _Record as StreamApiRecord } from '@aws-sdk/client-dynamodb-streams';
import { type PipeRecord, toPipeRecord } from '../functions/lib/stream-record';
import { OWNED_ATTRIBUTES } from '../functions/lib/update-expression';
import { type Item, KEY } from './table';

export type StartOrigin = 'reanalyze' | 'backfill';

export interface RecordContext {
  origin: StartOrigin;
  streamArn: string;
  region: string;
  now?: Date;
}

/**
 * The row's image for the record. The pipeline's own outputs are left out: an INSERT never
 * carries them, nothing in the state machine reads them, and an inline ffprobe_output (up to
 * 100 KB) would push a batch past Step Functions' 256 KiB input limit.
 */
function imageOf(item: Item): Item {
  const owned = new Set<string>(OWNED_ATTRIBUTES);
  return Object.fromEntries(Object.entries(item).filter(([name]) => !owned.has(name)));
}

/** One stream record per row, in the shape the pipe hands to Step Functions. */
export function recordsForRows(items: readonly Item[], context: RecordContext): PipeRecord[] {
  const now = context.now ?? new Date();
  const run = randomUUID();
  return items.map((item, index) => {
    const record = {
      eventID: `media-probe-${context.origin}-${run}-${index}`,
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: context.region,
      dynamodb: {
        ApproximateCreationDateTime: now,
        Keys: { [KEY]: item[KEY] },
        NewImage: imageOf(item),
        SequenceNumber: `media-probe-${context.origin}-${now.getTime()}-${index}`,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    } as StreamApiRecord;
    return toPipeRecord(record, context.streamArn);
  });
}

/** The movie_id a record is about. */
export function movieIdOfRecord(record: PipeRecord): string {
  return String(record.dynamodb?.Keys?.[KEY]?.N ?? '?');
}
