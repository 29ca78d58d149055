/**
 * The presign step: check the row and the object, make a short-lived presigned GET URL for ffprobe,
 * and a presigned PUT URL for the one results-bucket key where the ffprobe step may put an output
 * too large for the row: the ffprobe function itself holds no AWS permission worth stealing.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { AccessDeniedError, asTransientIfRetryable, ObjectNotFoundError } from './errors';
import { defined } from './ffprobe-values';
import type { Asset } from './row';

/** The object the analysis is of, as the presign step's HeadObject described it: values S3 returned, none invented. */
export interface ObjectIdentity {
  bucket: string;
  key: string;
  etag?: string;
  size_bytes?: number;
  last_modified?: string;
  content_type?: string;
  /** Only for a versioned bucket. */
  version_id?: string;
  /** Only when the object was stored with a SHA-256 checksum. */
  checksum_sha256?: string;
}

export interface PresignedAsset {
  url: string;
  expires_at: string;
  /** Always present (null when S3 did not say), so the state machine can pass it on without a missing path. */
  size_bytes: number | null;
  object: ObjectIdentity;
  /** The ETag every read of the probe sends as If-Match (null for a versioned object, whose URL names the version). */
  if_match: string | null;
}

function s3Uri(asset: Asset): string {
  return `s3://${asset.bucket}/${asset.key}`;
}

/** HeadObject first, so a missing or unreadable object fails here with its name, not as an ffprobe HTTP error. */
export async function presignAsset(s3: S3Client, asset: Asset, expiresInSeconds: number, now = Date.now()): Promise<PresignedAsset> {
  let object: ObjectIdentity;
  try {
    // ChecksumMode asks the same HeadObject for the object's stored checksum: no extra request.
    const head = await s3.send(new HeadObjectCommand({ Bucket: asset.bucket, Key: asset.key, ChecksumMode: 'ENABLED' }));
    object = defined({
      bucket: asset.bucket,
      key: asset.key,
      etag: head.ETag,
      size_bytes: head.ContentLength,
      last_modified: head.LastModified?.toISOString(),
      content_type: head.ContentType,
      // S3's "null" version (written while versioning was off or suspended) is replaced in place: no version to pin.
      version_id: head.VersionId === 'null' ? undefined : head.VersionId,
      checksum_sha256: head.ChecksumSHA256,
    });
  } catch (error) {
    const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode;
    if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.name === 'NoSuchBucket' || status === 404) {
      throw new ObjectNotFoundError(`${s3Uri(asset)} does not exist`);
    }
    if (e.name === 'Forbidden' || e.name === 'AccessDenied' || status === 403) {
      // Without s3:ListBucket (deliberately not granted) S3 answers 403, not 404, for a missing key.
      throw new AccessDeniedError(
        `${s3Uri(asset)} does not exist, or the pipeline may not read it: check the key, that the bucket is in MediaBucketNames (and its owner, if another account, in MediaBucketOwnerAccounts) and, for SSE-KMS, MediaKmsKeyArn`,
      );
    }
    if (status === 301 || e.name === 'PermanentRedirect') {
      throw new AccessDeniedError(`the bucket of ${s3Uri(asset)} is in another region than the pipeline`);
    }
    throw asTransientIfRetryable(error, `checking ${s3Uri(asset)}`);
  }
  // The probe must read exactly the object described: a versioned object's version is named in the
  // URL; otherwise every read carries If-Match with its ETag, and a replacement meanwhile answers 412.
  const url = await getSignedUrl(
    s3,
    new GetObjectCommand({ Bucket: asset.bucket, Key: asset.key, ...(object.version_id ? { VersionId: object.version_id } : {}) }),
    { expiresIn: expiresInSeconds },
  );
  return {
    url,
    expires_at: new Date(now + expiresInSeconds * 1000).toISOString(),
    size_bytes: object.size_bytes ?? null,
    object,
    if_match: object.version_id ? null : (object.etag ?? null),
  };
}

/** Where the ffprobe step may put an output too large for the row. The URL is a credential, like the GET URL. */
export interface OutputUpload {
  output_location: string;
  output_upload_url: string;
}

/**
 * The results-bucket key of one analysis' output: one per execution and stream record, so the
 * step's retries write the same object and no analysis can write another's.
 */
export function outputKey(movieId: string, executionId: string, eventId: string): string {
  const analysis = createHash('sha256').update(`${executionId}\n${eventId}`).digest('hex');
  return `ffprobe-output/${movieId}/${analysis}.json`;
}

/** A presigned PUT for the analysis' output key, valid as long as the media URL. */
export async function presignOutputUpload(s3: S3Client, bucket: string, key: string, expiresInSeconds: number): Promise<OutputUpload> {
  const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: expiresInSeconds });
  return { output_location: `s3://${bucket}/${key}`, output_upload_url: url };
}
