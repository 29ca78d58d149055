/**
 * QC findings: one table of rules over the media summary, each with an id, a severity, what it
 * checks (the README's table is this one) and a test that returns one message per occurrence,
 * naming the value it rests on. Thresholds are named constants with their reasons.
 */
import { rationalOf } from './ffprobe-values';
import type { AudioStream, Finding, MediaSummary, Severity, VideoStream } from './media-schema';
import { VFR_TOLERANCE } from './media-video';

/**
 * Audio and video starting further apart than this are reported. Encoders delay audio by less
 * (AAC's priming is 1024–2112 samples, 21–44 ms at 48 kHz; Opus 6.5 ms; an MPEG-TS audio packet a
 * few ms), and viewers notice about this much (ITU-R BT.1359: 45 ms early, 125 ms late).
 */
export const AV_START_OFFSET_THRESHOLD_S = 0.1;

/**
 * Audio and video lasting longer than this apart are reported. A well-made file's streams end
 * within a video frame or an audio packet of each other (under 0.1 s); half a second is material
 * missing from one of them, not rounding.
 */
export const AV_DURATION_MISMATCH_THRESHOLD_S = 0.5;

/** The summary a rule looks at: everything but the findings themselves. */
export type Summarised = Omit<MediaSummary, 'findings'>;

export interface Rule {
  rule: string;
  severity: Severity;
  /** What it checks, in a sentence: the README's table. */
  checks: string;
  /** One message per occurrence; none when the file passes. */
  find(media: Summarised): string[];
}

const seconds = (value: number): string => `${Math.round(value * 1000) / 1000} s`;

/** A difference of ffprobe's times, which it prints to the microsecond: 1.1 - 1 is 0.1, not 0.10000000000000009. */
const difference = (a: number, b: number): number => Math.round((a - b) * 1e6) / 1e6;

/** The first video stream: the picture the audio belongs with. */
const mainVideo = (media: Summarised): VideoStream | undefined => media.video[0];

const eachVideo = (media: Summarised, message: (video: VideoStream) => string | undefined): string[] =>
  media.video.map(message).filter((text): text is string => text !== undefined);

const eachAudioAgainstVideo = (media: Summarised, message: (audio: AudioStream, video: VideoStream) => string | undefined): string[] => {
  const video = mainVideo(media);
  if (!video) return [];
  return media.audio.map((audio) => message(audio, video)).filter((text): text is string => text !== undefined);
};

export const RULES: readonly Rule[] = [
  {
    rule: 'not_faststart',
    severity: 'warning',
    checks:
      'MP4/MOV whose index (moov) follows the media data (`faststart` false): a player must read the end of the file before it can start.',
    find: (media) =>
      media.faststart === false
        ? ['faststart false: the index (moov) follows the media data (mdat), so playback waits for the end of the file']
        : [],
  },
  {
    rule: 'interlaced',
    severity: 'warning',
    checks: 'A video stream whose `scan_type` is interlaced: it needs deinterlacing for the web and for progressive displays.',
    find: (media) =>
      eachVideo(media, (v) =>
        v.scan_type === 'interlaced'
          ? `video stream ${v.index} is interlaced${v.field_order ? `, field_order ${v.field_order} (${v.field_order === 'tff' ? 'top' : 'bottom'} field first)` : ''}`
          : undefined,
      ),
  },
  {
    rule: 'vfr_suspected',
    severity: 'warning',
    checks: `A video stream with \`vfr_suspected\`: its average frame rate differs from its base rate (\`r_frame_rate\`) by more than ${VFR_TOLERANCE * 100} % and not by a factor of 2, so its frame rate may vary.`,
    find: (media) =>
      eachVideo(media, (v) =>
        v.vfr_suspected
          ? `video stream ${v.index} may have a variable frame rate: avg_frame_rate ${v.frame_rate_fraction} (${v.frame_rate} fps) against r_frame_rate ${v.base_frame_rate_fraction}`
          : undefined,
      ),
  },
  {
    rule: 'non_square_pixels',
    severity: 'info',
    checks: 'A video stream whose `sample_aspect_ratio` is not 1:1 (anamorphic): it must be scaled to `display_width` × `display_height`.',
    find: (media) =>
      eachVideo(media, (v) => {
        const sar = rationalOf(v.sample_aspect_ratio);
        if (!sar || sar.num === sar.den) return undefined;
        const shown = v.display_width && v.display_height ? `, shown as ${v.display_width}x${v.display_height}` : '';
        return `video stream ${v.index} has non-square pixels: sample_aspect_ratio ${v.sample_aspect_ratio}${shown}`;
      }),
  },
  {
    rule: 'rotated',
    severity: 'info',
    checks: 'A video stream with a `rotation`: players turn it, tools that ignore the display matrix show it on its side.',
    find: (media) =>
      eachVideo(media, (v) =>
        v.rotation ? `video stream ${v.index} is turned ${v.rotation}° clockwise on display (rotation ${v.rotation})` : undefined,
      ),
  },
  {
    rule: 'pq_without_mastering_metadata',
    severity: 'warning',
    checks:
      'A PQ video stream without mastering display metadata (SMPTE ST 2086) on the stream: displays must guess the range it was graded for.',
    find: (media) =>
      eachVideo(media, (v) =>
        v.hdr?.formats.includes('PQ') && !v.hdr.mastering_display
          ? `video stream ${v.index} is PQ (color transfer smpte2084) without mastering display metadata${v.hdr.content_light_level ? '' : ' or content light level'}`
          : undefined,
      ),
  },
  {
    rule: 'dolby_vision_profile_5',
    severity: 'warning',
    checks: 'Dolby Vision profile 5: no SDR or HDR10 base layer to fall back on, so a player without Dolby Vision shows wrong colours.',
    find: (media) =>
      eachVideo(media, (v) =>
        v.hdr?.dolby_vision?.profile === 5
          ? `video stream ${v.index} is Dolby Vision profile 5${v.hdr.dolby_vision.bl_compatibility_id === undefined ? '' : ` (bl_compatibility_id ${v.hdr.dolby_vision.bl_compatibility_id})`}: no SDR or HDR10 fallback`
          : undefined,
      ),
  },
  {
    rule: 'av_start_offset',
    severity: 'warning',
    checks: `An audio stream starting more than ${AV_START_OFFSET_THRESHOLD_S} s before or after the first video stream (their \`start_time_s\`).`,
    find: (media) =>
      eachAudioAgainstVideo(media, (a, v) => {
        if (a.start_time_s === undefined || v.start_time_s === undefined) return undefined;
        const offset = difference(a.start_time_s, v.start_time_s);
        if (Math.abs(offset) <= AV_START_OFFSET_THRESHOLD_S) return undefined;
        return `audio stream ${a.index} starts ${seconds(Math.abs(offset))} ${offset > 0 ? 'after' : 'before'} video stream ${v.index} (start_time ${seconds(a.start_time_s)} against ${seconds(v.start_time_s)})`;
      }),
  },
  {
    rule: 'av_duration_mismatch',
    severity: 'warning',
    checks: `An audio stream whose duration differs from the first video stream's by more than ${AV_DURATION_MISMATCH_THRESHOLD_S} s (their \`duration_s\`).`,
    find: (media) =>
      eachAudioAgainstVideo(media, (a, v) => {
        if (a.duration_s === undefined || v.duration_s === undefined) return undefined;
        if (Math.abs(difference(a.duration_s, v.duration_s)) <= AV_DURATION_MISMATCH_THRESHOLD_S) return undefined;
        return `audio stream ${a.index} lasts ${seconds(a.duration_s)}, video stream ${v.index} ${seconds(v.duration_s)}`;
      }),
  },
  {
    rule: 'no_audio',
    severity: 'warning',
    checks: 'Video without any audio stream.',
    find: (media) =>
      media.video.length > 0 && media.audio.length === 0
        ? [`no audio stream beside ${media.video.length} video stream${media.video.length > 1 ? 's' : ''}`]
        : [],
  },
  {
    rule: 'several_default_tracks',
    severity: 'warning',
    checks: 'More than one video, audio or subtitle stream marked default: players pick one of them arbitrarily.',
    find: (media) =>
      (['video', 'audio', 'subtitles'] as const).flatMap((kind) => {
        const defaults = (media[kind] as Array<{ index: number; default?: boolean }>).filter((s) => s.default).map((s) => s.index);
        const noun = kind === 'subtitles' ? 'subtitle' : kind;
        return defaults.length > 1 ? [`${defaults.length} ${noun} streams are marked default: ${defaults.join(', ')}`] : [];
      }),
  },
  {
    rule: 'undetermined_language',
    severity: 'info',
    checks: 'An audio or subtitle stream without a language (no `language` tag, or "und"): players cannot offer it by language.',
    find: (media) => [
      ...media.audio.filter((s) => !s.language).map((s) => `audio stream ${s.index} has no language (tag missing or "und")`),
      ...media.subtitles.filter((s) => !s.language).map((s) => `subtitle stream ${s.index} has no language (tag missing or "und")`),
    ],
  },
];

/** Every rule's findings on a summary, in the table's order. */
export function findingsOf(media: Summarised): Finding[] {
  return RULES.flatMap(({ rule, severity, find }) => find(media).map((message) => ({ rule, severity, message })));
}
