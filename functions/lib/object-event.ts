/**
 * What an S3 "Object Created" / "Object Deleted" event (S3 → EventBridge) does to the rows that
 * point at that object: found through the object index, a row whose recorded ETag or version
 * differs is analysed again (the state machine started with the records the pipe would deliver);
 * a deletion is recorded on the row as `analysis.object_state = "DELETED"`. A row re-pointed
 * elsewhere since, or whose analysis already describes this very object, is left alone.
 */
import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { batchRecords, chunk } from './batching';
import { OBJECT_URI, objectUri } from './object-index';
import { KEY } from './row';
import { type Item, recordsForRows } from './synthetic-records';

/** An event that is not an S3 object event media-probe handles: a wrong rule or a hand-made test event. */
export class InvalidObjectEventError extends Error {
  override name = 'InvalidObjectEventError';
}

export interface ObjectChange {
  kind: 'created' | 'deleted';
  bucket: string;
  key: string;
  /** S3's ETag, without quotes (EventBridge gives it so). */
  etag?: string;
  versionId?: string;
  /** "Permanently Deleted" or "Delete Marker Created". */
  deletionType?: string;
  time: string;
}

const DETAIL_TYPES: Record<string, ObjectChange['kind']> = { 'Object Created': 'created', 'Object Deleted': 'deleted' };

/** The change an S3 EventBridge event describes; InvalidObjectEventError for anything else. */
export function readObjectEvent(event: unknown): ObjectChange {
  const e = (event ?? {}) as {
    source?: string;
    'detail-type'?: string;
    time?: string;
    detail?: { bucket?: { name?: unknown }; object?: { key?: unknown; etag?: unknown; 'version-id'?: unknown }; 'deletion-type'?: unknown };
  };
  const kind = DETAIL_TYPES[String(e['detail-type'])];
  const bucket = e.detail?.bucket?.name;
  const key = e.detail?.object?.key;
  if (e.source !== 'aws.s3' || !kind || typeof bucket !== 'string' || typeof key !== 'string') {
    throw new InvalidObjectEventError(
      `not an S3 Object Created or Object Deleted event with a bucket and a key (source ${JSON.stringify(e.source)}, detail-type ${JSON.stringify(e['detail-type'])})`,
    );
  }
  const text = (value: unknown) => (typeof value === 'string' && value ? value : undefined);
  return {
    kind,
    bucket,
    key,
    etag: text(e.detail?.object?.etag)?.replace(/"/g, ''),
    // "null" names the null version of an unversioned or suspended bucket: no version to pin.
    versionId: nullVersion(text(e.detail?.object?.['version-id'])),
    deletionType: text(e.detail?.['deletion-type']),
    time: text(e.time) ?? new Date().toISOString(),
  };
}

/** A version id, or undefined for S3's "null" version (an object written while versioning was off or suspended). */
export function nullVersion(versionId: string | undefined): string | undefined {
  return versionId === 'null' ? undefined : versionId;
}

/**
 * The keys to look the object up by: as the event gives it, and URL-decoded too when that differs
 * (S3's other notifications encode keys; whether EventBridge's ever do is not documented).
 */
export function candidateKeys(key: string): string[] {
  let decoded = key;
  try {
    decoded = decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    // Not a valid encoding: the key is meant as it is.
  }
  return decoded === key ? [key] : [key, decoded];
}

/** S3 gives an event's time to the second. */
const EVENT_TIME_RESOLUTION_MS = 1_000;

export type RowAction = { action: 'analyse' } | { action: 'mark-deleted' } | { action: 'skip'; reason: string };

const stringOf = (value: AttributeValue | undefined) => (value && 'S' in value ? value.S : undefined);

/** What the change means for one row, as the row is now. */
export function actionFor(item: Item, change: ObjectChange): RowAction {
  if (stringOf(item.S3_bucket) !== change.bucket || stringOf(item.S3_object) !== change.key) {
    return { action: 'skip', reason: 'the row points at another object now' };
  }
  const analysis = item.analysis && 'M' in item.analysis ? item.analysis.M : undefined;
  const recorded = analysis?.object && 'M' in analysis.object ? analysis.object.M : undefined;
  const deleted = stringOf(analysis?.object_state) === 'DELETED';
  const recordedVersion = nullVersion(stringOf(recorded?.version_id));
  if (change.kind === 'deleted') {
    if (!analysis) return { action: 'skip', reason: 'the row has no analysis yet' };
    // In a versioned bucket, a version deleted for good: when it is the one analysed another may be
    // current now, and on a row marked DELETED it may be the delete marker, removed to bring the
    // object back. What is there now is analysed; another version's removal changes nothing.
    if (change.versionId && change.deletionType === 'Permanently Deleted') {
      if (deleted || change.versionId === recordedVersion) return { action: 'analyse' };
      return { action: 'skip', reason: 'another version of the object was deleted' };
    }
    if (deleted) return { action: 'skip', reason: 'the deletion is recorded already' };
    // S3 does not promise order: an analysis that started after the deletion read what is there now.
    const startedAt = Date.parse(stringOf(analysis.started_at) ?? '');
    if (startedAt > Date.parse(change.time) + EVENT_TIME_RESOLUTION_MS) {
      return { action: 'skip', reason: 'the row was analysed again after the deletion' };
    }
    return { action: 'mark-deleted' };
  }
  if (!recorded || deleted) return { action: 'analyse' };
  if (change.versionId && recordedVersion === change.versionId) return { action: 'skip', reason: 'this version is the one analysed' };
  const recordedEtag = stringOf(recorded.etag)?.replace(/"/g, '');
  if (!change.versionId && change.etag && recordedEtag === change.etag) {
    return { action: 'skip', reason: 'the same content (ETag) is the one analysed' };
  }
  return { action: 'analyse' };
}

export interface ObjectEventContext {
  dynamodb: DynamoDBClient;
  sfn: SFNClient;
  tableName: string;
  indexName: string;
  stateMachineArn: string;
  streamArn: string;
  region: string;
}

export interface ObjectEventOutcome {
  analysed: string[];
  deleted: string[];
  skipped: Array<{ movie_id: string; reason: string }>;
}

/** BatchGetItem answers throttling with unprocessed keys: this many requests, then the event is retried. */
const UNPROCESSED_ROUNDS = 5;

/** The rows whose object_uri names the changed object, as they are now (a consistent read). */
async function rowsPointingAt(context: ObjectEventContext, change: ObjectChange): Promise<Item[]> {
  const keys = new Map<string, Record<string, AttributeValue>>();
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await context.dynamodb.send(
      new QueryCommand({
        TableName: context.tableName,
        IndexName: context.indexName,
        KeyConditionExpression: '#uri = :uri',
        ExpressionAttributeNames: { '#uri': OBJECT_URI },
        ExpressionAttributeValues: { ':uri': { S: objectUri(change.bucket, change.key) } },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) if (item[KEY]) keys.set(JSON.stringify(item[KEY]), { [KEY]: item[KEY] });
    start = page.LastEvaluatedKey;
  } while (start);
  const items: Item[] = [];
  for (const group of chunk([...keys.values()], 100)) {
    let pending: Array<Record<string, AttributeValue>> | undefined = group;
    for (let round = 0; pending?.length; round++) {
      if (round === UNPROCESSED_ROUNDS) throw new Error(`DynamoDB left ${pending.length} rows unread after ${round} requests`);
      const page: BatchGetItemCommandOutput = await context.dynamodb.send(
        new BatchGetItemCommand({ RequestItems: { [context.tableName]: { Keys: pending, ConsistentRead: true } } }),
      );
      items.push(...(page.Responses?.[context.tableName] ?? []));
      pending = page.UnprocessedKeys?.[context.tableName]?.Keys;
    }
  }
  return items;
}

async function markDeleted(context: ObjectEventContext, item: Item, change: ObjectChange): Promise<boolean> {
  try {
    await context.dynamodb.send(
      new UpdateItemCommand({
        TableName: context.tableName,
        Key: { [KEY]: item[KEY] },
        UpdateExpression: 'SET #analysis.#state = :deleted, #analysis.#deleted_at = :time',
        // Only the analysis looked at, on a row that still points at the object.
        ConditionExpression: '#analysis.#execution = :execution AND #bucket = :bucket AND #key = :key',
        ExpressionAttributeNames: {
          '#analysis': 'analysis',
          '#state': 'object_state',
          '#deleted_at': 'object_deleted_at',
          '#execution': 'execution',
          '#bucket': 'S3_bucket',
          '#key': 'S3_object',
        },
        ExpressionAttributeValues: {
          ':deleted': { S: 'DELETED' },
          // In the form the analysis' own times have (milliseconds), so the two compare as text.
          ':time': { S: new Date(change.time).toISOString() },
          ':execution': (item.analysis as { M: Record<string, AttributeValue> }).M.execution ?? { NULL: true },
          ':bucket': { S: change.bucket },
          ':key': { S: change.key },
        },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException || (error as { name?: string }).name === 'ConditionalCheckFailedException')
      return false;
    throw error;
  }
}

/** Applies the change to every row that points at the object. Errors propagate, for EventBridge to retry the event (each action is safe to repeat). */
export async function handleObjectChange(context: ObjectEventContext, change: ObjectChange): Promise<ObjectEventOutcome> {
  const outcome: ObjectEventOutcome = { analysed: [], deleted: [], skipped: [] };
  for (const key of candidateKeys(change.key)) await handleKey(context, { ...change, key }, outcome);
  return outcome;
}

/** The change for one spelling of the key: the rows whose object_uri names it. */
async function handleKey(context: ObjectEventContext, change: ObjectChange, outcome: ObjectEventOutcome): Promise<void> {
  const toAnalyse: Item[] = [];
  const idOf = (item: Item) => String(stringOf(item[KEY]) ?? (item[KEY] as { N?: string })?.N);
  for (const item of await rowsPointingAt(context, change)) {
    const decision = actionFor(item, change);
    if (decision.action === 'analyse') toAnalyse.push(item);
    else if (decision.action === 'skip') outcome.skipped.push({ movie_id: idOf(item), reason: decision.reason });
    else if (await markDeleted(context, item, change)) outcome.deleted.push(idOf(item));
    else outcome.skipped.push({ movie_id: idOf(item), reason: 'the row changed meanwhile' });
  }
  const records = recordsForRows(toAnalyse, { origin: 'object-event', streamArn: context.streamArn, region: context.region });
  for (const batch of batchRecords(records).batches) {
    await context.sfn.send(new StartExecutionCommand({ stateMachineArn: context.stateMachineArn, input: JSON.stringify(batch) }));
  }
  outcome.analysed.push(...toAnalyse.map(idOf));
}
