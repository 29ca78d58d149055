/**
 * The QC findings: which rules each real file sets off (for every ffprobe version's document of
 * it), the thresholds at their edges, and the README's table against the rules themselves.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FfprobeOutput } from '../../functions/lib/ffprobe-command';
import { AV_DURATION_MISMATCH_THRESHOLD_S, AV_START_OFFSET_THRESHOLD_S, RULES } from '../../functions/lib/media-findings';
import { summariseMedia } from '../../functions/lib/media-summary';
import { VFR_TOLERANCE } from '../../functions/lib/media-video';
import { fixturesOf } from './helpers/ffprobe-fixtures';

/** The rules each file sets off, in the table's order; whichever ffprobe version read it. */
const EXPECTED_RULES: Array<[file: string, rules: string[]]> = [
  ['hdr10-hevc.mp4', ['no_audio']],
  ['pq-no-metadata.mkv', ['pq_without_mastering_metadata', 'no_audio']],
  ['dolby-vision-p5.mp4', ['dolby_vision_profile_5', 'no_audio']],
  ['dolby-vision-p8.mp4', ['no_audio']],
  ['interlaced-tff.ts', ['interlaced', 'undetermined_language']],
  ['interlaced-bff.mkv', ['interlaced', 'no_audio']],
  ['vfr.mp4', ['vfr_suspected', 'no_audio']],
  ['anamorphic.mp4', ['non_square_pixels', 'no_audio']],
  ['timecode.dv', ['non_square_pixels', 'undetermined_language']],
  ['rotated.mp4', ['rotated', 'no_audio']],
  ['av-offset.mp4', ['av_start_offset', 'av_duration_mismatch', 'undetermined_language']],
  ['multilang.mkv', ['several_default_tracks', 'undetermined_language']],
  ['surround.mkv', ['undetermined_language']],
  ['chapters.mkv', ['undetermined_language']],
  ['timecode.gxf', ['undetermined_language']],
];

const findingsOf = (doc: unknown, faststart?: boolean) => summariseMedia(doc as FfprobeOutput, { faststart }).findings;

describe.each(EXPECTED_RULES)('%s', (file, rules) => {
  for (const { version, output } of fixturesOf(file)) {
    it(`ffprobe ${version}: sets off exactly these rules`, () => {
      expect(findingsOf(output).map((f) => f.rule)).toEqual(rules);
    });
  }
});

describe('finding messages name the value they rest on', () => {
  const first = (file: string, rule: string) => findingsOf(fixturesOf(file)[0].output).find((f) => f.rule === rule);

  it.each([
    ['interlaced-tff.ts', 'interlaced', 'video stream 0 is interlaced, field_order tff (top field first)'],
    [
      'vfr.mp4',
      'vfr_suspected',
      'video stream 0 may have a variable frame rate: avg_frame_rate 450/29 (15.517 fps) against r_frame_rate 30/1',
    ],
    ['anamorphic.mp4', 'non_square_pixels', 'video stream 0 has non-square pixels: sample_aspect_ratio 64:45, shown as 1024x576'],
    ['rotated.mp4', 'rotated', 'video stream 0 is turned 90° clockwise on display (rotation 90)'],
    [
      'pq-no-metadata.mkv',
      'pq_without_mastering_metadata',
      'video stream 0 is PQ (color transfer smpte2084) without mastering display metadata or content light level',
    ],
    [
      'dolby-vision-p5.mp4',
      'dolby_vision_profile_5',
      'video stream 0 is Dolby Vision profile 5 (bl_compatibility_id 0): no SDR or HDR10 fallback',
    ],
    ['multilang.mkv', 'several_default_tracks', '2 audio streams are marked default: 1, 2'],
    ['multilang.mkv', 'undetermined_language', 'audio stream 3 has no language (tag missing or "und")'],
    ['hdr10-hevc.mp4', 'no_audio', 'no audio stream beside 1 video stream'],
  ])('%s: %s', (file, rule, message) => {
    expect(first(file, rule)).toEqual({ rule, severity: RULES.find((r) => r.rule === rule)?.severity, message });
  });

  it('av-offset.mp4: how far apart audio and video start and end', () => {
    expect(first('av-offset.mp4', 'av_start_offset')?.message).toMatch(
      /^audio stream 1 starts 0\.\d+ s after video stream 0 \(start_time 0\.\d+ s against 0 s\)$/,
    );
    expect(first('av-offset.mp4', 'av_duration_mismatch')?.message).toMatch(/^audio stream 1 lasts 1\.\d+ s, video stream 0 2 s$/);
  });

  it('not_faststart: from the ffprobe step’s own check', () => {
    expect(findingsOf({}, false)).toEqual([
      {
        rule: 'not_faststart',
        severity: 'warning',
        message: 'faststart false: the index (moov) follows the media data (mdat), so playback waits for the end of the file',
      },
    ]);
    expect(findingsOf({}, true)).toEqual([]);
    expect(findingsOf({})).toEqual([]);
  });
});

describe('thresholds', () => {
  const av = (audio: Record<string, unknown>) => ({
    streams: [
      { index: 0, codec_type: 'video', start_time: '1.000000', duration: '60.000000' },
      { index: 1, codec_type: 'audio', tags: { language: 'eng' }, ...audio },
    ],
  });
  const rules = (doc: unknown) => findingsOf(doc).map((f) => f.rule);

  it(`a start offset up to ${AV_START_OFFSET_THRESHOLD_S} s either way is not reported; beyond it is, early or late`, () => {
    expect(rules(av({ start_time: String(1 + AV_START_OFFSET_THRESHOLD_S) }))).toEqual([]);
    expect(rules(av({ start_time: String(1 - AV_START_OFFSET_THRESHOLD_S) }))).toEqual([]);
    expect(findingsOf(av({ start_time: '0.850000' }))).toEqual([
      expect.objectContaining({
        rule: 'av_start_offset',
        message: 'audio stream 1 starts 0.15 s before video stream 0 (start_time 0.85 s against 1 s)',
      }),
    ]);
  });

  it(`a duration difference up to ${AV_DURATION_MISMATCH_THRESHOLD_S} s is not reported; beyond it is, from Matroska's DURATION tags too`, () => {
    expect(rules(av({ duration: String(60 - AV_DURATION_MISMATCH_THRESHOLD_S) }))).toEqual([]);
    expect(rules(av({ tags: { language: 'eng', DURATION: '00:01:00.600000000' } }))).toEqual(['av_duration_mismatch']);
  });

  it('compares each audio stream with the first video stream, and nothing without a video stream', () => {
    const doc = {
      streams: [
        { index: 0, codec_type: 'video', start_time: '0', duration: '60' },
        { index: 1, codec_type: 'video', start_time: '5', duration: '10' },
        { index: 2, codec_type: 'audio', start_time: '0', duration: '60', tags: { language: 'eng' } },
      ],
    };
    expect(rules(doc)).toEqual([]);
    expect(rules({ streams: [{ index: 0, codec_type: 'audio', start_time: '5', duration: '1', tags: { language: 'eng' } }] })).toEqual([]);
  });

  it(`suspects a variable frame rate beyond ${VFR_TOLERANCE * 100} % between r_frame_rate and avg_frame_rate, not a field rate beside a frame rate`, () => {
    const video = (r: string, avg: string) =>
      findingsOf({ streams: [{ index: 0, codec_type: 'video', r_frame_rate: r, avg_frame_rate: avg }] });
    expect(video('24000/1001', '2997/125').map((f) => f.rule)).toEqual(['no_audio']);
    expect(video('25/1', '2475/100').map((f) => f.rule)).toEqual(['vfr_suspected', 'no_audio']);
    expect(video('50/1', '25/1').map((f) => f.rule)).toEqual(['no_audio']);
    expect(video('25/1', '50/1').map((f) => f.rule)).toEqual(['no_audio']);
  });

  it('counts default streams per kind: one default video, audio and subtitle stream each is right', () => {
    const stream = (index: number, codec_type: string) => ({ index, codec_type, disposition: { default: 1 }, tags: { language: 'eng' } });
    expect(rules({ streams: [stream(0, 'video'), stream(1, 'audio'), stream(2, 'subtitle')] })).toEqual([]);
    expect(findingsOf({ streams: [stream(0, 'video'), stream(1, 'subtitle'), stream(2, 'subtitle')] })).toEqual([
      expect.objectContaining({ rule: 'no_audio' }),
      expect.objectContaining({ rule: 'several_default_tracks', message: '2 subtitle streams are marked default: 1, 2' }),
    ]);
  });
});

describe("the README's table of rules", () => {
  const readme = readFileSync(path.join(__dirname, '../../README.md'), 'utf8');
  const rows = [...readme.matchAll(/^\| `([a-z0-9_]+)` \| (warning|info) \| (.+) \|$/gm)].map(([, rule, severity, checks]) => ({
    rule,
    severity,
    checks,
  }));

  it('documents every rule, with its severity and what it checks, in the order of the table in code', () => {
    expect(rows).toEqual(RULES.map(({ rule, severity, checks }) => ({ rule, severity, checks })));
  });
});
