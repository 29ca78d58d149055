/**
 * The EventBridge event the state machine publishes once an analysis' outcome is on the row:
 * which row and object, how it ended, and a compact summary for downstream work (transcode, QC,
 * catalogue sync). Its JSON Schema is events/outcome-event.schema.json; the update step builds it,
 * and only for an outcome it applied.
 */
import type { Analysis, AnalysisError } from './analysis';
import type { HdrFormat, MediaSummary } from './media-schema';
import type { ObjectIdentity } from './presign';
import { KEY, keysOf, newImageOf } from './row';

export const OUTCOME_DETAIL_TYPES = { SUCCEEDED: 'Media Analysis Succeeded', FAILED: 'Media Analysis Failed' } as const;
/** The detail's own version: raised when a field changes meaning or goes; new fields do not raise it. */
export const OUTCOME_EVENT_VERSION = 1;

/** What a consumer needs of a success without reading the row: the container, the first video and audio streams, the counts. */
export interface CompactSummary {
  container?: string;
  duration_s?: number;
  size_bytes?: number;
  video?: { codec?: string; width?: number; height?: number; frame_rate?: number; hdr_formats: HdrFormat[] };
  audio?: { codec?: string; channels?: number; channel_layout?: string; sample_rate?: number };
  video_streams: number;
  audio_streams: number;
  subtitle_streams: number;
}

export interface OutcomeEventDetail {
  version: typeof OUTCOME_EVENT_VERSION;
  /** The row's key: a number, or its digits as a string beyond JavaScript's exact integers. */
  movie_id: number | string;
  /** Where the row points (absent when the row had no such attribute: an invalid row). */
  bucket?: string;
  key?: string;
  /** The object analysed, as the presign step's HeadObject described it (absent when presign failed). */
  object?: ObjectIdentity;
  status: Analysis['status'];
  execution: string;
  started_at: string;
  finished_at: string;
  error?: AnalysisError;
  summary?: CompactSummary;
}

export interface OutcomeEvent {
  detail_type: (typeof OUTCOME_DETAIL_TYPES)[keyof typeof OUTCOME_DETAIL_TYPES];
  detail: OutcomeEventDetail;
}

function movieIdOf(record: unknown): number | string {
  const digits = String(keysOf(record)[KEY]?.N ?? '');
  const value = Number(digits);
  return Number.isSafeInteger(value) ? value : digits;
}

function sourceOf(record: unknown): { bucket?: string; key?: string } {
  try {
    const image = newImageOf(record);
    const text = (name: string) => (typeof image[name]?.S === 'string' ? (image[name].S as string) : undefined);
    return { bucket: text('S3_bucket'), key: text('S3_object') };
  } catch {
    return {};
  }
}

export function compactSummary(media: MediaSummary): CompactSummary {
  const [video] = media.video;
  const [audio] = media.audio;
  return {
    container: media.format_name,
    duration_s: media.duration_s,
    size_bytes: media.size_bytes,
    ...(video
      ? {
          video: {
            codec: video.codec,
            width: video.width,
            height: video.height,
            frame_rate: video.frame_rate,
            hdr_formats: video.hdr?.formats ?? [],
          },
        }
      : {}),
    ...(audio
      ? { audio: { codec: audio.codec, channels: audio.channels, channel_layout: audio.channel_layout, sample_rate: audio.sample_rate } }
      : {}),
    video_streams: media.video.length + (media.video_omitted ?? 0),
    audio_streams: media.audio.length + (media.audio_omitted ?? 0),
    subtitle_streams: media.subtitles.length + (media.subtitles_omitted ?? 0),
  };
}

/** The event for an outcome written to the row; `media` for a success. */
export function outcomeEvent(record: unknown, analysis: Analysis, media?: MediaSummary): OutcomeEvent {
  const detail: OutcomeEventDetail = {
    version: OUTCOME_EVENT_VERSION,
    movie_id: movieIdOf(record),
    ...sourceOf(record),
    ...(analysis.object ? { object: analysis.object } : {}),
    status: analysis.status,
    execution: analysis.execution,
    started_at: analysis.started_at,
    finished_at: analysis.finished_at,
    ...(analysis.error ? { error: analysis.error } : {}),
    ...(media ? { summary: compactSummary(media) } : {}),
  };
  // JSON drops what is undefined: the event holds only the values the analysis has.
  return { detail_type: OUTCOME_DETAIL_TYPES[analysis.status], detail: JSON.parse(JSON.stringify(detail)) };
}
