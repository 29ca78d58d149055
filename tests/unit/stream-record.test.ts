/**
 * The pipe's wire format both ways: Streams API records into the JSON the pipe reads, its projection
 * for the state machine, the projection read back with missing attributes left out, and that JSON
 * back into SDK values.
 */
import type { _Record as StreamsApiRecord } from '@aws-sdk/client-dynamodb-streams';
import { projectStreamRecord, readStreamRecord, toPipeRecord, toSdkAttributeValue, toSdkItem } from '../../functions/lib/stream-record';
import { insertRecord, rowImage } from './helpers/records';

describe('toSdkAttributeValue', () => {
  it('decodes B from base64 into bytes', () => {
    const value = toSdkAttributeValue({ B: 'AAEC/w==' });
    expect(value.B).toBeInstanceOf(Uint8Array);
    expect(Array.from(value.B!)).toEqual([0, 1, 2, 255]);
  });

  it('decodes every member of BS', () => {
    const value = toSdkAttributeValue({ BS: ['AQ==', 'AgM='] });
    expect(value.BS!.map((b) => Array.from(b))).toEqual([[1], [2, 3]]);
  });

  it('converts nested M and L, decoding binary at any depth and leaving other types alone', () => {
    const value = toSdkAttributeValue({
      M: {
        title: { S: 'x' },
        size: { N: '10' },
        thumbs: { L: [{ B: 'AQ==' }, { M: { raw: { B: 'Ag==' }, ok: { BOOL: true } } }, { NULL: true }] },
        tags: { SS: ['a', 'b'] },
      },
    });
    expect(value.M!.title).toEqual({ S: 'x' });
    expect(value.M!.size).toEqual({ N: '10' });
    expect(value.M!.tags).toEqual({ SS: ['a', 'b'] });
    const list = value.M!.thumbs.L!;
    expect(Array.from(list[0].B!)).toEqual([1]);
    expect(Array.from(list[1].M!.raw.B!)).toEqual([2]);
    expect(list[1].M!.ok).toEqual({ BOOL: true });
    expect(list[2]).toEqual({ NULL: true });
  });

  it('converts a whole image', () => {
    const item = toSdkItem({ movie_id: { N: '7' }, poster: { B: '/w==' } });
    expect(item.movie_id).toEqual({ N: '7' });
    expect(Array.from(item.poster.B!)).toEqual([255]);
  });
});

describe('toPipeRecord', () => {
  const streamArn = 'arn:aws:dynamodb:us-east-1:123456789012:table/movies/stream/2025-01-01T00:00:00.000';
  const record: StreamsApiRecord = {
    eventID: 'e1',
    eventName: 'INSERT',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    dynamodb: {
      ApproximateCreationDateTime: new Date('2025-01-01T12:00:00.900Z'),
      Keys: { movie_id: { N: '7' } },
      NewImage: { movie_id: { N: '7' }, poster: { B: new Uint8Array([0, 255]) }, extras: { M: { thumbs: { BS: [new Uint8Array([1])] } } } },
      SequenceNumber: '100',
      SizeBytes: 42,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };

  it('writes binary as base64 at any depth, the creation time in whole seconds, and the stream ARN', () => {
    const wire = toPipeRecord(record, streamArn);
    expect(wire).toEqual({
      eventID: 'e1',
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'us-east-1',
      dynamodb: {
        ApproximateCreationDateTime: 1735732800,
        Keys: { movie_id: { N: '7' } },
        NewImage: { movie_id: { N: '7' }, poster: { B: 'AP8=' }, extras: { M: { thumbs: { BS: ['AQ=='] } } } },
        SequenceNumber: '100',
        SizeBytes: 42,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
      eventSourceARN: streamArn,
    });
  });

  it('leaves out what the record does not have (no OldImage on an INSERT)', () => {
    expect(Object.keys(toPipeRecord(record, streamArn).dynamodb ?? {})).not.toContain('OldImage');
  });

  it('is undone by toSdkItem: the image read back is the image the stream held', () => {
    const wire = toPipeRecord(record, streamArn);
    expect(toSdkItem(wire.dynamodb?.NewImage ?? {})).toEqual(record.dynamodb?.NewImage);
  });
});

describe('projectStreamRecord', () => {
  it('keeps the identity, the key and the S3 attributes the write is conditioned on, and nothing else of the row', () => {
    const record = insertRecord(rowImage({ notes: { S: 'x'.repeat(300_000) }, tags: { L: [{ S: 'a' }] } }));
    const projected = projectStreamRecord(record);
    expect(projected).toEqual({
      eventID: record.eventID,
      eventName: 'INSERT',
      dynamodb: {
        Keys: record.dynamodb?.Keys,
        NewImage: rowImage({}, ['movie_id', 'title']),
        SequenceNumber: record.dynamodb?.SequenceNumber,
      },
    });
    expect(JSON.stringify(projected).length).toBeLessThan(1000);
  });

  it('leaves out S3 attributes the row does not have, so the write still requires them absent', () => {
    const projected = projectStreamRecord(insertRecord(rowImage({}, ['S3_object'])));
    expect(Object.keys(projected.dynamodb?.NewImage ?? {})).toEqual(['S3_bucket']);
  });

  it('is its own projection', () => {
    const projected = projectStreamRecord(insertRecord());
    expect(projectStreamRecord(projected)).toEqual(projected);
  });
});

describe('readStreamRecord', () => {
  it.each([
    ['an empty string', ''],
    ['null', null],
  ])('reads an S3 attribute the pipe filled with %s as missing', (_name, placeholder) => {
    const delivered = {
      ...insertRecord(),
      dynamodb: { ...insertRecord().dynamodb, NewImage: { ...rowImage({}, ['movie_id', 'title']), S3_object: placeholder } },
    };
    expect(readStreamRecord(delivered)).toEqual(projectStreamRecord(insertRecord(rowImage({}, ['S3_object']))));
  });

  it('leaves a record alone whose attributes are all there, and hands on what is no stream record unchanged', () => {
    const record = projectStreamRecord(insertRecord());
    expect(readStreamRecord(record)).toEqual(record);
    for (const input of [null, 'row', 42, {}, { dynamodb: { NewImage: 'row' } }]) expect(readStreamRecord(input)).toBe(input);
  });

  it('keeps a mistyped attribute for the row validation to name', () => {
    const record = insertRecord(rowImage({ S3_bucket: { N: '42' } }));
    expect(readStreamRecord(record)).toEqual(record);
  });
});
