/**
 * Summarises one video stream of ffprobe's JSON: size and shape after aspect ratio and rotation,
 * frame rate, scan, pixel format, colour, and HDR from the stream's side data. The side data names
 * are FFmpeg's (libavcodec's packet side data names, the same in 5.1 and 7.1), plus the frame side
 * data name HDR10+ has where a version reports it per frame.
 */

import type { FramesRead } from './bitstream-hdr';
import {
  clockDuration,
  codecTagOf,
  defined,
  disposition,
  languageOf,
  numberOf,
  positive,
  type Rational,
  rationalOf,
  rationalValue,
  type Section,
  sideData,
  tag,
  text,
} from './ffprobe-values';
import type { Chromaticity, Color, DolbyVision, Hdr, HdrFormat, MasteringDisplay, VideoStream } from './media-schema';

/** `side_data_type` strings, as ffprobe prints them. */
export const SIDE_DATA = {
  displayMatrix: ['Display Matrix'],
  mastering: ['Mastering display metadata'],
  contentLight: ['Content light level metadata'],
  dolbyVision: ['DOVI configuration record'],
  /** Stream side data since FFmpeg 6.0 (AV_PKT_DATA_DYNAMIC_HDR10_PLUS), and the frame side data name of 5.1 and 7.1. */
  hdr10Plus: ['HDR10+ Dynamic Metadata (SMPTE 2094-40)', 'HDR Dynamic Metadata SMPTE2094-40 (HDR10+)'],
  /** Frame side data of a decoded Dolby Vision RPU: the raw unit, and the metadata parsed from it. */
  dolbyVisionRpu: ['Dolby Vision RPU Data', 'Dolby Vision Metadata'],
} as const;

/**
 * Beyond this relative difference `r_frame_rate` and `avg_frame_rate` are not the same rate:
 * containers round durations, so a constant 24000/1001 stream can average 23.9759 (0.0004 % off),
 * while a stream that really varies its rate is off by whole percents.
 */
export const VFR_TOLERANCE = 0.005;

/** "30000/1001" → 29.97; "0/0" (ffprobe's "unknown") → undefined. */
export function parseFrameRate(value: unknown): number | undefined {
  const rate = rationalOf(value);
  return rate && rate.num > 0 ? Math.round((rate.num / rate.den) * 1000) / 1000 : undefined;
}

const rateOf = (rate: Rational): number => rate.num / rate.den;

const known = (rate: Rational | undefined): rate is Rational => rate !== undefined && rate.num > 0 && rate.den > 0;

/** How two rates compare: the same, 2:1 either way (a field rate beside a frame rate), or apart. */
function rateRelation(base: Rational, average: Rational): 'same' | 'field rate' | 'apart' {
  const ratio = rateOf(base) / rateOf(average);
  const near = (target: number) => Math.abs(ratio - target) / target <= VFR_TOLERANCE;
  if (near(1)) return 'same';
  return near(2) || near(0.5) ? 'field rate' : 'apart';
}

/** One frame per tick of the stream's time base: what libavformat averages from a duration it could not measure, not a rate. */
function isOneFramePerTick(average: Rational, timeBase: Rational | undefined): boolean {
  return known(timeBase) && average.num * timeBase.num === average.den * timeBase.den;
}

interface FrameRate {
  fraction?: string;
  vfrSuspected?: boolean;
}

/**
 * The frame rate from ffprobe's two: avg_frame_rate (frames over duration), except where it is an
 * artefact beside a known r_frame_rate. At 2:1 either way one of them counts fields (interlaced
 * H.264 doubles r_frame_rate; GXF's time base is in fields, doubling avg_frame_rate), so the frame
 * rate is the lower. Otherwise, at one frame per tick of the time base it measured nothing
 * (ffprobe 7.1 on a short DV file: "60000/1" in 1/60000, beside "25/1"); any other difference
 * suggests a variable rate.
 */
function frameRateOf(stream: Section): FrameRate {
  const average = rationalOf(stream.avg_frame_rate);
  const base = rationalOf(stream.r_frame_rate);
  const averageText = text(stream.avg_frame_rate);
  const baseText = text(stream.r_frame_rate);
  if (!known(average)) return { fraction: known(base) ? baseText : undefined };
  if (!known(base)) return { fraction: averageText };
  switch (rateRelation(base, average)) {
    case 'same':
      return { fraction: averageText, vfrSuspected: false };
    case 'field rate':
      return { fraction: rateOf(base) < rateOf(average) ? baseText : averageText, vfrSuspected: false };
    default:
      // An average that measured nothing says nothing of whether the rate varies either.
      if (isOneFramePerTick(average, rationalOf(stream.time_base))) return { fraction: baseText };
      return { fraction: averageText, vfrSuspected: true };
  }
}

/** tt: top coded and shown first; bt: bottom coded, top shown first; bb and tb the other way round. */
const FIELD_ORDERS: Record<string, 'tff' | 'bff'> = { tt: 'tff', bt: 'tff', bb: 'bff', tb: 'bff' };

function scanOf(fieldOrder: unknown): Pick<VideoStream, 'scan_type' | 'field_order'> {
  if (fieldOrder === 'progressive') return { scan_type: 'progressive' };
  const order = typeof fieldOrder === 'string' ? FIELD_ORDERS[fieldOrder] : undefined;
  return order ? { scan_type: 'interlaced', field_order: order } : {};
}

/** Pixel formats with 8-bit components whose names give no depth. */
const EIGHT_BIT_FORMATS =
  /^(?:yuvj?a?\d{3}p|gbra?p|gray|nv(?:12|16|21|24|42)|yuyv422|uyvy422|rgb24|bgr24|rgba|bgra|argb|abgr|0rgb|rgb0|0bgr|bgr0)$/;
/** Pixel formats that end in their component depth and byte order: yuv420p10le, gbrp12le, gray16be, p010le, y210le. */
const DEPTH_SUFFIXED_FORMATS = /^(?:yuva?\d{3}p|gbra?p|gray|ya|p[024]|y2)(\d{1,2})(?:le|be)$/;
/** Packed RGB whose names count the bits of the whole pixel: three or four 16-bit components. */
const SIXTEEN_BIT_RGB_FORMATS = /^(?:rgb48|bgr48|rgba64|bgra64)(?:le|be)$/;

/** Component depth a pixel format's name states: yuv420p10le → 10, nv12 → 8, rgb48le → 16; undefined for names it does not know. */
export function pixelFormatDepth(pixFmt: string): number | undefined {
  const suffixed = DEPTH_SUFFIXED_FORMATS.exec(pixFmt);
  if (suffixed) return Number(suffixed[1]);
  if (SIXTEEN_BIT_RGB_FORMATS.test(pixFmt)) return 16;
  return EIGHT_BIT_FORMATS.test(pixFmt) ? 8 : undefined;
}

/** Chroma subsampling a pixel format's name states, J:a:b; undefined for grey (no chroma) and names it does not know. */
export function chromaSubsampling(pixFmt: string): string | undefined {
  const yuv = /^yuvj?a?(4[0-4][0-4])p/.exec(pixFmt);
  if (yuv) return `${yuv[1][0]}:${yuv[1][1]}:${yuv[1][2]}`;
  if (/^(?:nv12|nv21|p0(?:10|12|16))/.test(pixFmt)) return '4:2:0';
  if (/^(?:nv16|yuyv422|uyvy422|y210|p2(?:10|16))/.test(pixFmt)) return '4:2:2';
  if (/^(?:nv24|nv42|gbra?p|rgb|bgr|argb|abgr|0rgb|0bgr|x2rgb|x2bgr|p4(?:10|16))/.test(pixFmt)) return '4:4:4';
  return undefined;
}

function colorOf(stream: Section): Color | undefined {
  const color = defined({
    range: text(stream.color_range),
    primaries: text(stream.color_primaries),
    transfer: text(stream.color_transfer),
    matrix: text(stream.color_space),
  });
  return Object.keys(color).length > 0 ? color : undefined;
}

/** ffprobe's counter-clockwise Display Matrix rotation as the clockwise turn a player applies, 0–359. */
function rotationOf(stream: Section): number | undefined {
  const matrix = sideData(stream, SIDE_DATA.displayMatrix);
  const counterClockwise = matrix ? numberOf(matrix.rotation) : undefined;
  if (counterClockwise === undefined) return undefined;
  return ((-Math.round(counterClockwise) % 360) + 360) % 360;
}

function chromaticity(entry: Section, prefix: string): Chromaticity | undefined {
  const x = rationalValue(entry[`${prefix}_x`]);
  const y = rationalValue(entry[`${prefix}_y`]);
  return x !== undefined && y !== undefined ? { x, y } : undefined;
}

function masteringDisplayOf(entry: Section | undefined): MasteringDisplay | undefined {
  if (!entry) return undefined;
  return defined({
    red: chromaticity(entry, 'red'),
    green: chromaticity(entry, 'green'),
    blue: chromaticity(entry, 'blue'),
    white_point: chromaticity(entry, 'white_point'),
    min_luminance: rationalValue(entry.min_luminance),
    max_luminance: rationalValue(entry.max_luminance),
  });
}

function dolbyVisionOf(stream: Section): DolbyVision | undefined {
  const entry = sideData(stream, SIDE_DATA.dolbyVision);
  if (!entry) return undefined;
  const flag = (value: unknown) => (numberOf(value) === undefined ? undefined : numberOf(value) === 1);
  return defined({
    profile: numberOf(entry.dv_profile),
    level: numberOf(entry.dv_level),
    bl_compatibility_id: numberOf(entry.dv_bl_signal_compatibility_id),
    rpu: flag(entry.rpu_present_flag),
    el: flag(entry.el_present_flag),
    bl: flag(entry.bl_present_flag),
  });
}

/**
 * HDR from the stream's side data, and from its first frames' when they were read: their SEIs may
 * hold what the container does not (HDR10+, a Dolby Vision RPU, and the static metadata of an MP4
 * without `mdcv`/`clli` boxes). The container's values come first.
 */
function hdrOf(stream: Section, frames?: FramesRead): Hdr | undefined {
  const transfer = stream.color_transfer;
  const inFrames = { side_data_list: frames?.sideData ?? [] };
  const masteringDisplay = masteringDisplayOf(sideData(stream, SIDE_DATA.mastering) ?? sideData(inFrames, SIDE_DATA.mastering));
  const light = sideData(stream, SIDE_DATA.contentLight) ?? sideData(inFrames, SIDE_DATA.contentLight);
  const contentLightLevel = light ? defined({ max_cll: numberOf(light.max_content), max_fall: numberOf(light.max_average) }) : undefined;
  const dolbyVision = dolbyVisionOf(stream);
  const formats: HdrFormat[] = [];
  if (transfer === 'smpte2084') formats.push('PQ');
  if (transfer === 'smpte2084' && masteringDisplay && contentLightLevel) formats.push('HDR10');
  if (sideData(stream, SIDE_DATA.hdr10Plus) || frames?.verdict.hdr10_plus) formats.push('HDR10+');
  if (transfer === 'arib-std-b67') formats.push('HLG');
  if (dolbyVision || frames?.verdict.dolby_vision_rpu) formats.push('Dolby Vision');
  if (formats.length === 0 && !masteringDisplay && !contentLightLevel && !frames) return undefined;
  return defined({
    formats,
    mastering_display: masteringDisplay,
    content_light_level: contentLightLevel,
    dolby_vision: dolbyVision,
    frames: frames?.verdict,
  });
}

/** Width scaled by the sample aspect ratio, then turned: what a player shows. Needs a known SAR. */
function displaySize(
  width?: number,
  height?: number,
  sar?: Rational,
  rotation?: number,
): Pick<VideoStream, 'display_width' | 'display_height'> {
  if (width === undefined || height === undefined || !sar) return {};
  const scaled = Math.round((width * sar.num) / sar.den);
  return rotation === 90 || rotation === 270
    ? { display_width: height, display_height: scaled }
    : { display_width: scaled, display_height: height };
}

/**
 * The `media.video` entry for one video stream that is not cover art; `position` is its place in
 * ffprobe's list, which is its index; `frames`, what its first frames showed, when they were read.
 */
export function summariseVideo(stream: Section, position: number, frames?: FramesRead): VideoStream {
  const width = positive(stream.width);
  const height = positive(stream.height);
  const sar = rationalOf(stream.sample_aspect_ratio);
  const rotation = rotationOf(stream);
  const base = rationalOf(stream.r_frame_rate);
  const frameRate = frameRateOf(stream);
  const pixFmt = text(stream.pix_fmt);
  const level = numberOf(stream.level);
  return defined({
    index: numberOf(stream.index) ?? position,
    codec: text(stream.codec_name),
    profile: text(stream.profile),
    level: level !== undefined && level > 0 ? level : undefined,
    codec_tag: codecTagOf(stream),
    width,
    height,
    ...displaySize(width, height, sar, rotation),
    sample_aspect_ratio: sar ? text(stream.sample_aspect_ratio) : undefined,
    display_aspect_ratio: rationalOf(stream.display_aspect_ratio) ? text(stream.display_aspect_ratio) : undefined,
    frame_rate: parseFrameRate(frameRate.fraction),
    frame_rate_fraction: frameRate.fraction,
    base_frame_rate_fraction: known(base) ? text(stream.r_frame_rate) : undefined,
    vfr_suspected: frameRate.vfrSuspected,
    ...scanOf(stream.field_order),
    pix_fmt: pixFmt,
    bit_depth: positive(stream.bits_per_raw_sample) ?? (pixFmt ? pixelFormatDepth(pixFmt) : undefined),
    chroma_subsampling: pixFmt ? chromaSubsampling(pixFmt) : undefined,
    color: colorOf(stream),
    rotation,
    hdr: hdrOf(stream, frames),
    bit_rate: positive(stream.bit_rate) ?? positive(tag(stream, 'BPS')),
    frame_count: positive(stream.nb_frames) ?? positive(tag(stream, 'NUMBER_OF_FRAMES')),
    start_time_s: numberOf(stream.start_time),
    duration_s: positive(stream.duration) ?? clockDuration(tag(stream, 'DURATION')),
    language: languageOf(stream),
    title: text(tag(stream, 'title')),
    default: disposition(stream, 'default'),
    forced: disposition(stream, 'forced'),
  });
}
