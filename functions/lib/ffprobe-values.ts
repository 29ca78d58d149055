/**
 * Reads values out of ffprobe's JSON the way ffprobe writes them: numbers as strings, "N/A", "0/0",
 * "unknown" or an empty string for what it does not know, rationals as "num/den" or "num:den", tags
 * named by the container (lower case from MP4, upper case from Matroska, some with a language
 * suffix), dispositions as 0/1. Every reader answers undefined for a value ffprobe did not know, so
 * the summary leaves it out instead of inventing it.
 */
import { truncate } from './truncate';

/** A section of ffprobe's document: a stream, the format, a chapter, a program, a side data entry. */
export type Section = Record<string, unknown>;

/** No string the summary copies is longer: a tag is the file's to choose, and a row or a state has room for only so much. */
export const MAX_TEXT_LENGTH = 256;

/** A finite number from ffprobe's numbers-as-strings, or undefined ("N/A", missing, garbage). */
export function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : undefined;
}

/** A number above zero: ffprobe prints 0 for a width, a rate or a count it does not know. */
export function positive(value: unknown): number | undefined {
  const n = numberOf(value);
  return n !== undefined && n > 0 ? n : undefined;
}

/** Text ffprobe reported, cut to `maxLength`: not an empty string, "unknown" or "N/A", its words for "don't know". */
export function text(value: unknown, maxLength = MAX_TEXT_LENGTH): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' || trimmed === 'unknown' || trimmed === 'N/A' ? undefined : truncate(trimmed, maxLength);
}

export interface Rational {
  num: number;
  den: number;
}

/** "30000/1001", "64:45" → its parts; "0/0", "0:1", "N/A" (ffprobe's "unknown"), or digits beyond a double's range → undefined. */
export function rationalOf(value: unknown): Rational | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^\s*(-?\d+(?:\.\d+)?)\s*[/:]\s*(\d+(?:\.\d+)?)\s*$/.exec(value);
  if (!match) return undefined;
  const num = Number(match[1]);
  const den = Number(match[2]);
  return num !== 0 && den !== 0 && Number.isFinite(num) && Number.isFinite(den) ? { num, den } : undefined;
}

/** A rational's value rounded to `decimals` places, so 0.68 is stored as 0.68 and not 0.6800000000000001. */
export function rationalValue(value: unknown, decimals = 6): number | undefined {
  const rational = rationalOf(value);
  if (!rational) return undefined;
  const scale = 10 ** decimals;
  return Math.round((rational.num / rational.den) * scale) / scale;
}

function tagsOf(section: Section): Record<string, unknown> {
  const tags = section.tags;
  return tags && typeof tags === 'object' ? (tags as Record<string, unknown>) : {};
}

/**
 * A tag's value: the tag of that name, else one that differs only in case (MP4 writes `encoder`,
 * Matroska `ENCODER`), else one with a language suffix (mkvmerge writes `BPS-eng` when a track has
 * a language).
 */
export function tag(section: Section, name: string): unknown {
  const tags = tagsOf(section);
  if (name in tags) return tags[name];
  const lower = name.toLowerCase();
  const keys = Object.keys(tags);
  const sameName = keys.find((key) => key.toLowerCase() === lower);
  if (sameName !== undefined) return tags[sameName];
  const suffixed = keys.find((key) => key.toLowerCase().startsWith(`${lower}-`));
  return suffixed === undefined ? undefined : tags[suffixed];
}

/** A disposition flag as a boolean; undefined when ffprobe printed no disposition. */
export function disposition(section: Section, flag: string): boolean | undefined {
  const flags = section.disposition;
  if (!flags || typeof flags !== 'object') return undefined;
  const value = (flags as Record<string, unknown>)[flag];
  return value === undefined ? undefined : value === 1 || value === '1';
}

/** The first entry of a stream's side data list whose `side_data_type` is one of `names` (compared without case). */
export function sideData(stream: Section, names: readonly string[]): Section | undefined {
  const list = stream.side_data_list;
  if (!Array.isArray(list)) return undefined;
  const wanted = names.map((name) => name.toLowerCase());
  return list.find(
    (entry): entry is Section =>
      !!entry && typeof entry === 'object' && wanted.includes(String((entry as Section).side_data_type).toLowerCase()),
  );
}

/** Matroska's `DURATION` tag, "01:37:12.077000000" → 5832.077 seconds. */
export function clockDuration(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^\s*(\d+):([0-5]?\d):([0-5]?\d(?:\.\d+)?)\s*$/.exec(value);
  if (!match) return undefined;
  const seconds = Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]);
  return Math.round(seconds * 1e6) / 1e6;
}

/** The `language` tag; "und" is ISO 639's "undetermined": ffprobe's way of saying it doesn't know. */
export function languageOf(stream: Section): string | undefined {
  const language = text(tag(stream, 'language'));
  return language && language !== 'und' ? language : undefined;
}

/** `codec_tag_string` (avc1, tmcd, "[27][0][0][0]" for an MPEG-TS stream type), unless the tag is 0: no tag at all. */
export function codecTagOf(stream: Section): string | undefined {
  return numberOf(stream.codec_tag) === 0 ? undefined : text(stream.codec_tag_string);
}

/** Drops undefined fields so the DynamoDB map holds only what was reported. */
export function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
