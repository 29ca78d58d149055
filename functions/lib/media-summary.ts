/**
 * Summarises ffprobe's JSON into the typed `media` map (version 2, media-schema.ts): only what
 * ffprobe reported, nothing invented; lists capped so any file fits the row and the state; QC
 * findings from media-findings.ts. Also the one-line description people read, for either version.
 */
import { summariseFrames } from './bitstream-hdr';
import type { FfprobeOutput } from './ffprobe-command';
import { clockDuration, codecTagOf, defined, disposition, languageOf, numberOf, positive, type Section, tag, text } from './ffprobe-values';
import { findingsOf, type Summarised } from './media-findings';
import {
  type Attachment,
  type AudioStream,
  type Chapter,
  type CoverArt,
  type DataStream,
  type ListCaps,
  MEDIA_SCHEMA_VERSION,
  type MediaSummary,
  type Program,
  type StartTimecode,
  type StoredMediaSummary,
  type SubtitleStream,
} from './media-schema';
import { summariseVideo } from './media-video';

/**
 * The most entries each list keeps. Far above what real files carry (a Blu-ray has a few dozen
 * audio and subtitle tracks and at most 99 chapters per title), and small enough that even every
 * list full, every string at its cap, stays under the 64 KiB the row keeps for the summary.
 */
export const LIST_CAPS: ListCaps = {
  video: 8,
  audio: 32,
  subtitles: 32,
  data: 8,
  attachments: 8,
  cover_art: 4,
  chapters: 100,
  programs: 16,
  findings: 32,
};

/** Extra facts the ffprobe step learnt besides ffprobe's JSON. */
export interface ProbeFacts {
  /** From the object's top-level boxes (faststart.ts); undefined when not MP4/MOV or not known. */
  faststart?: boolean;
}

/** MP4/MOV's `major_brand` tag as the mov demuxer names it; a Matroska remux keeps an upper-case copy of the source's, which says nothing of the file itself. */
function majorBrandOf(format: Section): string | undefined {
  const tags = format.tags;
  return tags && typeof tags === 'object' ? text((tags as Record<string, unknown>).major_brand) : undefined;
}

const isAttachedPicture = (stream: Section): boolean => disposition(stream, 'attached_pic') === true;

/** A timecode as ffmpeg prints it: hh:mm:ss, then ':' before the frames, or ';' / '.' for a drop-frame count. */
const TIMECODE = /^\d{1,2}:\d{2}:\d{2}([:;.,])\d{2,3}$/;

/** The first timecode ffprobe reports: the container's, else a tmcd track's, else a video stream's. */
function startTimecodeOf(streams: Section[], format: Section): StartTimecode | undefined {
  const isTmcd = (s: Section) => s.codec_type === 'data' && s.codec_tag_string === 'tmcd';
  const candidates: Array<{ section: Section; source: string }> = [
    { section: format, source: 'format.tags.timecode' },
    ...streams.flatMap((s, i) => (isTmcd(s) ? [{ section: s, source: `streams[${i}].tags.timecode` }] : [])),
    ...streams.flatMap((s, i) => (s.codec_type === 'video' ? [{ section: s, source: `streams[${i}].tags.timecode` }] : [])),
  ];
  for (const { section, source } of candidates) {
    const value = text(tag(section, 'timecode'));
    const match = value === undefined ? null : TIMECODE.exec(value);
    if (value !== undefined && match) return { value, drop_frame: match[1] === ';' || match[1] === '.', source };
  }
  return undefined;
}

function audioOf(stream: Section, position: number): AudioStream {
  return defined({
    index: numberOf(stream.index) ?? position,
    codec: text(stream.codec_name),
    profile: text(stream.profile),
    channels: positive(stream.channels),
    channel_layout: text(stream.channel_layout),
    sample_rate: positive(stream.sample_rate),
    bit_depth: positive(stream.bits_per_raw_sample) ?? positive(stream.bits_per_sample),
    bit_rate: positive(stream.bit_rate) ?? positive(tag(stream, 'BPS')),
    start_time_s: numberOf(stream.start_time),
    duration_s: positive(stream.duration) ?? clockDuration(tag(stream, 'DURATION')),
    language: languageOf(stream),
    title: text(tag(stream, 'title')),
    default: disposition(stream, 'default'),
    visual_impaired: disposition(stream, 'visual_impaired'),
    hearing_impaired: disposition(stream, 'hearing_impaired'),
    commentary: disposition(stream, 'comment'),
  });
}

function subtitleOf(stream: Section, position: number): SubtitleStream {
  return defined({
    index: numberOf(stream.index) ?? position,
    codec: text(stream.codec_name),
    language: languageOf(stream),
    title: text(tag(stream, 'title')),
    default: disposition(stream, 'default'),
    forced: disposition(stream, 'forced'),
    hearing_impaired: disposition(stream, 'hearing_impaired'),
  });
}

function dataOf(stream: Section, position: number): DataStream {
  return defined({
    index: numberOf(stream.index) ?? position,
    codec: text(stream.codec_name),
    codec_tag: codecTagOf(stream),
    title: text(tag(stream, 'title')),
  });
}

function attachmentOf(stream: Section, position: number): Attachment {
  return defined({
    index: numberOf(stream.index) ?? position,
    file_name: text(tag(stream, 'filename')),
    mime_type: text(tag(stream, 'mimetype')),
    codec: text(stream.codec_name),
  });
}

function coverArtOf(stream: Section, position: number): CoverArt {
  return defined({
    index: numberOf(stream.index) ?? position,
    codec: text(stream.codec_name),
    width: positive(stream.width),
    height: positive(stream.height),
    title: text(tag(stream, 'title')) ?? text(tag(stream, 'filename')),
  });
}

function chapterOf(chapter: Section): Chapter {
  return defined({ start_s: numberOf(chapter.start_time), end_s: numberOf(chapter.end_time), title: text(tag(chapter, 'title')) });
}

function programOf(program: Section): Program {
  return defined({
    program_num: numberOf(program.program_num),
    service_name: text(tag(program, 'service_name')),
    service_provider: text(tag(program, 'service_provider')),
    stream_count: numberOf(program.nb_streams),
  });
}

/** Closed captions ffprobe saw: a video stream's `closed_captions` flag, or a caption track (MOV c608) of its own. */
function closedCaptionsSeen(streams: Section[]): true | undefined {
  const seen = streams.some(
    (s) => (s.codec_type === 'video' && numberOf(s.closed_captions) === 1) || (s.codec_type === 'subtitle' && s.codec_name === 'eia_608'),
  );
  return seen || undefined;
}

const sections = (value: unknown): Section[] =>
  Array.isArray(value) ? value.filter((entry): entry is Section => !!entry && typeof entry === 'object') : [];

/** Every stream of a kind with its place in ffprobe's list, summarised. */
function streamsWhere<T>(streams: Section[], keep: (stream: Section) => boolean, summarise: (stream: Section, position: number) => T): T[] {
  return streams.flatMap((stream, position) => (keep(stream) ? [summarise(stream, position)] : []));
}

/** A list cut to its cap, and how many entries were left out (undefined when none were). */
function capped<T>(list: T[], cap: number): [T[], number | undefined] {
  return list.length > cap ? [list.slice(0, cap), list.length - cap] : [list, undefined];
}

/** Every list of the summary cut to LIST_CAPS, each with its `<list>_omitted` count when entries were left out. */
function withCaps(full: MediaSummary): MediaSummary {
  const [video, video_omitted] = capped(full.video, LIST_CAPS.video);
  const [audio, audio_omitted] = capped(full.audio, LIST_CAPS.audio);
  const [subtitles, subtitles_omitted] = capped(full.subtitles, LIST_CAPS.subtitles);
  const [data, data_omitted] = capped(full.data, LIST_CAPS.data);
  const [attachments, attachments_omitted] = capped(full.attachments, LIST_CAPS.attachments);
  const [cover_art, cover_art_omitted] = capped(full.cover_art, LIST_CAPS.cover_art);
  const [chapters, chapters_omitted] = capped(full.chapters, LIST_CAPS.chapters);
  const [programs, programs_omitted] = capped(full.programs, LIST_CAPS.programs);
  const [findings, findings_omitted] = capped(full.findings, LIST_CAPS.findings);
  return defined({
    ...full,
    video,
    video_omitted,
    audio,
    audio_omitted,
    subtitles,
    subtitles_omitted,
    data,
    data_omitted,
    attachments,
    attachments_omitted,
    cover_art,
    cover_art_omitted,
    chapters,
    chapters_omitted,
    programs,
    programs_omitted,
    findings,
    findings_omitted,
  });
}

/**
 * The typed summary of an ffprobe result (with the frames of the step's second run, when it made
 * one) and what the ffprobe step learnt besides. Findings are made from every stream before the
 * lists are capped, so a rule sees the whole file.
 */
export function summariseMedia(output: FfprobeOutput, facts: ProbeFacts = {}): MediaSummary {
  const streams = sections(output.streams);
  const format: Section = output.format ?? {};
  const ofType = (type: string) => (stream: Section) => stream.codec_type === type;
  const frames = output.frames_probe ? summariseFrames(output.frames_probe) : undefined;
  const summarised: Summarised = defined({
    schema_version: MEDIA_SCHEMA_VERSION,
    format_name: text(format.format_name),
    duration_s: positive(format.duration),
    size_bytes: positive(format.size),
    bit_rate: positive(format.bit_rate),
    start_time_s: numberOf(format.start_time),
    brand: majorBrandOf(format),
    encoder: text(tag(format, 'encoder')),
    creation_time: text(tag(format, 'creation_time')),
    start_timecode: startTimecodeOf(streams, format),
    faststart: facts.faststart,
    closed_captions: closedCaptionsSeen(streams),
    video: streamsWhere(
      streams,
      (s) => s.codec_type === 'video' && !isAttachedPicture(s),
      (stream, position) =>
        summariseVideo(stream, position, (numberOf(stream.index) ?? position) === frames?.streamIndex ? frames : undefined),
    ),
    audio: streamsWhere(streams, ofType('audio'), audioOf),
    subtitles: streamsWhere(streams, ofType('subtitle'), subtitleOf),
    data: streamsWhere(streams, ofType('data'), dataOf),
    attachments: streamsWhere(streams, ofType('attachment'), attachmentOf),
    cover_art: streamsWhere(streams, (s) => s.codec_type === 'video' && isAttachedPicture(s), coverArtOf),
    chapters: sections(output.chapters).map(chapterOf),
    programs: sections(output.programs).map(programOf),
  });
  return withCaps({ ...summarised, findings: findingsOf(summarised) });
}

const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;

/**
 * One line for people: "mov,mp4 · 12.5 s · hevc 3840x2160 23.976 fps PQ/HDR10 · aac 2 ch 48000 Hz eng ·
 * 1 warning". Reads version 1 rows (no HDR, no findings) as well as version 2, and rows written by
 * hand without some of the lists.
 */
export function describeMedia(media: StoredMediaSummary): string {
  const parts: string[] = [];
  if (media.format_name) parts.push(media.format_name);
  if (media.duration_s !== undefined) parts.push(`${media.duration_s.toFixed(1)} s`);
  for (const v of media.video ?? []) {
    const hdr = 'hdr' in v && v.hdr?.formats.length ? v.hdr.formats.join('/') : undefined;
    parts.push(
      [v.codec, v.width && v.height ? `${v.width}x${v.height}` : undefined, v.frame_rate ? `${v.frame_rate} fps` : undefined, hdr]
        .filter(Boolean)
        .join(' '),
    );
  }
  for (const a of media.audio ?? []) {
    parts.push(
      [a.codec, a.channels ? `${a.channels} ch` : undefined, a.sample_rate ? `${a.sample_rate} Hz` : undefined, a.language]
        .filter(Boolean)
        .join(' '),
    );
  }
  const subtitles = (media.subtitles?.length ?? 0) + ('subtitles_omitted' in media ? (media.subtitles_omitted ?? 0) : 0);
  if (subtitles) parts.push(plural(subtitles, 'subtitle stream'));
  if (media.schema_version === MEDIA_SCHEMA_VERSION) {
    const warnings = (media.findings ?? []).filter((f) => f.severity === 'warning').length;
    if (warnings) parts.push(plural(warnings, 'warning'));
  }
  return parts.filter(Boolean).join(' · ');
}
