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
 * Packets of the stream read (`-read_intervals %+#8` counts the selected stream's only): enough for
 * frames to leave a decoder that holds back up to the reordering of a B-pyramid (x265's first frame
 * comes out after 3 packets, on one thread). The demuxer reads whatever lies between them too, so
 * in an interleaved file that is the start of the file; the timeout bounds the rest.
 */
export const FRAME_PROBE_PACKETS = 8;

/**
 * The second run's own limits. Its output is the frames' side data: a few kilobytes each for real
 * media (a Dolby Vision RPU's is the largest); crafted HDR10+ can print more, and the cap holds.
 */
export const FRAME_PROBE_TIMEOUT_MS = 15_000;
export const FRAME_PROBE_MAX_OUTPUT_BYTES = 1024 * 1024;
/** Less time than this left for the second run, and it is not started. */
export const FRAME_PROBE_MIN_TIMEOUT_MS = 2_000;

/** Transfers that make a stream HDR whatever else it says. */
const HDR_TRANSFERS = new Set(['smpte2084', 'arib-std-b67']);
/** Colour that only wide-gamut (HDR or BT.2020 SDR) video states. */
const WIDE_GAMUT = new Set(['bt2020', 'bt2020nc', 'bt2020c']);
/** Sample entries of Dolby Vision in MP4 (dvh1, dvhe: HEVC). */
const DOLBY_VISION_TAGS = new Set(['dvh1', 'dvhe']);

/**
 * Whether a stream that states no transfer still shows a sign of HDR: BT.2020 colour, static HDR
 * metadata, a Dolby Vision record or sample entry. A 10-bit stream with no colour at all (x265's
 * default) shows none, and is taken for the SDR it usually is.
 */
function hintsAtHdr(video: VideoStream): boolean {
  const { primaries, matrix } = video.color ?? {};
  return (
    (video.bit_depth ?? 0) >= 10 &&
    ((primaries !== undefined && WIDE_GAMUT.has(primaries)) ||
      (matrix !== undefined && WIDE_GAMUT.has(matrix)) ||
      video.hdr !== undefined ||
      DOLBY_VISION_TAGS.has(video.codec_tag ?? ''))
  );
}

/**
 * The video stream whose first frames are worth reading, if any: HEVC (FRAME_PROBE_CODECS) with a PQ
 * or HLG transfer, or 10 bits or more with no transfer stated and a sign of HDR (hintsAtHdr), and
 * not both HDR10+ and Dolby Vision already known from the container. A stream that states an SDR
 * transfer (bt709, bt2020-10, …) never is, nor one that states nothing HDR-like.
 */
export function frameProbeCandidate(media: Pick<MediaSummary, 'video'>): VideoStream | undefined {
  return media.video.find((video) => {
    if (!(FRAME_PROBE_CODECS as readonly string[]).includes(video.codec ?? '')) return false;
    const formats = video.hdr?.formats ?? [];
    if (formats.includes('HDR10+') && formats.includes('Dolby Vision')) return false;
    const transfer = video.color?.transfer;
    return transfer !== undefined ? HDR_TRANSFERS.has(transfer) : hintsAtHdr(video);
  });
}

/**
 * The second run as the row's ffprobe JSON keeps it (as `frames_probe`): which stream, how many of
 * its packets, and the frames ffprobe printed, side data only. ffprobe repeats some keys inside
 * HDR10+ side data (`maxscl` per component, …); parsed as JSON, the last of each stays.
 */
export interface FramesProbe {
  stream_index: number;
  packets: number;
  frames: Section[];
}

/** What the first frames showed: the verdicts a row keeps, and each kind of side data as the first frame carrying it printed it. */
export interface FramesRead {
  streamIndex: number;
  verdict: HdrFrames;
  sideData: Section[];
}

/** The `frames` of the second run's JSON: a document without them is an error. */
export function parseFramesDocument(stdout: string): Section[] {
  const parsed = JSON.parse(stdout) as { frames?: unknown };
  if (!Array.isArray(parsed.frames)) throw new Error('ffprobe printed no frames section');
  return parsed.frames.filter((frame): frame is Section => !!frame && typeof frame === 'object');
}

const isSection = (entry: unknown): entry is Section => !!entry && typeof entry === 'object';

/** What the second run (as stored) says about HDR. */
export function summariseFrames(probe: FramesProbe): FramesRead {
  const firstOfEach = new Map<string, Section>();
  for (const frame of probe.frames.filter(isSection)) {
    for (const entry of Array.isArray(frame.side_data_list) ? frame.side_data_list.filter(isSection) : []) {
      const type = String(entry.side_data_type);
      if (!firstOfEach.has(type)) firstOfEach.set(type, entry);
    }
  }
  const sideData = [...firstOfEach.values()];
  const carries = (names: readonly string[]) => sideData.some((entry) => names.includes(String(entry.side_data_type)));
  return {
    streamIndex: probe.stream_index,
    verdict: {
      frames_read: probe.frames.length,
      hdr10_plus: carries(SIDE_DATA.hdr10Plus),
      dolby_vision_rpu: carries(SIDE_DATA.dolbyVisionRpu),
      mastering_display: carries(SIDE_DATA.mastering),
      content_light_level: carries(SIDE_DATA.contentLight),
    },
    sideData,
  };
}

/** Reads the first frames of one stream with the layer's ffprobe, as confined and hardened as the first run, within its own timeout and output cap. */
export async function probeFrames(
  ffprobePath: string,
  url: string,
  streamIndex: number,
  limits: ProbeLimits,
  timeoutMs: number,
): Promise<FramesProbe> {
  const ownLimits: ProbeLimits = { ...limits, timeoutMs, maxOutputBytes: FRAME_PROBE_MAX_OUTPUT_BYTES };
  const args = buildFrameSideDataArgs(url, streamIndex, FRAME_PROBE_PACKETS, limits);
  const frames = parseFramesDocument(await runConfinedFfprobe(ffprobePath, url, args, ownLimits));
  return { stream_index: streamIndex, packets: FRAME_PROBE_PACKETS, frames };
}

/** What the second run did: the stream, how long it took, and what it read, or why it failed or was not made. */
export interface FramesCheck {
  stream_index: number;
  ms: number;
  probe?: FramesProbe;
  verdict?: HdrFrames;
  /** The run failed or was not made: the analysis goes on with what the container said. */
  error?: string;
}

/**
 * Reads the candidate stream's first frames (frameProbeCandidate) within `timeoutMs` (at most
 * FRAME_PROBE_TIMEOUT_MS; less than FRAME_PROBE_MIN_TIMEOUT_MS and it is not started). Never throws:
 * HDR10+ and an RPU are extra facts about a file the first run already read, so a failure is
 * reported, and the summary keeps what the container said.
 */
export async function checkFrames(
  ffprobePath: string,
  url: string,
  stream: VideoStream,
  limits: ProbeLimits,
  timeoutMs: number,
): Promise<FramesCheck> {
  const started = Date.now();
  const budget = Math.min(timeoutMs, FRAME_PROBE_TIMEOUT_MS);
  if (budget < FRAME_PROBE_MIN_TIMEOUT_MS) {
    return { stream_index: stream.index, ms: 0, error: `not started: ${Math.max(0, budget)} ms left before the step's deadline` };
  }
  try {
    const probe = await probeFrames(ffprobePath, url, stream.index, limits, budget);
    return { stream_index: stream.index, ms: Date.now() - started, probe, verdict: summariseFrames(probe).verdict };
  } catch (error) {
    const { name, message } = error as Error;
    return { stream_index: stream.index, ms: Date.now() - started, error: redactUrls(`${name}: ${message}`) };
  }
}
