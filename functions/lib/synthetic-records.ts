/**
 * Builds, for rows as they are now, the input the EventBridge Pipe would deliver had each row just
 * been inserted: DynamoDB stream INSERT records projected as the pipe's InputTemplate projects them,
 * so a manual start runs the very same state machine path as the pipe. The records are marked as
 * synthetic in eventID and SequenceNumber.
 */
import { randomUUID } from 'node:crypto';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { _Record as StreamApiRecord } from '@aws-sdk/client-dynamodb-streams';
import { KEY } from './row';
import { projectStreamRecord, type StreamRecord, toPipeRecord } from './stream-record';

/** A table item as DynamoDB returns it. */
export type Item = Record<string, AttributeValue>;

export type StartOrigin = 'reanalyze' | 'backfill' | 'object-event';

export interface RecordContext {
  origin: StartOrigin;
  streamArn: string;
  region: string;
  now?: Date;
}

/** One stream record per row, in the shape the pipe hands to Step Functions. */
export function recordsForRows(items: readonly Item[], context: RecordContext): StreamRecord[] {
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
        NewImage: item,
        SequenceNumber: `media-probe-${context.origin}-${now.getTime()}-${index}`,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    } as StreamApiRecord;
    return projectStreamRecord(toPipeRecord(record, context.streamArn));
  });
}

/** The movie_id a record is about. */
export function movieIdOfRecord(record: StreamRecord): string {
  return String(record.dynamodb?.Keys?.[KEY]?.N ?? '?');
}
