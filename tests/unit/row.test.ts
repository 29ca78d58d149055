/** Reading the asset out of a stream record: what is accepted, and what each rejection says. */
import { InvalidRowError } from '../../functions/lib/errors';
import { assetFromRecord, keysOf, newImageOf } from '../../functions/lib/row';
import { BUCKET, insertRecord, KEY, MOVIE_ID, rowImage } from './helpers/records';

/** The InvalidRowError the call throws; fails the test when it throws anything else or nothing. */
function invalidRow(fn: () => unknown): InvalidRowError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRowError);
    expect((error as Error).name).toBe('InvalidRowError');
    return error as InvalidRowError;
  }
  throw new Error('expected an InvalidRowError, but nothing was thrown');
}

describe('assetFromRecord', () => {
  it('returns the movie id, bucket and key of a valid row', () => {
    expect(assetFromRecord(insertRecord())).toEqual({ movieId: MOVIE_ID, bucket: BUCKET, key: KEY });
  });

  it('rejects a record without NewImage and says which stream view is needed', () => {
    const error = invalidRow(() => assetFromRecord(insertRecord(null)));
    expect(error.message).toMatch(/no NewImage/);
    expect(error.message).toMatch(/NEW_AND_OLD_IMAGES/);
  });

  it('rejects input that is not a stream record at all', () => {
    expect(invalidRow(() => assetFromRecord({ hello: 'world' })).message).toMatch(/not a DynamoDB stream record/);
    expect(invalidRow(() => assetFromRecord(null)).message).toMatch(/no dynamodb\.Keys/);
    expect(invalidRow(() => keysOf({ dynamodb: { Keys: {} } })).message).toMatch(/no dynamodb\.Keys/);
  });

  it('rejects a movie_id key that is not a number', () => {
    const record = insertRecord();
    record.dynamodb!.Keys = { movie_id: { S: '42' } };
    expect(invalidRow(() => assetFromRecord(record)).message).toBe(
      'the row key movie_id must be a number (N), but the record has a string (S)',
    );
    record.dynamodb!.Keys = { id: { N: '42' } };
    expect(invalidRow(() => assetFromRecord(record)).message).toBe('the row key movie_id must be a number (N), but the record has none');
  });

  it.each(['S3_bucket', 'S3_object'])('names the missing attribute %s', (name) => {
    const error = invalidRow(() => assetFromRecord(insertRecord(rowImage({}, [name]))));
    expect(error.message).toBe(`the row has no ${name} attribute`);
  });

  it.each([
    ['S3_bucket', { N: '12' }, 'a number (N)'],
    ['S3_object', { N: '12' }, 'a number (N)'],
    ['S3_bucket', { B: 'AAEC' }, 'binary (B)'],
    ['S3_object', { BOOL: true }, 'a boolean (BOOL)'],
    ['S3_object', { NULL: true }, 'null (NULL)'],
    ['S3_bucket', { M: { name: { S: BUCKET } } }, 'a map (M)'],
    ['S3_object', { L: [{ S: KEY }] }, 'a list (L)'],
    ['S3_object', { SS: [KEY] }, 'a string set (SS)'],
    ['S3_bucket', { NS: ['1'] }, 'a number set (NS)'],
    ['S3_object', { BS: ['AAEC'] }, 'a binary set (BS)'],
    ['S3_object', { X: 'y' }, 'an unknown type'],
  ])('names the attribute and the type when %s is %j', (name, value, typeName) => {
    const error = invalidRow(() => assetFromRecord(insertRecord(rowImage({ [name]: value }))));
    expect(error.message).toBe(`${name} must be a string (S), but the row has ${typeName}`);
  });

  it('quotes at most the start of an invalid bucket name, with its length, so the error fits a row', () => {
    const error = invalidRow(() => assetFromRecord(insertRecord(rowImage({ S3_bucket: { S: 'b'.repeat(140_000) } }))));
    expect(error.message).toBe(`S3_bucket "${'b'.repeat(256)}…" (140000 characters) is not a valid S3 bucket name`);
  });

  it('does not trip over an attribute value that is not an object', () => {
    const image = rowImage();
    (image as Record<string, unknown>).S3_object = 'movies/raw-string.mp4';
    expect(invalidRow(() => assetFromRecord(insertRecord(image))).message).toBe(
      'S3_object must be a string (S), but the row has an unknown type',
    );
    (image as Record<string, unknown>).S3_object = null;
    expect(invalidRow(() => assetFromRecord(insertRecord(image))).message).toBe(
      'S3_object must be a string (S), but the row has an unknown type',
    );
  });

  it.each(['S3_bucket', 'S3_object'])('rejects an empty %s', (name) => {
    expect(invalidRow(() => assetFromRecord(insertRecord(rowImage({ [name]: { S: '' } })))).message).toBe(`${name} is an empty string`);
  });

  it.each(['ab', 'a'.repeat(256), 'example..bucket', 'example bucket', 'example/bucket', 'bücket'])(
    'rejects the invalid bucket name %j and quotes it',
    (bucket) => {
      const error = invalidRow(() => assetFromRecord(insertRecord(rowImage({ S3_bucket: { S: bucket } }))));
      expect(error.message).toBe(`S3_bucket "${bucket}" is not a valid S3 bucket name`);
    },
  );

  it.each(['abc', 'a'.repeat(63), 'media.example.com', '123-media-2025', 'Legacy_Media-Bucket', 'a'.repeat(255)])(
    'accepts the valid (or legacy us-east-1) bucket name %j',
    (bucket) => {
      expect(assetFromRecord(insertRecord(rowImage({ S3_bucket: { S: bucket } }))).bucket).toBe(bucket);
    },
  );

  it('accepts a key of exactly 1024 bytes and rejects 1025, counting UTF-8 bytes rather than characters', () => {
    expect(assetFromRecord(insertRecord(rowImage({ S3_object: { S: 'k'.repeat(1024) } }))).key).toHaveLength(1024);
    const tooLong = invalidRow(() => assetFromRecord(insertRecord(rowImage({ S3_object: { S: 'k'.repeat(1025) } }))));
    expect(tooLong.message).toBe("S3_object is longer than S3's 1024-byte key limit");
    // 342 three-byte characters: 342 characters, 1026 bytes.
    const wide = '€'.repeat(342);
    expect(wide).toHaveLength(342);
    expect(invalidRow(() => assetFromRecord(insertRecord(rowImage({ S3_object: { S: wide } })))).message).toMatch(/1024-byte/);
  });

  it.each([
    'films/Amélie (2001)/amélie.mkv',
    '映画/千と千尋の神隠し.mp4',
    'clips/🎬 trailer.webm',
    'a+b & c = d?e#f%20g.mov',
    'weird/ leading and trailing space .mp4 ',
    '../not-a-path/../x.mp4',
  ])('returns the key %j unchanged', (key) => {
    expect(assetFromRecord(insertRecord(rowImage({ S3_object: { S: key } })))).toEqual({ movieId: MOVIE_ID, bucket: BUCKET, key });
  });
});

describe('newImageOf', () => {
  it('returns the NewImage of a record that has one', () => {
    expect(newImageOf(insertRecord())).toEqual(rowImage());
  });

  it('rejects a NewImage that is not an object', () => {
    expect(() => newImageOf({ dynamodb: { NewImage: 'row' } })).toThrow(InvalidRowError);
  });
});
