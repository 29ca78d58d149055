/** The ffprobe step: probe the presigned URL and decide where its JSON is kept (inline on the item, or the results bucket). */
import { createHash } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { asTransientIfRetryable, NotMediaError, ProbeOutputTooLargeError } from './errors';
import { type ProbeLimits, runFfprobe } from './ffprobe-command';
import { type MediaSummary, summariseMedia } from './media-summary';

/** Where the ffprobe JSON went: inline on the item, or to the results bucket when too large. */
export type StoredOutput = { ffprobe_output: string } | { ffprobe_output_location: string };

/** What the ffprobe step hands the update step. */
export interface FfprobeResult {
  stored: StoredOutput;
  media: MediaSummary;
}

export interface FfprobeSettings extends ProbeLimits {
  ffprobePath: string;
  /**
   * Largest ffprobe JSON kept inline. It must leave room in Step Functions' 256 KB state and
   * DynamoDB's 400 KB item for everything else; larger output goes to the results bucket.
   */
  inlineLimitBytes: number;
  resultsBucket?: string;
}

/** The results-bucket key for an output: content-addressed, so a retry or a duplicate writes the same object. */
export function outputKey(movieId: string, json: string): string {
  const digest = createHash('sha256').update(json).digest('hex');
  return `ffprobe-output/${movieId}/${digest}.json`;
}

/** Keeps small output inline; writes large output to the results bucket and returns its s3:// URI. */
export async function storeOutput(s3: S3Client, movieId: string, json: string, settings: FfprobeSettings): Promise<StoredOutput> {
  if (Buffer.byteLength(json, 'utf8') <= settings.inlineLimitBytes) return { ffprobe_output: json };
  if (!settings.resultsBucket) {
    throw new Error(
      `ffprobe's output is ${Buffer.byteLength(json, 'utf8')} bytes, over the inline limit, and no RESULTS_BUCKET is configured`,
    );
  }
  const key = outputKey(movieId, json);
  try {
    await s3.send(new PutObjectCommand({ Bucket: settings.resultsBucket, Key: key, Body: json, ContentType: 'application/json' }));
  } catch (error) {
    throw asTransientIfRetryable(error, 'storing the ffprobe output');
  }
  return { ffprobe_output_location: `s3://${settings.resultsBucket}/${key}` };
}

/**
 * Probes one URL and returns the stored output and the typed summary. An empty object is refused
 * up front: over HTTP ffprobe would only report S3's 416 to its range request, which says nothing.
 */
/**
 * Most of the summary's JSON a row keeps: with the inline ffprobe JSON (up to 100 KiB) and the
 * analysis it stays within Step Functions' 256 KiB state and DynamoDB's 400 KiB item.
 */
const MAX_SUMMARY_BYTES = 64 * 1024;

export async function probeAsset(
  s3: S3Client,
  movieId: string,
  url: string,
  settings: FfprobeSettings,
  sizeBytes?: number | null,
): Promise<FfprobeResult> {
  if (sizeBytes === 0) throw new NotMediaError('ffprobe could not read the object as media: the object is empty (0 bytes)');
  const { output, json } = await runFfprobe(settings.ffprobePath, url, settings);
  const media = summariseMedia(output);
  const summaryBytes = Buffer.byteLength(JSON.stringify(media), 'utf8');
  if (summaryBytes > MAX_SUMMARY_BYTES) {
    throw new ProbeOutputTooLargeError(
      `the media summary of ${output.streams?.length ?? 0} streams is ${Math.ceil(summaryBytes / 1024)} KiB, more than the ${MAX_SUMMARY_BYTES / 1024} KiB a row keeps for it`,
    );
  }
  return { stored: await storeOutput(s3, movieId, json, settings), media };
}
