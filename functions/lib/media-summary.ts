/** Summarises ffprobe's JSON into the typed `media` map: only what ffprobe reported, nothing invented. */
import type { FfprobeOutput } from './ffprobe-command';
import { truncate } from './truncate';

export interface VideoSummary {
  codec?: string;
  width?: number;
  height?: number;
  frame_rate?: number;
  pix_fmt?: string;
  profile?: string;
}

export interface AudioSummary {
  codec?: string;
  channels?: number;
  sample_rate?: number;
  language?: string;
}

export interface SubtitleSummary {
  codec?: string;
  language?: string;
}

export interface MediaSummary {
  format_name?: string;
  duration_s?: number;
  size_bytes?: number;
  bit_rate?: number;
  video: VideoSummary[];
  audio: AudioSummary[];
  subtitles: SubtitleSummary[];
}

type Stream = Record<string, unknown>;

/** A finite number from ffprobe's numbers-as-strings, or undefined ("N/A", missing, garbage). */
function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : undefined;
}

function positive(value: unknown): number | undefined {
  const n = numberOf(value);
  return n !== undefined && n > 0 ? n : undefined;
}

/** No string of the summary is longer: a tag is the file's to choose, and a row or a state has room for only so much. */
const MAX_TEXT_LENGTH = 256;

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' && value !== 'unknown' ? truncate(value, MAX_TEXT_LENGTH) : undefined;
}

/** "30000/1001" → 29.97; "0/0" (ffprobe's "unknown") → undefined. */
export function parseFrameRate(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const [num, den] = value.split('/').map(Number);
  if (!Number.isFinite(num) || !Number.isFinite(den) || !num || !den) return undefined;
  return Math.round((num / den) * 1000) / 1000;
}

/** "und" is ISO 639's "undetermined": ffprobe's way of saying it doesn't know. */
function languageOf(stream: Stream): string | undefined {
  const tags = stream.tags as Record<string, unknown> | undefined;
  const language = text(tags?.language);
  return language && language !== 'und' ? language : undefined;
}

function isAttachedPicture(stream: Stream): boolean {
  return (stream.disposition as Record<string, unknown> | undefined)?.attached_pic === 1;
}

/** Drops undefined fields so the DynamoDB map holds only what was reported. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** The typed summary of an ffprobe result. Cover art (attached pictures) is not counted as video. */
export function summariseMedia(output: FfprobeOutput): MediaSummary {
  const streams = output.streams ?? [];
  const format = output.format ?? {};
  const ofType = (type: string) => streams.filter((s) => s.codec_type === type);
  return defined({
    format_name: text(format.format_name),
    duration_s: positive(format.duration),
    size_bytes: positive(format.size),
    bit_rate: positive(format.bit_rate),
    video: ofType('video')
      .filter((s) => !isAttachedPicture(s))
      .map((s) =>
        defined({
          codec: text(s.codec_name),
          width: positive(s.width),
          height: positive(s.height),
          frame_rate: parseFrameRate(s.avg_frame_rate) ?? parseFrameRate(s.r_frame_rate),
          pix_fmt: text(s.pix_fmt),
          profile: text(s.profile),
        }),
      ),
    audio: ofType('audio').map((s) =>
      defined({
        codec: text(s.codec_name),
        channels: positive(s.channels),
        sample_rate: positive(s.sample_rate),
        language: languageOf(s),
      }),
    ),
    subtitles: ofType('subtitle').map((s) => defined({ codec: text(s.codec_name), language: languageOf(s) })),
  });
}

/** One line for people: "mov,mp4 · 12.5 s · h264 1920x1080 29.97 fps · aac 2 ch 48000 Hz". */
export function describeMedia(media: MediaSummary): string {
  const parts: string[] = [];
  if (media.format_name) parts.push(media.format_name);
  if (media.duration_s !== undefined) parts.push(`${media.duration_s.toFixed(1)} s`);
  for (const v of media.video) {
    parts.push(
      [v.codec, v.width && v.height ? `${v.width}x${v.height}` : undefined, v.frame_rate ? `${v.frame_rate} fps` : undefined]
        .filter(Boolean)
        .join(' '),
    );
  }
  for (const a of media.audio) {
    parts.push(
      [a.codec, a.channels ? `${a.channels} ch` : undefined, a.sample_rate ? `${a.sample_rate} Hz` : undefined, a.language]
        .filter(Boolean)
        .join(' '),
    );
  }
  if (media.subtitles.length) parts.push(`${media.subtitles.length} subtitle stream${media.subtitles.length > 1 ? 's' : ''}`);
  return parts.filter(Boolean).join(' · ');
}
