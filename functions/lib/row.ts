/** Reads an asset row out of a DynamoDB stream record and says plainly what is wrong with it when it can't. */
import { InvalidRowError } from './errors';
import type { StreamAttributeValue, StreamImage, StreamRecord } from './stream-record';
import { truncate } from './truncate';

/** The table's partition key (template.yaml; an attached table must use it too). */
export const KEY = 'movie_id';

/** A row that can be analysed: where its media lives. */
export interface Asset {
  movieId: string;
  bucket: string;
  key: string;
}

const TYPE_NAMES: Record<string, string> = {
  S: 'a string (S)',
  N: 'a number (N)',
  B: 'binary (B)',
  BOOL: 'a boolean (BOOL)',
  NULL: 'null (NULL)',
  M: 'a map (M)',
  L: 'a list (L)',
  SS: 'a string set (SS)',
  NS: 'a number set (NS)',
  BS: 'a binary set (BS)',
};

// The characters S3 has ever allowed in bucket names: today's rules, plus the legacy us-east-1 names
// (capitals, underscores, up to 255 characters) that still exist and presign path-style.
const BUCKET_NAME = /^[A-Za-z0-9._-]{3,255}$/;
const MAX_KEY_BYTES = 1024;
/** How much of an invalid bucket name an error quotes: whole up to one character past the longest name S3 ever allowed. */
const MAX_BUCKET_QUOTE = 256;

function describeType(value: StreamAttributeValue): string {
  const type = Object.keys(value)[0];
  return (type && TYPE_NAMES[type]) || 'an unknown type';
}

function requireString(image: StreamImage, name: string): string {
  const value = image[name];
  if (value === undefined) throw new InvalidRowError(`the row has no ${name} attribute`);
  if (typeof value !== 'object' || value === null || typeof value.S !== 'string') {
    throw new InvalidRowError(`${name} must be a string (S), but the row has ${describeType(value ?? {})}`);
  }
  if (value.S.length === 0) throw new InvalidRowError(`${name} is an empty string`);
  return value.S;
}

/** The record's image of the new row, or an InvalidRowError saying why there is none. */
export function newImageOf(record: unknown): StreamImage {
  const image = (record as StreamRecord | null)?.dynamodb?.NewImage;
  if (!image || typeof image !== 'object') {
    throw new InvalidRowError('the stream record has no NewImage (the table stream must use NEW_IMAGE or NEW_AND_OLD_IMAGES)');
  }
  return image;
}

/** The item key the record is about; every stream record carries it. */
export function keysOf(record: unknown): StreamImage {
  const keys = (record as StreamRecord | null)?.dynamodb?.Keys;
  if (!keys || typeof keys !== 'object' || Object.keys(keys).length === 0) {
    throw new InvalidRowError('the input is not a DynamoDB stream record: it has no dynamodb.Keys');
  }
  return keys;
}

/** Validates the row in a stream record and returns where its media lives. */
export function assetFromRecord(record: unknown): Asset {
  const keys = keysOf(record);
  const movieId = keys.movie_id?.N;
  if (typeof movieId !== 'string') {
    throw new InvalidRowError(
      `the row key movie_id must be a number (N), but the record has ${keys.movie_id ? describeType(keys.movie_id) : 'none'}`,
    );
  }
  const image = newImageOf(record);
  const bucket = requireString(image, 'S3_bucket');
  const key = requireString(image, 'S3_object');
  if (!BUCKET_NAME.test(bucket) || bucket.includes('..')) {
    const shown =
      bucket.length > MAX_BUCKET_QUOTE ? `"${truncate(bucket, MAX_BUCKET_QUOTE + 1)}" (${bucket.length} characters)` : `"${bucket}"`;
    throw new InvalidRowError(`S3_bucket ${shown} is not a valid S3 bucket name`);
  }
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new InvalidRowError(`S3_object is longer than S3's ${MAX_KEY_BYTES}-byte key limit`);
  }
  return { movieId, bucket, key };
}
