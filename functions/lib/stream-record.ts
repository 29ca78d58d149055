/**
 * The pipe's wire format, both ways: a DynamoDB stream record as the EventBridge Pipe hands it to the
 * state machine (JSON, binary as base64), made from the Streams API's records, and read back into
 * the SDK's AttributeValues.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { _Record as StreamsApiRecord, AttributeValue as StreamsAttributeValue } from '@aws-sdk/client-dynamodb-streams';

/** A stream attribute value as JSON carries it (binary as base64 text). */
export type StreamAttributeValue = { [type: string]: unknown };
export type StreamImage = Record<string, StreamAttributeValue>;

/** The part of a DynamoDB stream record (as the pipe delivers it) that the pipeline reads. */
export interface StreamRecord {
  eventID?: string;
  eventName?: string;
  dynamodb?: {
    Keys?: StreamImage;
    NewImage?: StreamImage;
    SequenceNumber?: string;
  };
}

/** A whole stream record as the pipe delivers it (the Lambda event-source shape). */
export interface PipeRecord {
  eventID?: string;
  eventName?: string;
  eventVersion?: string;
  eventSource?: string;
  awsRegion?: string;
  eventSourceARN?: string;
  dynamodb?: {
    ApproximateCreationDateTime?: number;
    Keys?: StreamImage;
    NewImage?: StreamImage;
    OldImage?: StreamImage;
    SequenceNumber?: string;
    SizeBytes?: number;
    StreamViewType?: string;
  };
}

/** Converts a stream attribute value (JSON, binary as base64) into the SDK's AttributeValue. */
export function toSdkAttributeValue(value: StreamAttributeValue): AttributeValue {
  const [type, inner] = Object.entries(value)[0] ?? [];
  switch (type) {
    case 'B':
      return { B: Buffer.from(String(inner), 'base64') };
    case 'BS':
      return { BS: (inner as string[]).map((item) => Buffer.from(item, 'base64')) };
    case 'M':
      return { M: toSdkItem(inner as StreamImage) };
    case 'L':
      return { L: (inner as StreamAttributeValue[]).map(toSdkAttributeValue) };
    default:
      return value as unknown as AttributeValue;
  }
}

/** Converts a whole stream image into an SDK item. */
export function toSdkItem(image: StreamImage): Record<string, AttributeValue> {
  return Object.fromEntries(Object.entries(image).map(([name, value]) => [name, toSdkAttributeValue(value)]));
}

/** The wire form of an attribute value: binary as base64, like the stream record a pipe passes on. */
function toStreamAttributeValue(value: StreamsAttributeValue): StreamAttributeValue {
  const [[type, inner]] = Object.entries(value).filter(([k]) => k !== '$unknown');
  switch (type) {
    case 'B':
      return { B: Buffer.from(inner as Uint8Array).toString('base64') };
    case 'BS':
      return { BS: (inner as Uint8Array[]).map((b) => Buffer.from(b).toString('base64')) };
    case 'M':
      return { M: toStreamImage(inner as Record<string, StreamsAttributeValue>) };
    case 'L':
      return { L: (inner as StreamsAttributeValue[]).map(toStreamAttributeValue) };
    default:
      return { [type]: inner };
  }
}

function toStreamImage(image: Record<string, StreamsAttributeValue> | undefined): StreamImage | undefined {
  return image && Object.fromEntries(Object.entries(image).map(([k, v]) => [k, toStreamAttributeValue(v)]));
}

/** A Streams API record as the pipe hands it to Step Functions; fields the API left out stay out. */
export function toPipeRecord(record: StreamsApiRecord, streamArn: string): PipeRecord {
  const d = record.dynamodb ?? {};
  const pipeRecord: PipeRecord = {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion,
    eventSource: record.eventSource,
    awsRegion: record.awsRegion,
    dynamodb: {
      ApproximateCreationDateTime: d.ApproximateCreationDateTime ? Math.floor(d.ApproximateCreationDateTime.getTime() / 1000) : undefined,
      Keys: toStreamImage(d.Keys),
      NewImage: toStreamImage(d.NewImage),
      OldImage: toStreamImage(d.OldImage),
      SequenceNumber: d.SequenceNumber,
      SizeBytes: d.SizeBytes,
      StreamViewType: d.StreamViewType,
    },
    eventSourceARN: streamArn,
  };
  // The JSON round trip drops the undefined fields, as the pipe's JSON never has them.
  return JSON.parse(JSON.stringify(pipeRecord)) as PipeRecord;
}
