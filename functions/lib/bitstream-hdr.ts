/**
 * Bitstream-only HDR: which video stream may carry HDR10+ or a Dolby Vision RPU that its container
 * does not declare, and one bounded second ffprobe run that reads the side data of its first frames.
 */
import { buildFrameSideDataArgs, type ProbeLimits, redactUrls, runConfinedFfprobe } from './ffprobe-command';
import type { Section } from './ffprobe-values';
import type { HdrFrames, MediaSummary, VideoStream } from './media-schema';
import { SIDE_DATA } from './media-video';

/**
 * Codecs whose decoder is in the layer and exports HDR10+ SEIs and Dolby Vision RPUs as frame side
 * data. AV1 carries both too, but the layer has no AV1 software decoder (docs/ffprobe-layer.md,
 * "AV1 and libdav1d"); the layer tests check that every codec here has a decoder.
 */
export const FRAME_PROBE_CODECS = ['hevc'] as const;

/**
 * Packets of the stream read: enough for frames to leave a decoder that holds back up to the
 * reordering of a B-pyramid (x265's first frame comes out after 3 packets, on one thread), few
 * enough to read only the start of the file.
 */
export const FRAME_PROBE_PACKETS = 8;

/** The second run's own limits: it reads a few frames, and prints a few kilobytes of side data for each (a Dolby Vision RPU's is the largest). */
export const FRAME_PROBE_TIMEOUT_MS = 15_000;
export const FRAME_PROBE_MAX_OUTPUT_BYTES = 1024 * 1024;

/** Transfers that make a stream HDR whatever else it says. */
const HDR_TRANSFERS = new Set(['smpte2084', 'arib-std-b67']);

/**
 * The video stream whose first frames are worth reading, if any: HEVC (FRAME_PROBE_CODECS) with a PQ
 * or HLG transfer, or 10 bits or more with no transfer stated (an HDR stream whose colour the
 * container and the parameter sets leave out), and not both HDR10+ and Dolby Vision already known
 * from the container. An SDR stream (a transfer such as bt709 stated) is never a candidate.
 */
export function frameProbeCandidate(media: Pick<MediaSummary, 'video'>): VideoStream | undefined {
  return media.video.find((video) => {
    if (!(FRAME_PROBE_CODECS as readonly string[]).includes(video.codec ?? '')) return false;
    const formats = video.hdr?.formats ?? [];
    if (formats.includes('HDR10+') && formats.includes('Dolby Vision')) return false;
    const transfer = video.color?.transfer;
    if (transfer !== undefined) return HDR_TRANSFERS.has(transfer);
    return (video.bit_depth ?? 0) >= 10;
  });
}

/** What the first frames showed: the verdicts a row keeps, and each kind of side data as the first frame carrying it printed it. */
export interface FramesRead {
  /** The stream the frames are of. */
  streamIndex?: number;
  verdict: HdrFrames;
  sideData: Section[];
}

/** The `frames` of the second run's JSON, as ffprobe printed them: a document without them is an error. */
export function parseFramesDocument(stdout: string): Section[] {
  const parsed = JSON.parse(stdout) as { frames?: unknown };
  if (!Array.isArray(parsed.frames)) throw new Error('ffprobe printed no frames section');
  return parsed.frames.filter((frame): frame is Section => !!frame && typeof frame === 'object');
}

/** What a list of frames (the second run's, as stored in the ffprobe JSON) says about HDR. */
export function summariseFrames(frames: Section[]): FramesRead {
  const firstOfEach = new Map<string, Section>();
  for (const frame of frames) {
    for (const entry of Array.isArray(frame.side_data_list) ? (frame.side_data_list as Section[]) : []) {
      const type = String(entry?.side_data_type);
      if (!firstOfEach.has(type)) firstOfEach.set(type, entry);
    }
  }
  const sideData = [...firstOfEach.values()];
  const carries = (names: readonly string[]) => sideData.some((entry) => names.includes(String(entry.side_data_type)));
  const streamIndex = frames.map((frame) => frame.stream_index).find((index) => typeof index === 'number');
  return {
    streamIndex: streamIndex as number | undefined,
    verdict: {
      frames_read: frames.length,
      hdr10_plus: carries(SIDE_DATA.hdr10Plus),
      dolby_vision_rpu: carries(SIDE_DATA.dolbyVisionRpu),
      mastering_display: carries(SIDE_DATA.mastering),
      content_light_level: carries(SIDE_DATA.contentLight),
    },
    sideData,
  };
}

/** Reads the first frames of one stream with the layer's ffprobe, as confined as the probe, within the second run's own limits. */
export async function probeFrames(ffprobePath: string, url: string, streamIndex: number, limits: ProbeLimits): Promise<Section[]> {
  const ownLimits: ProbeLimits = {
    ...limits,
    timeoutMs: Math.min(limits.timeoutMs, FRAME_PROBE_TIMEOUT_MS),
    maxOutputBytes: FRAME_PROBE_MAX_OUTPUT_BYTES,
  };
  const args = buildFrameSideDataArgs(url, streamIndex, FRAME_PROBE_PACKETS, limits);
  return parseFramesDocument(await runConfinedFfprobe(ffprobePath, url, args, ownLimits));
}

/** What the second run did: the stream, how long it took, and what it read or why it failed. */
export interface FramesCheck {
  stream_index: number;
  ms: number;
  /** The frames as ffprobe printed them (their side data only): kept in the stored ffprobe JSON as `frames`. */
  frames?: Section[];
  /** The run failed: the analysis goes on with what the container said. */
  error?: string;
}

/**
 * Reads the candidate stream's first frames (frameProbeCandidate) and reports what they showed.
 * Never throws: HDR10+ and an RPU are extra facts about a file the first run already read, so a
 * failure of this run is logged, and the summary keeps what the container said.
 */
export async function checkFrames(ffprobePath: string, url: string, stream: VideoStream, limits: ProbeLimits): Promise<FramesCheck> {
  const started = Date.now();
  try {
    const frames = await probeFrames(ffprobePath, url, stream.index, limits);
    return { stream_index: stream.index, ms: Date.now() - started, frames };
  } catch (error) {
    const { name, message } = error as Error;
    return { stream_index: stream.index, ms: Date.now() - started, error: redactUrls(`${name}: ${message}`) };
  }
}
