/**
 * The pipe's wire format, both ways: a DynamoDB stream record as the EventBridge Pipe reads it (JSON,
 * binary as base64), made from the Streams API's records; the projection of it the pipe hands the
 * state machine; and its values read back into the SDK's AttributeValues.
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

/** The row's attributes that travel into the state machine beside its key: where its media lives. */
export const SOURCE_ATTRIBUTES = ['S3_bucket', 'S3_object'] as const;

/**
 * The part of a stream record the state machine gets: the record's identity, the row's key and its
 * S3 attributes, and nothing else of the row, however large. The pipe's InputTemplate
 * (template.yaml) projects each record to this shape, and a unit test holds the two together;
 * anything else that starts the state machine builds its records with this function.
 */
export function projectStreamRecord(record: PipeRecord): StreamRecord {
  const image = record.dynamodb?.NewImage ?? {};
  const source = Object.fromEntries(SOURCE_ATTRIBUTES.filter((name) => image[name] !== undefined).map((name) => [name, image[name]]));
  return {
    ...(record.eventID === undefined ? {} : { eventID: record.eventID }),
    ...(record.eventName === undefined ? {} : { eventName: record.eventName }),
    dynamodb: {
      ...(record.dynamodb?.Keys === undefined ? {} : { Keys: record.dynamodb.Keys }),
      NewImage: source,
      ...(record.dynamodb?.SequenceNumber === undefined ? {} : { SequenceNumber: record.dynamodb.SequenceNumber }),
    },
  };
}

/**
 * What the pipe's InputTemplate puts where the row has no attribute for a path: an empty string,
 * or null (docs/pipes-semantics.md, section 7). DynamoDB never writes either as an attribute value.
 */
const isMissingAttribute = (value: unknown): boolean => value === '' || value === null;

/**
 * A record as a step receives it, with the image attributes the row does not have left out: the
 * pipe's InputTemplate names S3_bucket and S3_object whether the row has them or not, so a missing
 * one arrives as a placeholder value, and is read as missing. Anything else is handed on as it is,
 * for the row's validation to name what is wrong with it.
 */
export function readStreamRecord(input: unknown): unknown {
  const record = input as StreamRecord | null;
  const image: unknown = record?.dynamodb?.NewImage;
  if (!record?.dynamodb || typeof image !== 'object' || image === null) return input;
  const present = Object.fromEntries(Object.entries(image).filter(([, value]) => !isMissingAttribute(value)));
  return { ...record, dynamodb: { ...record.dynamodb, NewImage: present } };
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
