/** The ffprobe step: probe the presigned URL through the object relay, read an MP4's box order and an HDR candidate's first frames, summarise, and decide where the JSON is kept (inline on the item, or the results bucket). */
import { checkFrames, type FramesCheck, type FramesProbe, frameProbeCandidate } from './bitstream-hdr';
import { AccessDeniedError, NotMediaError, ProbeOutputTooLargeError, TransientError } from './errors';
import { type FaststartCheck, walkTopLevelBoxes } from './faststart';
import { type FfprobeOutput, NETWORK_TIMEOUT_MS, type ProbeLimits, runFfprobe } from './ffprobe-command';
import type { MediaSummary } from './media-schema';
import { type ProbeFacts, summariseMedia } from './media-summary';
import { ObjectRelay, type RelayStats } from './object-relay';
import type { OutputUpload } from './presign';

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
  /** How long the upload of a large output may take. */
  uploadTimeoutMs: number;
  /** How long the faststart check of an MP4/MOV may take (its ranged GETs together). */
  faststartTimeoutMs: number;
  /** Where the relay's connections to S3 come from: the relay's own keep-alive agents unless given (the benchmark's trusts its CA). */
  agent?: import('node:http').Agent;
}

/** What probing one object gave: the step's result, and for the log what the faststart check (MP4/MOV only) and the frames check (HDR candidates only) cost. */
export interface ProbedAsset {
  result: FfprobeResult;
  faststartCheck?: FaststartCheck;
  framesCheck?: FramesCheck;
  /** What reading the object cost upstream, all runs and the faststart check together. */
  reads: RelayStats;
}

/**
 * Keeps small output inline; puts large output at the results-bucket key the presign step signed a
 * PUT for, and returns its s3:// URI. The function needs no permission of its own for it.
 */
export async function storeOutput(json: string, upload: OutputUpload, settings: FfprobeSettings): Promise<StoredOutput> {
  if (Buffer.byteLength(json, 'utf8') <= settings.inlineLimitBytes) return { ffprobe_output: json };
  let response: Response;
  try {
    response = await fetch(upload.output_upload_url, {
      method: 'PUT',
      body: json,
      headers: { 'content-type': 'application/json' },
      signal: AbortSignal.timeout(settings.uploadTimeoutMs),
    });
  } catch (error) {
    // A refused or dropped connection, or the timeout: worth another try. Never the URL in the message.
    throw new TransientError(`storing the ffprobe output failed: ${(error as Error).name}`);
  }
  await response.body?.cancel();
  if (response.ok) return { ffprobe_output_location: upload.output_location };
  if (response.status >= 500 || response.status === 429)
    throw new TransientError(`storing the ffprobe output failed: HTTP ${response.status}`);
  if (response.status === 403) {
    throw new AccessDeniedError('the results bucket refused the ffprobe output (HTTP 403): the upload URL expired or was refused');
  }
  throw new Error(`storing the ffprobe output failed: HTTP ${response.status}`);
}

/**
 * Most of the summary's JSON a row keeps: with the inline ffprobe JSON (up to 100 KiB) and the
 * analysis it stays within Step Functions' 256 KiB state and DynamoDB's 400 KiB item.
 */
const MAX_SUMMARY_BYTES = 64 * 1024;

/**
 * The summary of ffprobe's JSON as a row keeps it (the step's, and resummarise's from a stored JSON),
 * refused with ProbeOutputTooLargeError when it would not fit beside everything else.
 */
export function summaryForRow(output: FfprobeOutput, observed: Parameters<typeof summariseMedia>[1] = {}): MediaSummary {
  const media = summariseMedia(output, observed);
  const summaryBytes = Buffer.byteLength(JSON.stringify(media), 'utf8');
  if (summaryBytes > MAX_SUMMARY_BYTES) {
    throw new ProbeOutputTooLargeError(
      `the media summary of ${output.streams?.length ?? 0} streams is ${Math.ceil(summaryBytes / 1024)} KiB, more than the ${MAX_SUMMARY_BYTES / 1024} KiB a row keeps for it`,
    );
  }
  return media;
}

/** ffprobe's mov demuxer ("mov,mp4,m4a,3gp,3g2,mj2") read the object: an ISO base media file, whose boxes say whether it is faststart. */
function isMovFamily(output: FfprobeOutput): boolean {
  return String(output.format?.format_name ?? '')
    .split(',')
    .some((name) => name === 'mov' || name === 'mp4');
}

/** The stored JSON with the second run after the sections of the first. */
function withFramesProbe(json: string, probe: FramesProbe): string {
  return `${json.slice(0, -1)},"frames_probe":${JSON.stringify(probe)}}`;
}

/** What the step must keep for itself after the second run: the upload of a large output, and its answer. */
const AFTER_FRAMES_RESERVE_MS = 3_000;

/**
 * The first run's output and summary, with the second run's frames when it made one: its frames
 * join the JSON the row keeps, so a later resummarise reads them as this step did. A summary the
 * frames would push over the row's room keeps the first run's alone.
 */
function withFrames(
  first: { output: FfprobeOutput; json: string; media: MediaSummary },
  observed: ProbeFacts,
  check?: FramesCheck,
): { json: string; media: MediaSummary } {
  if (!check?.probe) return first;
  try {
    return {
      json: withFramesProbe(first.json, check.probe),
      media: summaryForRow({ ...first.output, frames_probe: check.probe }, observed),
    };
  } catch (error) {
    if (!(error instanceof ProbeOutputTooLargeError)) throw error;
    check.error = `not kept: ${error.message}`;
    return first;
  }
}

/**
 * Probes one URL and returns the stored output and the typed summary. ffprobe, its second run and
 * the faststart check all read through one ObjectRelay (object-relay.ts), which names a failure
 * that was the storage's (a replaced object, a denial, a certificate) better than ffprobe's text
 * can. An empty object is refused up front: ffprobe would only report S3's 416, which says
 * nothing. An HDR candidate (bitstream-hdr.ts) gets a second, bounded run over its first frames,
 * within what is left before `deadline` (epoch ms; the Lambda's) after the upload's own budget.
 */
export async function probeAsset(
  url: string,
  upload: OutputUpload,
  settings: FfprobeSettings,
  sizeBytes?: number | null,
  deadline = Number.POSITIVE_INFINITY,
  ifMatch?: string | null,
): Promise<ProbedAsset> {
  if (sizeBytes === 0) throw new NotMediaError('ffprobe could not read the object as media: the object is empty (0 bytes)');
  const relay = await ObjectRelay.open(url, { ifMatch: ifMatch ?? undefined, timeoutMs: NETWORK_TIMEOUT_MS, agent: settings.agent });
  try {
    let first: Awaited<ReturnType<typeof runFfprobe>>;
    try {
      first = await runFfprobe(settings.ffprobePath, relay.url, settings);
    } catch (error) {
      throw relay.failure ?? error;
    }
    const { output, json } = first;
    const faststartCheck = isMovFamily(output)
      ? await withTimeout(
          walkTopLevelBoxes((offset, length) => relay.read(offset, length), sizeBytes ?? undefined),
          settings.faststartTimeoutMs,
        )
      : undefined;
    const observed = { faststart: faststartCheck?.faststart };
    const media = summaryForRow(output, observed);
    const candidate = frameProbeCandidate(media);
    const timeLeftMs = Math.min(settings.timeoutMs, deadline - Date.now() - settings.uploadTimeoutMs - AFTER_FRAMES_RESERVE_MS);
    const framesCheck = candidate ? await checkFrames(settings.ffprobePath, relay.url, candidate, settings, timeLeftMs) : undefined;
    const kept = withFrames({ output, json, media }, observed, framesCheck);
    const result = { stored: await storeOutput(kept.json, upload, settings), media: kept.media };
    return { result, faststartCheck, framesCheck, reads: { ...relay.stats } };
  } finally {
    await relay.close();
  }
}

/** The faststart check within its budget: past it, undecided (the summary then leaves `faststart` out). */
function withTimeout(check: Promise<FaststartCheck>, timeoutMs: number): Promise<FaststartCheck> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<FaststartCheck>((resolve) => {
    timer = setTimeout(() => resolve({ requests: 0, bytes: 0, failure: `no answer within ${timeoutMs} ms` }), timeoutMs);
  });
  return Promise.race([check, late]).finally(() => clearTimeout(timer));
}
