/** Converts DynamoDB Streams API records into the JSON the EventBridge Pipe delivers to its target. */
import type { _Record as SdkStreamRecord, AttributeValue } from '@aws-sdk/client-dynamodb-streams';

type Json = Record<string, unknown>;

/** The wire form of an attribute value: binary as base64, like the stream record a pipe passes on. */
function attributeToJson(value: AttributeValue): Json {
  const [[type, inner]] = Object.entries(value).filter(([k]) => k !== '$unknown');
  switch (type) {
    case 'B':
      return { B: Buffer.from(inner as Uint8Array).toString('base64') };
    case 'BS':
      return { BS: (inner as Uint8Array[]).map((b) => Buffer.from(b).toString('base64')) };
    case 'M':
      return { M: imageToJson(inner as Record<string, AttributeValue>) };
    case 'L':
      return { L: (inner as AttributeValue[]).map(attributeToJson) };
    default:
      return { [type]: inner };
  }
}

function imageToJson(image: Record<string, AttributeValue> | undefined): Json | undefined {
  return image && Object.fromEntries(Object.entries(image).map(([k, v]) => [k, attributeToJson(v)]));
}

/** A stream record as the pipe hands it to Step Functions (the Lambda event-source shape). */
export function toPipeRecord(record: SdkStreamRecord, streamArn: string): Json {
  const d = record.dynamodb ?? {};
  const dynamodb: Json = {
    ApproximateCreationDateTime: d.ApproximateCreationDateTime ? Math.floor(d.ApproximateCreationDateTime.getTime() / 1000) : undefined,
    Keys: imageToJson(d.Keys),
    NewImage: imageToJson(d.NewImage),
    OldImage: imageToJson(d.OldImage),
    SequenceNumber: d.SequenceNumber,
    SizeBytes: d.SizeBytes,
    StreamViewType: d.StreamViewType,
  };
  return JSON.parse(
    JSON.stringify({
      eventID: record.eventID,
      eventName: record.eventName,
      eventVersion: record.eventVersion,
      eventSource: record.eventSource,
      awsRegion: record.awsRegion,
      dynamodb,
      eventSourceARN: streamArn,
    }),
  ) as Json;
}
