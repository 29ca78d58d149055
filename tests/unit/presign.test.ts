/** The presign step against a mocked S3: each HeadObject failure gets its name, and success gives a URL that expires when configured. */
import { GetObjectCommand, HeadObjectCommand, NoSuchKey, NotFound, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { AccessDeniedError, ObjectNotFoundError, TransientError } from '../../functions/lib/errors';
import { presignAsset } from '../../functions/lib/presign';
import { BUCKET, KEY, MOVIE_ID } from './helpers/records';

const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'UNITTESTKEYID', secretAccessKey: 'unit-test-secret' } });
const s3Mock = mockClient(s3);
const asset = { movieId: MOVIE_ID, bucket: BUCKET, key: KEY };

/** An S3 error as the SDK raises it: named, with the HTTP status in $metadata. */
function s3Error(name: string, httpStatusCode: number): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: httpStatusCode >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode },
    message: name,
  });
}

beforeEach(() => s3Mock.reset());

describe('presignAsset', () => {
  it('checks the object, then presigns a GET that expires after the configured seconds', async () => {
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 7996651 });
    const now = Date.parse('2025-01-15T10:00:00.000Z');
    const presigned = await presignAsset(s3, asset, 120, now);

    expect(s3Mock.commandCalls(HeadObjectCommand, { Bucket: BUCKET, Key: KEY })).toHaveLength(1);
    expect(s3Mock.commandCalls(GetObjectCommand)).toHaveLength(0);
    const url = new URL(presigned.url);
    expect(url.protocol).toBe('https:');
    expect(`${url.hostname}${decodeURIComponent(url.pathname)}`).toMatch(new RegExp(`${BUCKET}.*/${KEY}$`));
    expect(url.searchParams.get('X-Amz-Expires')).toBe('120');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(/^UNITTESTKEYID\//);
    expect(presigned.expires_at).toBe('2025-01-15T10:02:00.000Z');
    expect(presigned.size_bytes).toBe(7996651);
  });

  it('pins what the probe reads: the version in the URL of a versioned object, else the ETag as If-Match', async () => {
    s3Mock.on(HeadObjectCommand).resolves({ ETag: '"5d41402abc4b2a76b9719d911017c592"', VersionId: '3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY' });
    const versioned = await presignAsset(s3, asset, 300);
    expect(new URL(versioned.url).searchParams.get('versionId')).toBe('3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY');
    expect(versioned.if_match).toBeNull();

    s3Mock.reset();
    s3Mock.on(HeadObjectCommand).resolves({ ETag: '"5d41402abc4b2a76b9719d911017c592"' });
    const unversioned = await presignAsset(s3, asset, 300);
    expect(new URL(unversioned.url).searchParams.has('versionId')).toBe(false);
    expect(unversioned.if_match).toBe('"5d41402abc4b2a76b9719d911017c592"');

    // The "null" version (versioning off or suspended when it was written) is replaced in place: If-Match, not a version.
    s3Mock.reset();
    s3Mock.on(HeadObjectCommand).resolves({ ETag: '"5d41402abc4b2a76b9719d911017c592"', VersionId: 'null' });
    const suspended = await presignAsset(s3, asset, 300);
    expect(new URL(suspended.url).searchParams.has('versionId')).toBe(false);
    expect(suspended).toMatchObject({ if_match: '"5d41402abc4b2a76b9719d911017c592"' });
    expect(suspended.object).not.toHaveProperty('version_id');
  });

  it('reports size_bytes as null when S3 does not report it, so the state machine never meets a missing path', async () => {
    s3Mock.on(HeadObjectCommand).resolves({});
    expect((await presignAsset(s3, asset, 300)).size_bytes).toBeNull();
  });

  it('presigns keys with reserved and non-ASCII characters so that they decode back to the key', async () => {
    s3Mock.on(HeadObjectCommand).resolves({});
    const key = 'films/Amélie (2001)/a+b & c = d?e#f%.mkv';
    const { url } = await presignAsset(s3, { ...asset, key }, 300);
    expect(decodeURIComponent(new URL(url).pathname).endsWith(key)).toBe(true);
  });

  it.each([
    ['NotFound (HeadObject 404)', new NotFound({ $metadata: { httpStatusCode: 404 }, message: 'UnknownError' })],
    ['NoSuchKey', new NoSuchKey({ $metadata: { httpStatusCode: 404 }, message: 'The specified key does not exist.' })],
    ['NoSuchBucket', s3Error('NoSuchBucket', 404)],
  ])('%s → ObjectNotFoundError naming the object', async (_label, error) => {
    s3Mock.on(HeadObjectCommand).rejects(error);
    const failure = presignAsset(s3, asset, 300);
    await expect(failure).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(failure).rejects.toThrow(`s3://${BUCKET}/${KEY} does not exist`);
  });

  it.each([
    ['Forbidden (HeadObject 403)', s3Error('Forbidden', 403)],
    ['AccessDenied', s3Error('AccessDenied', 403)],
    ['a KMS denial', s3Error('KMS.AccessDeniedException', 403)],
  ])('%s → AccessDeniedError telling the operator what to configure', async (_label, error) => {
    s3Mock.on(HeadObjectCommand).rejects(error);
    const failure = presignAsset(s3, asset, 300);
    await expect(failure).rejects.toBeInstanceOf(AccessDeniedError);
    await expect(failure).rejects.toThrow(/MediaBucketNames/);
  });

  it('a bucket in another region → AccessDeniedError saying so', async () => {
    s3Mock.on(HeadObjectCommand).rejects(s3Error('PermanentRedirect', 301));
    await expect(presignAsset(s3, asset, 300)).rejects.toThrow(
      new AccessDeniedError(`the bucket of s3://${BUCKET}/${KEY} is in another region than the pipeline`),
    );
  });

  it.each([
    ['SlowDown', s3Error('SlowDown', 503)],
    ['InternalError', s3Error('InternalError', 500)],
    ['ThrottlingException', s3Error('ThrottlingException', 400)],
    ['a 429', s3Error('TooManyRequests', 429)],
    ['a reset connection', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    ['a request timeout', Object.assign(new Error('Connection timed out after 1000 ms'), { name: 'TimeoutError' })],
  ])('%s → TransientError', async (_label, error) => {
    s3Mock.on(HeadObjectCommand).rejects(error);
    const failure = presignAsset(s3, asset, 300);
    await expect(failure).rejects.toBeInstanceOf(TransientError);
    await expect(failure).rejects.toThrow(/^checking s3:\/\//);
  });

  it('passes any other error through unchanged', async () => {
    const error = s3Error('InvalidObjectState', 400);
    s3Mock.on(HeadObjectCommand).rejects(error);
    await expect(presignAsset(s3, asset, 300)).rejects.toBe(error);
  });
});
