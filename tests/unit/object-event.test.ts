/** What an S3 object event does to a row (functions/lib/object-event.ts), decided on the row as it is; the handler's error branches on mocked clients. */
import { BatchGetItemCommand, DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { actionFor, candidateKeys, handleObjectChange, type ObjectChange, readObjectEvent } from '../../functions/lib/object-event';
import { objectUriOfRecord } from '../../functions/lib/object-index';
import { insertRecord } from './helpers/records';

const created = (object: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  version: '0',
  source: 'aws.s3',
  'detail-type': 'Object Created',
  time: '2026-12-06T10:00:00Z',
  detail: { bucket: { name: 'media' }, object: { key: 'a/b.mov', ...object }, ...extra },
});
const change = (overrides: Partial<ObjectChange> = {}): ObjectChange => ({
  kind: 'created',
  bucket: 'media',
  key: 'a/b.mov',
  etag: 'e2',
  time: '2026-12-06T10:00:00Z',
  ...overrides,
});
const row = (analysis?: Record<string, unknown>, pointer = { S3_bucket: 'media', S3_object: 'a/b.mov' }) =>
  marshall({ movie_id: 7, ...pointer, ...(analysis ? { analysis } : {}) }, { removeUndefinedValues: true });

describe('readObjectEvent', () => {
  test('reads S3’s EventBridge event: kind, bucket, key, the ETag without quotes, the version and the deletion type', () => {
    expect(readObjectEvent(created({ etag: '"abc"', 'version-id': 'v1', size: 3 }))).toEqual({
      kind: 'created',
      bucket: 'media',
      key: 'a/b.mov',
      etag: 'abc',
      versionId: 'v1',
      time: '2026-12-06T10:00:00Z',
    });
    const deleted = { ...created({}, { 'deletion-type': 'Delete Marker Created' }), 'detail-type': 'Object Deleted' };
    expect(readObjectEvent(deleted)).toMatchObject({ kind: 'deleted', deletionType: 'Delete Marker Created' });
  });

  test.each([
    ['another source', { ...created({}), source: 'aws.ec2' }],
    ['another detail-type', { ...created({}), 'detail-type': 'Object Restore Completed' }],
    ['no key', { ...created({}), detail: { bucket: { name: 'media' }, object: {} } }],
    ['nothing', undefined],
  ])('refuses %s as InvalidObjectEventError', (_what, event) => {
    expect(() => readObjectEvent(event)).toThrow(expect.objectContaining({ name: 'InvalidObjectEventError' }));
  });

  test('reads S3’s "null" version id as no version', () => {
    expect(readObjectEvent(created({ etag: 'abc', 'version-id': 'null' })).versionId).toBeUndefined();
  });

  test('looks a key up as given and URL-decoded when that differs', () => {
    expect(candidateKeys('a/b.mov')).toEqual(['a/b.mov']);
    expect(candidateKeys('my+film%282%29.mov')).toEqual(['my+film%282%29.mov', 'my film(2).mov']);
    expect(candidateKeys('100%.mov')).toEqual(['100%.mov']);
  });
});

describe('actionFor', () => {
  const analysed = (object?: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    status: 'SUCCEEDED',
    execution: 'x',
    ...(object ? { object: { bucket: 'media', key: 'a/b.mov', ...object } } : {}),
    ...extra,
  });

  test.each([
    ['new content (another ETag)', row(analysed({ etag: '"e1"' })), change(), 'analyse'],
    ['the same ETag', row(analysed({ etag: '"e2"' })), change(), 'skip'],
    [
      'a new version, though the ETag is the same',
      row(analysed({ etag: '"e2"', version_id: 'v1' })),
      change({ versionId: 'v2' }),
      'analyse',
    ],
    ['the version analysed', row(analysed({ etag: '"e1"', version_id: 'v1' })), change({ versionId: 'v1' }), 'skip'],
    [
      'an overwrite in a suspended bucket (the "null" version, not pinned)',
      row(analysed({ etag: '"e1"' })),
      change({ etag: 'e2' }),
      'analyse',
    ],
    ['a row whose presign found no object', row(analysed(undefined, { status: 'FAILED' })), change(), 'analyse'],
    ['a row marked DELETED, the same content back', row(analysed({ etag: '"e2"' }, { object_state: 'DELETED' })), change(), 'analyse'],
    ['a row re-pointed elsewhere', row(analysed({ etag: '"e1"' }), { S3_bucket: 'media', S3_object: 'other.mov' }), change(), 'skip'],
  ])('created, %s: %s', (_what, item, c, action) => {
    expect(actionFor(item, c).action).toBe(action);
  });

  test.each([
    ['an analysed row', row(analysed({ etag: '"e1"' })), change({ kind: 'deleted' }), 'mark-deleted'],
    [
      'a delete marker over the version analysed',
      row(analysed({ version_id: 'v1' })),
      change({ kind: 'deleted', versionId: 'm1', deletionType: 'Delete Marker Created' }),
      'mark-deleted',
    ],
    [
      'another version deleted for good',
      row(analysed({ version_id: 'v1' })),
      change({ kind: 'deleted', versionId: 'v0', deletionType: 'Permanently Deleted' }),
      'skip',
    ],
    [
      'the version analysed deleted for good (an older one may be current now)',
      row(analysed({ version_id: 'v1' })),
      change({ kind: 'deleted', versionId: 'v1', deletionType: 'Permanently Deleted' }),
      'analyse',
    ],
    [
      'the delete marker removed from a row marked DELETED (the object is back)',
      row(analysed({ version_id: 'v1' }, { object_state: 'DELETED' })),
      change({ kind: 'deleted', versionId: 'm1', deletionType: 'Permanently Deleted' }),
      'analyse',
    ],
    ['a row not analysed yet', row(), change({ kind: 'deleted' }), 'skip'],
    ['a row already marked', row(analysed({}, { object_state: 'DELETED' })), change({ kind: 'deleted' }), 'skip'],
    [
      'a row analysed again after the deletion (the events came out of order)',
      row(analysed({ etag: '"e3"' }, { started_at: '2026-12-06T10:00:05.000Z' })),
      change({ kind: 'deleted', time: '2026-12-06T10:00:00Z' }),
      'skip',
    ],
    [
      'a row analysed before the deletion',
      row(analysed({ etag: '"e1"' }, { started_at: '2026-12-06T09:59:00.000Z' })),
      change({ kind: 'deleted', time: '2026-12-06T10:00:00Z' }),
      'mark-deleted',
    ],
  ])('deleted, %s: %s', (_what, item, c, action) => {
    expect(actionFor(item, c).action).toBe(action);
  });
});

describe('the object index attribute', () => {
  test('is the object the row points at, or nothing for a row that names no valid object', () => {
    expect(objectUriOfRecord(insertRecord())).toMatch(/^s3:\/\/[^/]+\/.+/);
    expect(objectUriOfRecord(insertRecord({ S3_object: { N: '5' } } as never))).toBeUndefined();
  });
});

describe('handleObjectChange', () => {
  const ddb = mockClient(DynamoDBClient);
  const sfn = mockClient(SFNClient);
  afterAll(() => {
    ddb.restore();
    sfn.restore();
  });
  beforeEach(() => {
    ddb.reset();
    sfn.reset();
  });

  test('finds a row by the URL-decoded key too, and decides on it with that key', async () => {
    ddb.on(QueryCommand).callsFake((input: { ExpressionAttributeValues: Record<string, { S: string }> }) => ({
      Items: input.ExpressionAttributeValues[':uri'].S === 's3://media/my film.mov' ? [{ movie_id: { N: '7' } }] : [],
    }));
    ddb.on(BatchGetItemCommand).resolves({
      Responses: {
        t: [
          row(
            { status: 'SUCCEEDED', execution: 'x', object: { bucket: 'media', key: 'my film.mov', etag: '"e1"' } },
            { S3_bucket: 'media', S3_object: 'my film.mov' },
          ),
        ],
      },
    });
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:x', startDate: new Date() });
    const context = {
      dynamodb: new DynamoDBClient({ region: 'eu-west-1' }),
      sfn: new SFNClient({ region: 'eu-west-1' }),
      tableName: 't',
      indexName: 'i',
      stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:m',
      streamArn: 's',
      region: 'eu-west-1',
    };
    const outcome = await handleObjectChange(context, change({ key: 'my+film.mov', etag: 'e2' }));
    expect(outcome).toEqual({ analysed: ['7'], deleted: [], skipped: [] });
    const [record] = JSON.parse(String(sfn.commandCalls(StartExecutionCommand)[0].args[0].input.input));
    expect(record.dynamodb.NewImage).toEqual({ S3_bucket: { S: 'media' }, S3_object: { S: 'my film.mov' } });
  });

  test('lets a DynamoDB error through, for EventBridge to deliver the event again', async () => {
    ddb.on(QueryCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: {} }));
    const context = {
      dynamodb: new DynamoDBClient({ region: 'eu-west-1' }),
      sfn: {} as never,
      tableName: 't',
      indexName: 'i',
      stateMachineArn: 'arn',
      streamArn: 's',
      region: 'eu-west-1',
    };
    await expect(handleObjectChange(context, change())).rejects.toMatchObject({ name: 'ThrottlingException' });
  });
});
