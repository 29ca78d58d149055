/** Builders for the DynamoDB stream records the pipe delivers, so each test spells out only what it varies. */
import type { StreamImage, StreamRecord } from '../../../functions/lib/stream-record';

export const MOVIE_ID = '42';
export const BUCKET = 'example-media-bucket';
export const KEY = 'movies/42/feature.mp4';

/** A row's NewImage: a valid asset row, with attributes replaced or dropped. */
export function rowImage(overrides: StreamImage = {}, omit: string[] = []): StreamImage {
  const image: StreamImage = {
    movie_id: { N: MOVIE_ID },
    title: { S: 'The Example' },
    S3_bucket: { S: BUCKET },
    S3_object: { S: KEY },
    ...overrides,
  };
  for (const name of omit) delete image[name];
  return image;
}

/** An INSERT stream record as the pipe hands it to the state machine; `null` leaves NewImage out. */
export function insertRecord(newImage: StreamImage | null = rowImage(), movieId = MOVIE_ID): StreamRecord {
  return {
    eventID: 'c81e728d9d4c2f636f067f89cc14862c',
    eventName: 'INSERT',
    dynamodb: {
      Keys: { movie_id: { N: movieId } },
      ...(newImage === null ? {} : { NewImage: newImage }),
      SequenceNumber: '4421584500000000017450439091',
    },
  };
}
