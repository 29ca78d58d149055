/**
 * The object index: each analysed row carries `object_uri` ("s3://bucket/key" of the object it
 * points at), and a sparse global secondary index on it finds, for an object that changed in S3,
 * the rows that point at it, without scanning the table.
 */
import { assetFromRecord } from './row';

/** The row attribute the index is keyed on. */
export const OBJECT_URI = 'object_uri';
/** The index the template adds to the table it creates (an attached table names its own). */
export const OBJECT_INDEX_NAME = 'media-probe-object';

export function objectUri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

/** The object_uri for the row in a stream record, or undefined when the row names no valid object. */
export function objectUriOfRecord(record: unknown): string | undefined {
  try {
    const asset = assetFromRecord(record);
    return objectUri(asset.bucket, asset.key);
  } catch {
    return undefined;
  }
}
