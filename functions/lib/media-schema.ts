/**
 * The `media` map on a row, field by field: version 2, which the pipeline writes, and version 1,
 * which older rows still hold. Every value comes from ffprobe's JSON (or, for `faststart`, from the
 * object's own top-level boxes); a field ffprobe did not report is left out, never guessed. The
 * README's data contract lists the same fields.
 */

export const MEDIA_SCHEMA_VERSION = 2;

/** How many entries a list keeps at most: a file with hundreds of streams or chapters must still fit the row and the state. */
export interface ListCaps {
  video: number;
  audio: number;
  subtitles: number;
  data: number;
  attachments: number;
  cover_art: number;
  chapters: number;
  programs: number;
  findings: number;
}

/** The container's first timecode. */
export interface StartTimecode {
  /** As ffprobe printed it: "01:00:00;00" (drop-frame counts use ';' before the frames). */
  value: string;
  /** True when the value's last separator is ';' or '.', SMPTE's mark of a drop-frame count (29.97 and 59.94 fps). */
  drop_frame: boolean;
  /**
   * Where ffprobe reported it, as a path into its JSON: `format.tags.timecode` (MXF's material
   * package, DV, GXF), `streams[N].tags.timecode` of a MOV/MP4 `tmcd` track, or of a video stream.
   */
  source: string;
}

export interface Chapter {
  /** The chapter's `start_time` and `end_time`, seconds. */
  start_s?: number;
  end_s?: number;
  /** Its `title` tag. */
  title?: string;
}

/** A program of an MPEG transport stream (`-show_programs`). */
export interface Program {
  /** `program_num`: the service's number in the PAT. */
  program_num?: number;
  /** The SDT's `service_name` and `service_provider` tags. */
  service_name?: string;
  service_provider?: string;
  /** `nb_streams`: how many of the file's streams the program holds. */
  stream_count?: number;
}

/** A Matroska attachment that is not a picture (fonts, mostly): `codec_type` "attachment". */
export interface Attachment {
  index: number;
  /** `filename` and `mimetype` tags. */
  file_name?: string;
  mime_type?: string;
  /** `codec_name` when ffprobe knows the type (`ttf`, `otf`). */
  codec?: string;
}

/** A picture attached to the file (disposition `attached_pic`): MP3/FLAC/MP4 cover art, a Matroska image attachment. Never counted as video. */
export interface CoverArt {
  index: number;
  codec?: string;
  width?: number;
  height?: number;
  /** The `title` tag, or Matroska's `filename`. */
  title?: string;
}

/** A data stream: timecode (`tmcd`), SCTE-35 cues, KLV metadata, and what else ffprobe lists as `codec_type` "data". */
export interface DataStream {
  index: number;
  codec?: string;
  /** `codec_tag_string` unless the tag is 0 (`tmcd`, or an MPEG-TS stream type such as "[134][0][0][0]" for SCTE-35). */
  codec_tag?: string;
  title?: string;
}

/** ffprobe's own names for each (`color_range`, `color_primaries`, `color_transfer`, `color_space`); "unknown" is left out. */
export interface Color {
  range?: string;
  primaries?: string;
  transfer?: string;
  /** `color_space`: the matrix coefficients (bt709, bt2020nc …). */
  matrix?: string;
}

/**
 * What the stream carries: "PQ" (`color_transfer` smpte2084), "HLG" (arib-std-b67), "HDR10" (PQ
 * with both mastering display and content light level metadata), "HDR10+" (SMPTE 2094-40 dynamic
 * metadata reported on the stream, or found in its first frames), "Dolby Vision" (a DOVI
 * configuration record, or an RPU found in its first frames).
 */
export type HdrFormat = 'PQ' | 'HDR10' | 'HDR10+' | 'HLG' | 'Dolby Vision';

/** CIE 1931 xy coordinates, from ffprobe's rationals ("34000/50000" → 0.68). */
export interface Chromaticity {
  x: number;
  y: number;
}

/** The "Mastering display metadata" side data (SMPTE ST 2086): MP4 `mdcv`, Matroska MasteringMetadata. Luminance in cd/m². */
export interface MasteringDisplay {
  red?: Chromaticity;
  green?: Chromaticity;
  blue?: Chromaticity;
  white_point?: Chromaticity;
  min_luminance?: number;
  max_luminance?: number;
}

/** The "Content light level metadata" side data (CTA-861.3): `max_content` and `max_average`, cd/m². */
export interface ContentLightLevel {
  max_cll?: number;
  max_fall?: number;
}

/** The "DOVI configuration record" side data (MP4 `dvcC`/`dvvC`, Matroska BlockAdditionMapping). */
export interface DolbyVision {
  /** `dv_profile`: 5 has no backward-compatible base layer, 8 an HDR10 (8.1), SDR (8.2) or HLG (8.4) one. */
  profile?: number;
  level?: number;
  /** `dv_bl_signal_compatibility_id`: 0 none, 1 HDR10, 2 SDR, 4 HLG, 6 Blu-ray HDR10. */
  bl_compatibility_id?: number;
  /** `rpu_present_flag`, `el_present_flag`, `bl_present_flag`: which of the reference processing unit, enhancement layer and base layer are there. */
  rpu?: boolean;
  el?: boolean;
  bl?: boolean;
}

/**
 * What the second, bounded ffprobe run read from the stream's first frames (bitstream-hdr.ts):
 * the HDR10+ and Dolby Vision RPU metadata that only the bitstream may carry. Present only where
 * that run was made and succeeded.
 */
export interface HdrFrames {
  /** Frames decoded and read. */
  frames_read: number;
  /** An SMPTE 2094-40 (HDR10+) SEI in at least one of them. */
  hdr10_plus: boolean;
  /** A Dolby Vision RPU in at least one of them. */
  dolby_vision_rpu: boolean;
  /** Mastering display metadata (an SEI) in at least one of them: `mastering_display` comes from there when the container has none. */
  mastering_display: boolean;
  /** Content light level (an SEI) in at least one of them: `content_light_level` comes from there when the container has none. */
  content_light_level: boolean;
}

export interface Hdr {
  formats: HdrFormat[];
  mastering_display?: MasteringDisplay;
  content_light_level?: ContentLightLevel;
  dolby_vision?: DolbyVision;
  frames?: HdrFrames;
}

/** A video stream (not cover art). */
export interface VideoStream {
  index: number;
  codec?: string;
  profile?: string;
  /** ffprobe's `level` as it prints it: H.264 ×10 (31 is 3.1), HEVC ×30 (153 is 5.1), MPEG-2's level code; left out when unknown (-99). */
  level?: number;
  /** `codec_tag_string` (avc1, hvc1, apcn …) unless the tag is 0. */
  codec_tag?: string;
  /** The coded picture's size, `width` × `height`. */
  width?: number;
  height?: number;
  /** What a player shows: the width scaled by the sample aspect ratio, then both turned by `rotation` (90° and 270° swap them). */
  display_width?: number;
  display_height?: number;
  /** As ffprobe printed them ("64:45", "16:9"); left out when unknown ("0:1"). */
  sample_aspect_ratio?: string;
  display_aspect_ratio?: string;
  /** `avg_frame_rate` (else `r_frame_rate`) in frames per second, three decimals, and as ffprobe printed it ("30000/1001"). */
  frame_rate?: number;
  frame_rate_fraction?: string;
  /** `r_frame_rate` as printed: the lowest rate that represents every timestamp of the stream. */
  base_frame_rate_fraction?: string;
  /**
   * True when `r_frame_rate` and `avg_frame_rate` differ by more than 0.5 % (and neither is twice
   * the other: that is a field rate beside a frame rate); false when they agree; left out when
   * either is unknown. A hint, not a proof: only the timestamps of every frame would tell.
   */
  vfr_suspected?: boolean;
  /** From `field_order`: "progressive", or "interlaced" for tt, bb, tb and bt; left out when ffprobe says "unknown" or nothing. */
  scan_type?: 'progressive' | 'interlaced';
  /** The field shown first, from `field_order`: tt and bt → "tff", bb and tb → "bff". */
  field_order?: 'tff' | 'bff';
  pix_fmt?: string;
  /** `bits_per_raw_sample`, else the component depth the pixel format names (yuv420p10le → 10). */
  bit_depth?: number;
  /** From the pixel format: "4:2:0", "4:2:2", "4:4:4" (RGB included), "4:1:1", "4:4:0"; left out for grey and formats it does not name. */
  chroma_subsampling?: string;
  color?: Color;
  /** Degrees a player turns the picture clockwise, 0–359: ffprobe's Display Matrix `rotation` is counter-clockwise (-90 for a phone held upright). */
  rotation?: number;
  hdr?: Hdr;
  /** `bit_rate`, else Matroska's `BPS` statistics tag (mkvmerge writes it). */
  bit_rate?: number;
  /** `nb_frames`, else Matroska's `NUMBER_OF_FRAMES` tag. */
  frame_count?: number;
  /** `start_time`, seconds. */
  start_time_s?: number;
  /** `duration`, else Matroska's `DURATION` tag ("00:01:02.500000000"). */
  duration_s?: number;
  /** The `language` tag; "und" (ISO 639's "undetermined") is left out. */
  language?: string;
  title?: string;
  /** Dispositions, when ffprobe printed them. */
  default?: boolean;
  forced?: boolean;
}

export interface AudioStream {
  index: number;
  codec?: string;
  /** ffprobe's profile name: "LC", "HE-AACv2", "DTS-HD MA"; ffprobe 7.1 also names "Dolby Digital Plus + Dolby Atmos", "Dolby TrueHD + Dolby Atmos", "DTS-HD MA + DTS:X". */
  profile?: string;
  channels?: number;
  /** ffprobe's layout name: "stereo", "5.1(side)", "7.1". */
  channel_layout?: string;
  sample_rate?: number;
  /** `bits_per_raw_sample`, else `bits_per_sample` (PCM): left out for lossy codecs, which have none. */
  bit_depth?: number;
  /** `bit_rate`, else Matroska's `BPS` tag. */
  bit_rate?: number;
  start_time_s?: number;
  /** `duration`, else Matroska's `DURATION` tag. */
  duration_s?: number;
  language?: string;
  title?: string;
  default?: boolean;
  /** Accessibility dispositions: audio description (`visual_impaired`), clear audio (`hearing_impaired`), `comment`ary. */
  visual_impaired?: boolean;
  hearing_impaired?: boolean;
  commentary?: boolean;
}

export interface SubtitleStream {
  index: number;
  codec?: string;
  language?: string;
  title?: string;
  default?: boolean;
  forced?: boolean;
  /** SDH: subtitles for the deaf and hard of hearing. */
  hearing_impaired?: boolean;
}

export type Severity = 'warning' | 'info';

/** One QC finding: the rule (see media-findings.ts and the README), how much it matters, and a message naming the value it rests on. */
export interface Finding {
  rule: string;
  severity: Severity;
  message: string;
}

/** `media` as the pipeline writes it now. Each list is capped (ListCaps); `<list>_omitted` counts what was left out and is there only when something was. */
export interface MediaSummary {
  schema_version: typeof MEDIA_SCHEMA_VERSION;
  format_name?: string;
  /** The container's `duration`, `size` (bytes), `bit_rate` and `start_time`. */
  duration_s?: number;
  size_bytes?: number;
  bit_rate?: number;
  start_time_s?: number;
  /** MP4/MOV `major_brand` ("isom", "qt"). */
  brand?: string;
  /** The container's `encoder` tag (the writing application). */
  encoder?: string;
  /** The container's `creation_time` tag, as written (usually ISO 8601 UTC). */
  creation_time?: string;
  start_timecode?: StartTimecode;
  /**
   * MP4/MOV only: true when the index (moov) comes before the media data (mdat), so a player can
   * start before it has the whole file. Not in ffprobe's output: the ffprobe step reads the
   * object's top-level box headers itself through the presigned URL (functions/lib/faststart.ts),
   * usually one ranged GET of 4 KiB. Left out for other containers, or when that read failed.
   */
  faststart?: boolean;
  /**
   * True when ffprobe saw closed captions: a video stream with `closed_captions` 1 (CEA-608/708 in
   * the video's SEI or user data), or an eia_608 subtitle stream (a MOV c608 track). Never false:
   * ffprobe 5.1 sets the flag only for a stream it decoded frames of, which `-show_streams` does
   * not do, and 7.1 prints it only with `-analyze_frames`.
   */
  closed_captions?: true;
  video: VideoStream[];
  video_omitted?: number;
  audio: AudioStream[];
  audio_omitted?: number;
  subtitles: SubtitleStream[];
  subtitles_omitted?: number;
  data: DataStream[];
  data_omitted?: number;
  attachments: Attachment[];
  attachments_omitted?: number;
  cover_art: CoverArt[];
  cover_art_omitted?: number;
  chapters: Chapter[];
  chapters_omitted?: number;
  programs: Program[];
  programs_omitted?: number;
  findings: Finding[];
  findings_omitted?: number;
}

/** `media` as rows analysed before version 2 hold it (no `schema_version`). */
export interface MediaSummaryV1 {
  schema_version?: undefined;
  format_name?: string;
  duration_s?: number;
  size_bytes?: number;
  bit_rate?: number;
  video: Array<{ codec?: string; width?: number; height?: number; frame_rate?: number; pix_fmt?: string; profile?: string }>;
  audio: Array<{ codec?: string; channels?: number; sample_rate?: number; language?: string }>;
  subtitles: Array<{ codec?: string; language?: string }>;
}

/** Either version, as read back from a row. */
export type StoredMediaSummary = MediaSummary | MediaSummaryV1;
