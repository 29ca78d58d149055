/**
 * The generated corpus (tests/support/corpus.ts) through the whole local pipeline: each file is
 * uploaded, its row inserted and analysed by the real handlers with the layer's ffprobe 7.1, and the
 * `media` v2 summary on the row is checked field by field against values written out here, then
 * against MediaInfo (`mediainfo --Output=JSON`, Debian's 23.04) wherever both tools report a field.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { insertRows, type LocalFile, uploadFiles, waitForOutcomes } from '../../cli/local-run';
import type { PlainRow } from '../../cli/rows';
import type { FfprobeOutput } from '../../functions/lib/ffprobe-command';
import type { AudioStream, MediaSummary, SubtitleStream, VideoStream } from '../../functions/lib/media-schema';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { BT2020_PQ, CORPUS, generateCorpus, HDR_CANDIDATES, MASTERING_DISPLAY } from '../support/corpus';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');

jest.setTimeout(120_000);

/** Ids of this file's rows: pipeline.test.ts counts up from 100_000, local-command.test.ts uses 100 and 101, the events/ samples 1337 and 4242. */
const FIRST_ID = 700_000;

let stack: LocalStack;
let dir: string;
/** Each corpus file's `media`, as the pipeline wrote it on the file's row. */
const media = new Map<string, MediaSummary>();
/** Each corpus file's analysis status. */
const statuses = new Map<string, unknown>();
/** Each corpus file's ffprobe JSON as its row keeps it (all are small enough to stay inline). */
const stored = new Map<string, FfprobeOutput>();
/** Each corpus file's MediaInfo tracks. */
const mediainfo = new Map<string, MediaInfoTrack[]>();

type MediaInfoTrack = Record<string, string | Record<string, string> | undefined> & { '@type': string };

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'media-probe-corpus-'));
  const [paths, started] = await Promise.all([generateCorpus(dir), startLocalStack({ repositoryRoot: ROOT })]);
  stack = started;
  const files: LocalFile[] = paths.map((p) => ({ key: `corpus/${path.basename(p)}`, absolutePath: p, size: statSync(p).size }));
  await uploadFiles(stack, stack.mediaBucket, files);
  const rows: PlainRow[] = files.map((file, i) => ({
    movie_id: FIRST_ID + i,
    movie_title: path.posix.basename(file.key),
    S3_bucket: stack.mediaBucket,
    S3_object: file.key,
  }));
  await insertRows(stack, rows);
  const [result] = await Promise.all([
    waitForOutcomes(stack, rows, 90_000),
    ...paths.map(async (p) => {
      const { stdout } = await run('mediainfo', ['--Output=JSON', p], { maxBuffer: 16 << 20 });
      mediainfo.set(path.basename(p), (JSON.parse(stdout) as { media: { track: MediaInfoTrack[] } }).media.track);
    }),
  ]);
  for (const item of result.items) {
    const file = String(item.movie_title);
    statuses.set(file, (item.analysis as { status?: unknown } | undefined)?.status);
    if (item.media) media.set(file, item.media as unknown as MediaSummary);
    if (typeof item.ffprobe_output === 'string') stored.set(file, JSON.parse(item.ffprobe_output) as FfprobeOutput);
  }
});

afterAll(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const mediaOf = (file: string): MediaSummary => {
  const found = media.get(file);
  if (!found) throw new Error(`no media on ${file}'s row (analysis ${String(statuses.get(file))})`);
  return found;
};
const rulesOf = (file: string) => mediaOf(file).findings.map((f) => f.rule);

it('reads the first frames of the HDR candidates only, and keeps that run in the JSON the row stores', () => {
  const probed = CORPUS.map((c) => c.file).filter((file) => stored.get(file)?.frames_probe !== undefined);
  expect(probed.sort()).toEqual([...HDR_CANDIDATES].sort());
  const run = stored.get('hdr10plus-hevc.mp4')?.frames_probe;
  expect(run).toMatchObject({ stream_index: 0, packets: 8 });
  expect(run?.frames.length).toBe(mediaOf('hdr10plus-hevc.mp4').video[0].hdr?.frames?.frames_read);
  expect(run?.frames.length).toBeGreaterThan(0);
});

it('analyses every corpus file with version 2 of the summary', () => {
  expect(Object.fromEntries(statuses)).toEqual(Object.fromEntries(CORPUS.map((c) => [c.file, 'SUCCEEDED'])));
  for (const c of CORPUS) expect(mediaOf(c.file).schema_version).toBe(2);
});

const HDR10 = { formats: ['PQ', 'HDR10'], mastering_display: MASTERING_DISPLAY, content_light_level: { max_cll: 1000, max_fall: 400 } };

/** What each file's summary must hold (toMatchObject: lists are compared whole, entries field by field) and the rules it sets off, in the table's order. */
const EXPECTED: Array<[file: string, expected: Record<string, unknown>, rules: string[]]> = [
  [
    'hdr10-hevc.mp4',
    {
      format_name: 'mov,mp4,m4a,3gp,3g2,mj2',
      brand: 'isom',
      faststart: false,
      video: [
        {
          codec: 'hevc',
          profile: 'Main 10',
          width: 128,
          height: 72,
          bit_depth: 10,
          chroma_subsampling: '4:2:0',
          color: BT2020_PQ,
          // A PQ stream gets its first frames read: x265's SEIs hold the static metadata, but neither HDR10+ nor an RPU.
          hdr: { ...HDR10, frames: { hdr10_plus: false, dolby_vision_rpu: false, mastering_display: true, content_light_level: true } },
        },
      ],
    },
    ['not_faststart', 'no_audio'],
  ],
  [
    'hdr10plus-hevc.mp4',
    {
      // The container says PQ only: HDR10+, the mastering display and the light level are in the frames' SEIs.
      video: [
        {
          codec: 'hevc',
          color: BT2020_PQ,
          hdr: {
            ...HDR10,
            formats: ['PQ', 'HDR10', 'HDR10+'],
            frames: { hdr10_plus: true, dolby_vision_rpu: false, mastering_display: true, content_light_level: true },
          },
        },
      ],
    },
    ['not_faststart', 'no_audio'],
  ],
  [
    'dolby-vision-rpu.mp4',
    {
      // No configuration record: the RPU in the frames says Dolby Vision, not its profile.
      video: [
        {
          codec: 'hevc',
          color: BT2020_PQ,
          hdr: {
            ...HDR10,
            formats: ['PQ', 'HDR10', 'Dolby Vision'],
            frames: { hdr10_plus: false, dolby_vision_rpu: true, mastering_display: true, content_light_level: true },
          },
        },
      ],
    },
    ['not_faststart', 'no_audio'],
  ],
  ['hdr10-hevc.mkv', { format_name: 'matroska,webm', video: [{ codec: 'hevc', color: BT2020_PQ, hdr: HDR10 }] }, ['no_audio']],
  [
    'pq-no-metadata.mkv',
    { video: [{ codec: 'hevc', bit_depth: 10, color: BT2020_PQ, hdr: { formats: ['PQ'] } }] },
    ['pq_without_mastering_metadata', 'no_audio'],
  ],
  [
    'hlg-hevc.mkv',
    {
      video: [
        {
          frame_rate: 50,
          bit_depth: 10,
          color: { range: 'tv', primaries: 'bt2020', transfer: 'arib-std-b67', matrix: 'bt2020nc' },
          hdr: { formats: ['HLG'] },
        },
      ],
    },
    ['no_audio'],
  ],
  [
    'dolby-vision-p8.mp4',
    {
      faststart: false,
      video: [
        {
          codec: 'hevc',
          color: BT2020_PQ,
          hdr: {
            ...HDR10,
            formats: ['PQ', 'HDR10', 'Dolby Vision'],
            dolby_vision: { profile: 8, level: 6, bl_compatibility_id: 1, rpu: true, el: false, bl: true },
          },
        },
      ],
    },
    ['not_faststart', 'no_audio'],
  ],
  [
    'dolby-vision-p5.mp4',
    {
      video: [
        {
          codec: 'hevc',
          codec_tag: 'dvh1',
          hdr: {
            formats: ['Dolby Vision'],
            dolby_vision: { profile: 5, level: 6, bl_compatibility_id: 0, rpu: true, el: false, bl: true },
          },
        },
      ],
    },
    ['not_faststart', 'dolby_vision_profile_5', 'no_audio'],
  ],
  [
    'av1-10bit.mp4',
    {
      video: [
        {
          codec: 'av1',
          profile: 'Main',
          codec_tag: 'av01',
          bit_depth: 10,
          chroma_subsampling: '4:2:0',
          color: { range: 'tv', primaries: 'bt709', transfer: 'bt709', matrix: 'bt709' },
        },
      ],
    },
    ['not_faststart', 'no_audio'],
  ],
  [
    'prores-422-10bit.mov',
    {
      brand: 'qt',
      faststart: false,
      video: [
        { codec: 'prores', profile: 'Standard', codec_tag: 'apcn', pix_fmt: 'yuv422p10le', bit_depth: 10, chroma_subsampling: '4:2:2' },
      ],
    },
    ['not_faststart', 'no_audio'],
  ],
  [
    'interlaced-tff.ts',
    {
      format_name: 'mpegts',
      video: [{ codec: 'mpeg2video', scan_type: 'interlaced', field_order: 'tff', width: 720, height: 576 }],
      audio: [{ codec: 'mp2', channels: 1, sample_rate: 48000 }],
      programs: [{ program_num: 1, service_name: 'Channel One', service_provider: 'media-probe', stream_count: 2 }],
    },
    ['interlaced', 'undetermined_language'],
  ],
  ['interlaced-bff.mkv', { video: [{ codec: 'mpeg2video', scan_type: 'interlaced', field_order: 'bff' }] }, ['interlaced', 'no_audio']],
  [
    'rotated.mp4',
    {
      faststart: true,
      video: [{ width: 160, height: 90, rotation: 90, display_width: 90, display_height: 160, scan_type: 'progressive' }],
      audio: [],
    },
    ['rotated', 'no_audio'],
  ],
  [
    'anamorphic.mp4',
    {
      faststart: false,
      video: [
        { width: 720, height: 576, sample_aspect_ratio: '64:45', display_aspect_ratio: '16:9', display_width: 1024, display_height: 576 },
      ],
    },
    ['not_faststart', 'non_square_pixels', 'no_audio'],
  ],
  [
    'timecode-df.mov',
    {
      start_timecode: { value: '01:00:00;00', drop_frame: true, source: 'streams[1].tags.timecode' },
      video: [{ frame_rate: 29.97, frame_rate_fraction: '30000/1001' }],
      data: [{ index: 1, codec_tag: 'tmcd' }],
    },
    ['not_faststart', 'no_audio'],
  ],
  [
    'timecode.mxf',
    {
      format_name: 'mxf',
      start_timecode: { value: '10:00:00:00', drop_frame: false, source: 'format.tags.timecode' },
      video: [{ codec: 'mpeg2video', chroma_subsampling: '4:2:2' }],
      audio: [{ codec: 'pcm_s24le', bit_depth: 24, sample_rate: 48000 }],
    },
    ['undetermined_language'],
  ],
  [
    'timecode.dv',
    {
      start_timecode: { value: '09:59:50:00', drop_frame: false, source: 'format.tags.timecode' },
      video: [{ codec: 'dvvideo', sample_aspect_ratio: '64:45', display_width: 1024, display_height: 576 }],
      audio: [{ codec: 'pcm_s16le', channels: 2, channel_layout: 'stereo', bit_depth: 16 }],
    },
    ['non_square_pixels', 'undetermined_language'],
  ],
  [
    'timecode.gxf',
    { format_name: 'gxf', start_timecode: { value: '10:00:00:00', drop_frame: false, source: 'format.tags.timecode' } },
    ['undetermined_language'],
  ],
  [
    'surround.mkv',
    {
      video: [{ frame_rate: 23.976, frame_rate_fraction: '24000/1001', bit_rate: 300000, frame_count: 12 }],
      audio: [
        { codec: 'ac3', channels: 6, channel_layout: '5.1(side)', sample_rate: 48000, bit_rate: 448000, language: 'eng', default: true },
        { codec: 'flac', channels: 8, channel_layout: '7.1', bit_depth: 16, bit_rate: 1411200, default: false },
      ],
    },
    ['undetermined_language'],
  ],
  [
    'pcm-24bit.wav',
    { format_name: 'wav', audio: [{ codec: 'pcm_s24le', bit_depth: 24, sample_rate: 96000, channels: 1 }] },
    ['undetermined_language'],
  ],
  [
    'chapters.mkv',
    {
      chapters: [
        { start_s: 0, end_s: 1, title: 'Opening' },
        { start_s: 1, end_s: 2, title: 'Interview' },
        { start_s: 2, end_s: 3 },
      ],
    },
    ['undetermined_language'],
  ],
  [
    'multilang.mkv',
    {
      audio: [
        { index: 1, language: 'eng', title: 'English 2.0', default: true, visual_impaired: false, commentary: false },
        { index: 2, language: 'fra', title: 'Audio description', default: true, visual_impaired: true },
        { index: 3, title: "Director's commentary", default: false, commentary: true },
      ],
      subtitles: [
        { index: 4, codec: 'subrip', language: 'eng', default: true, forced: false, hearing_impaired: false },
        { index: 5, language: 'eng', title: 'Forced', default: false, forced: true },
        { index: 6, language: 'ger', title: 'SDH', default: false, forced: false, hearing_impaired: true },
      ],
    },
    ['several_default_tracks', 'undetermined_language'],
  ],
  [
    'cover-art.mp3',
    {
      format_name: 'mp3',
      video: [],
      audio: [{ codec: 'mp3' }],
      cover_art: [{ index: 1, codec: 'png', width: 32, height: 32, title: 'Album cover' }],
    },
    ['undetermined_language'],
  ],
  [
    'attachments.mkv',
    {
      video: [{ index: 0 }],
      cover_art: [{ index: 1, codec: 'png', title: 'cover.png' }],
      attachments: [{ index: 2, file_name: 'Subtitles.ttf', mime_type: 'application/x-truetype-font' }],
    },
    ['no_audio'],
  ],
  ['vfr.mp4', { video: [{ vfr_suspected: true, frame_rate_fraction: '450/29' }] }, ['not_faststart', 'vfr_suspected', 'no_audio']],
  [
    'av-offset.mp4',
    { audio: [{ start_time_s: 0.478, duration_s: 1.021333 }], video: [{ start_time_s: 0, duration_s: 2 }] },
    ['not_faststart', 'av_start_offset', 'av_duration_mismatch', 'undetermined_language'],
  ],
  // ffprobe 7.1 prints closed_captions only with -analyze_frames, which the pipeline does not ask for: A/53 SEIs go unseen.
  ['captions-a53.mp4', { video: [{ codec: 'h264' }], subtitles: [] }, ['not_faststart', 'no_audio']],
  [
    'captions-c608.mov',
    { closed_captions: true, subtitles: [{ codec: 'eia_608' }] },
    ['not_faststart', 'no_audio', 'undetermined_language'],
  ],
];

describe('media v2 of each corpus file', () => {
  it('has an expectation for every file', () => {
    expect(EXPECTED.map(([file]) => file).sort()).toEqual(CORPUS.map((c) => c.file).sort());
  });

  it.each(EXPECTED)('%s', (file, expected, rules) => {
    expect(mediaOf(file)).toMatchObject(expected);
    expect(rulesOf(file)).toEqual(rules);
  });

  // ffprobe 7.1's DV demuxer reports avg_frame_rate "60000/1" (the inverse of its 1/60000 time
  // base; r_frame_rate is "25/1"): one frame per tick is no measurement. MediaInfo says 25.
  it('timecode.dv: 25 frames/s, and no guess at whether the rate varies', () => {
    expect(mediaOf('timecode.dv').video[0]).toMatchObject({ frame_rate: 25 });
    expect(mediaOf('timecode.dv').video[0]).not.toHaveProperty('vfr_suspected');
  });

  // GXF counts time in fields, so ffprobe reports avg_frame_rate "50/1" (time base 1/50) for this
  // progressive 25 frames/s stream; r_frame_rate is "25/1". At 2:1 the frame rate is the lower one.
  // MediaInfo says 25.
  it('timecode.gxf: 25 frames/s', () => {
    expect(mediaOf('timecode.gxf').video[0]).toMatchObject({ frame_rate: 25 });
  });
});

/*
 * Agreement with MediaInfo. Each field both tools report for a file is compared after mapping
 * MediaInfo's names onto ffprobe's (the tables below); a field only one of them reports is not a
 * disagreement. Every disagreement must be listed in EXPLAINED with the reason, and every entry
 * there must still be a disagreement, so the list is exactly what the two tools differ on.
 */

/** MediaInfo's colour names → ffprobe's (`colour_range`, `colour_primaries`, `transfer_characteristics`, `matrix_coefficients`). */
const COLOUR_NAMES: Record<string, Record<string, string>> = {
  range: { Limited: 'tv', Full: 'pc' },
  primaries: { 'BT.2020': 'bt2020', 'BT.709': 'bt709', 'BT.601 PAL': 'bt470bg', 'BT.601 NTSC': 'smpte170m' },
  transfer: { PQ: 'smpte2084', HLG: 'arib-std-b67', 'BT.709': 'bt709' },
  matrix: { 'BT.2020 non-constant': 'bt2020nc', 'BT.709': 'bt709', 'BT.601': 'smpte170m' },
};
/** ffprobe's channel layout names → MediaInfo's `ChannelLayout` (channel by channel; a mono PCM track is "C", a mono coded one "M"). */
const CHANNEL_LAYOUTS: Record<string, string[]> = {
  mono: ['M', 'C'],
  stereo: ['L R'],
  '5.1': ['L R C LFE Lb Rb'],
  '5.1(side)': ['L R C LFE Ls Rs'],
  '7.1': ['L R C LFE Lb Rb Ls Rs'],
};
/** ISO 639-2 codes as ffprobe prints the tag (bibliographic or terminologic) → the ISO 639-1 codes MediaInfo prints. */
const LANGUAGES: Record<string, string> = { eng: 'en', fra: 'fr', fre: 'fr', ger: 'de', deu: 'de' };
/** MediaInfo's `MasteringDisplay_ColorPrimaries` names → the CIE xy coordinates they stand for (ours are the coordinates). */
const NAMED_PRIMARIES: Record<string, { red: [number, number]; green: [number, number]; blue: [number, number]; white: [number, number] }> =
  {
    'Display P3': { red: [0.68, 0.32], green: [0.265, 0.69], blue: [0.15, 0.06], white: [0.3127, 0.329] },
    'BT.2020': { red: [0.708, 0.292], green: [0.17, 0.797], blue: [0.131, 0.046], white: [0.3127, 0.329] },
    'BT.709': { red: [0.64, 0.33], green: [0.3, 0.6], blue: [0.15, 0.06], white: [0.3127, 0.329] },
  };
/** Seconds two durations may differ by: MediaInfo prints milliseconds, and the tools stop at different packets. */
const DURATION_TOLERANCE_S = 0.011;

/** `file field` → why ffprobe's summary and MediaInfo differ there. */
const EXPLAINED: Record<string, string> = {
  'interlaced-tff.ts duration_s: ours 0.216, MediaInfo 0.16':
    "MPEG-TS stores no duration. ffprobe's is the span of the streams' timestamps (the MP2 audio runs 0.216 s from 1.43 s); " +
    "MediaInfo's General duration is not the streams' span (presumably it measures the transport stream's clock references; not checked in its source). Its own stream durations (video 0.200 s, audio 0.216 s) agree with ffprobe's.",
  'hdr10plus-hevc.mp4 video[0].hdr.formats HDR10: ours true, MediaInfo false':
    'MediaInfo names the dynamic metadata (HDR_Format "SMPTE ST 2094 App 4") and then lists no HDR10 compatibility, though it reports the same mastering display, MaxCLL and MaxFALL from the SEIs; ours says HDR10 for PQ with both, wherever they are carried.',
  'dolby-vision-rpu.mp4 video[0].hdr.formats Dolby Vision: ours true, MediaInfo false':
    'MediaInfo 23.04 finds Dolby Vision from a configuration record only; this file has an RPU in every picture and no record, and our second run over the first frames finds it.',
  'av-offset.mp4 audio[0].duration_s: ours 1.021333, MediaInfo 1.5':
    "MediaInfo's track duration includes the edit list's empty edit that delays the audio by 0.478 s (its Source_Delay); ffprobe's is the audio samples' alone, with the delay as start_time.",
  'captions-c608.mov subtitles.length: ours 1, MediaInfo 0':
    "MediaInfo 23.04 lists no track for the QuickTime c608 caption track (not even with --ParseSpeed=1, checked by hand); ffprobe lists it as an eia_608 stream. Neither tool reports the A/53 captions in captions-a53.mp4's H.264 SEIs without decoding frames.",
};

interface Difference {
  field: string;
  ours: unknown;
  theirs: unknown;
}

interface Agreement {
  /** Every field both tools reported, without stream indexes ("video.frame_rate"). */
  compared: string[];
  differences: Difference[];
}

const text = (track: MediaInfoTrack | undefined, key: string): string | undefined => {
  const value = track?.[key];
  return typeof value === 'string' ? value : undefined;
};
const num = (value: string | undefined): number | undefined => (value === undefined || value === '' ? undefined : Number.parseFloat(value));
const yesNo = (value: string | undefined): boolean | undefined => (value === 'Yes' ? true : value === 'No' ? false : undefined);
const ratio = (value: string | undefined): number | undefined => {
  const [a, b] = (value ?? '').split(':').map(Number);
  return a && b ? Math.round((a / b) * 1000) / 1000 : undefined;
};
const sameLanguage = (ours: unknown, theirs: unknown) => LANGUAGES[String(ours)] === theirs;
const near = (tolerance: number) => (a: unknown, b: unknown) => Math.abs(Number(a) - Number(b)) <= tolerance;

function primariesName(md: NonNullable<NonNullable<VideoStream['hdr']>['mastering_display']>): string | undefined {
  const same = (xy: { x: number; y: number } | undefined, [x, y]: [number, number]) =>
    xy && Math.abs(xy.x - x) < 0.0005 && Math.abs(xy.y - y) < 0.0005;
  return Object.entries(NAMED_PRIMARIES).find(
    ([, p]) => same(md.red, p.red) && same(md.green, p.green) && same(md.blue, p.blue) && same(md.white_point, p.white),
  )?.[0];
}

/** The fields both tools report for `file`, and those on which they disagree. */
function agreement(file: string): Agreement {
  const ours = mediaOf(file);
  const tracks = mediainfo.get(file) ?? [];
  const of = (type: string) => tracks.filter((t) => t['@type'] === type);
  const general = of('General')[0];
  const found: Difference[] = [];
  const compared: string[] = [];
  const compare = (field: string, a: unknown, b: unknown, equal: (a: unknown, b: unknown) => boolean = (x, y) => x === y) => {
    if (a === undefined || b === undefined) return;
    compared.push(field.replace(/\[\d+\]/g, ''));
    if (!equal(a, b)) found.push({ field, ours: a, theirs: b });
  };
  const mapped = (table: Record<string, string>, value: string | undefined) =>
    value === undefined ? undefined : (table[value] ?? `(unmapped) ${value}`);

  compare('duration_s', ours.duration_s, num(text(general, 'Duration')), near(DURATION_TOLERANCE_S));
  compare('faststart', ours.faststart, yesNo(text(general, 'IsStreamable')));
  compare('cover_art', ours.cover_art.length > 0, text(general, 'Cover') === 'Yes');
  const menu = of('Menu')[0]?.extra as Record<string, string> | undefined;
  const menuStarts = Object.keys(menu ?? {})
    .map((key) => /^_(\d\d)_(\d\d)_(\d\d)_(\d\d\d)$/.exec(key))
    .filter((m) => m !== null)
    .map((m) => Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(m[4]) / 1000);
  compare('chapters.length', ours.chapters.length, menuStarts.length);
  ours.chapters.forEach((chapter, i) => {
    compare(`chapters[${i}].start_s`, chapter.start_s, menuStarts[i], near(0.001));
    // An untitled chapter has no title in ours; MediaInfo shows its start time there instead.
    compare(`chapters[${i}].title`, chapter.title, Object.values(menu ?? {})[i]);
  });
  const timecodeTrack = [...of('Other'), ...of('Video')].find((t) => text(t, 'TimeCode_FirstFrame') !== undefined);
  const firstFrame = text(timecodeTrack, 'TimeCode_FirstFrame');
  compare('start_timecode.value', ours.start_timecode?.value, firstFrame);
  compare(
    'start_timecode.drop_frame',
    ours.start_timecode?.drop_frame,
    yesNo(text(of('Video')[0], 'Delay_DropFrame')) ?? (firstFrame === undefined ? undefined : /[;.]\d+$/.test(firstFrame)),
  );

  compare('video.length', ours.video.length, of('Video').length);
  ours.video.forEach((v, i) => {
    const t = of('Video')[i];
    if (!t) return;
    const at = (name: string) => `video[${i}].${name}`;
    compare(at('width'), v.width, num(text(t, 'Width')));
    compare(at('height'), v.height, num(text(t, 'Height')));
    compare(at('frame_rate'), v.frame_rate, num(text(t, 'FrameRate')), near(0.0015));
    compare(at('bit_depth'), v.bit_depth, num(text(t, 'BitDepth')));
    compare(at('chroma_subsampling'), v.chroma_subsampling, text(t, 'ChromaSubsampling'));
    const scan = text(t, 'ScanType');
    compare(at('scan_type'), v.scan_type, scan === undefined ? undefined : scan === 'Progressive' ? 'progressive' : 'interlaced');
    compare(at('field_order'), v.field_order, text(t, 'ScanOrder')?.toLowerCase());
    compare(at('color.range'), v.color?.range, mapped(COLOUR_NAMES.range, text(t, 'colour_range')));
    compare(at('color.primaries'), v.color?.primaries, mapped(COLOUR_NAMES.primaries, text(t, 'colour_primaries')));
    compare(at('color.transfer'), v.color?.transfer, mapped(COLOUR_NAMES.transfer, text(t, 'transfer_characteristics')));
    compare(at('color.matrix'), v.color?.matrix, mapped(COLOUR_NAMES.matrix, text(t, 'matrix_coefficients')));
    // MediaInfo names the metadata (HDR_Format "SMPTE ST 2086", "Dolby Vision") and what it is compatible with ("HDR10").
    const hdrFormat = text(t, 'HDR_Format');
    if (v.hdr || hdrFormat) {
      compare(
        at('hdr.formats HDR10'),
        v.hdr?.formats.includes('HDR10') ?? false,
        (text(t, 'HDR_Format_Compatibility') ?? '').includes('HDR10'),
      );
      compare(at('hdr.formats Dolby Vision'), v.hdr?.formats.includes('Dolby Vision') ?? false, (hdrFormat ?? '').includes('Dolby Vision'));
    }
    const md = v.hdr?.mastering_display;
    const luminance = /min: ([\d.]+) cd\/m2, max: ([\d.]+) cd\/m2/.exec(text(t, 'MasteringDisplay_Luminance') ?? '');
    compare(at('hdr.mastering_display.min_luminance'), md?.min_luminance, num(luminance?.[1]), near(0.00005));
    compare(at('hdr.mastering_display.max_luminance'), md?.max_luminance, num(luminance?.[2]));
    compare(at('hdr.mastering_display primaries'), md && (primariesName(md) ?? '(unnamed)'), text(t, 'MasteringDisplay_ColorPrimaries'));
    compare(at('hdr.content_light_level.max_cll'), v.hdr?.content_light_level?.max_cll, num(text(t, 'MaxCLL')));
    compare(at('hdr.content_light_level.max_fall'), v.hdr?.content_light_level?.max_fall, num(text(t, 'MaxFALL')));
    const dv = v.hdr?.dolby_vision;
    compare(at('hdr.dolby_vision.profile'), dv?.profile, num(/^dv[a-z0-9]{2}\.(\d+)/.exec(text(t, 'HDR_Format_Profile') ?? '')?.[1]));
    compare(at('hdr.dolby_vision.level'), dv?.level, num(/^(\d+)/.exec(text(t, 'HDR_Format_Level') ?? '')?.[1]));
    const layers = /^([A-Z+]+)/.exec(text(t, 'HDR_Format_Settings') ?? '')?.[1]?.split('+');
    if (dv && layers) {
      compare(at('hdr.dolby_vision.bl'), dv.bl, layers.includes('BL'));
      compare(at('hdr.dolby_vision.el'), dv.el, layers.includes('EL'));
      compare(at('hdr.dolby_vision.rpu'), dv.rpu, layers.includes('RPU'));
    }
    compare(at('sample_aspect_ratio'), ratio(v.sample_aspect_ratio), num(text(t, 'PixelAspectRatio')), near(0.0015));
    compare(at('display_aspect_ratio'), ratio(v.display_aspect_ratio), num(text(t, 'DisplayAspectRatio')), near(0.0015));
    // ffprobe prints no display matrix for an unrotated track, MediaInfo prints 0.
    const rotation = num(text(t, 'Rotation'));
    compare(at('rotation'), rotation === undefined ? undefined : (v.rotation ?? 0), rotation);
    compare(at('duration_s'), v.duration_s, num(text(t, 'Duration')), near(DURATION_TOLERANCE_S));
    compare(at('language'), v.language, text(t, 'Language'), sameLanguage);
    compare(at('title'), v.title, text(t, 'Title'));
    compare(at('default'), v.default, yesNo(text(t, 'Default')));
    compare(at('forced'), v.forced, yesNo(text(t, 'Forced')));
  });

  compare('audio.length', ours.audio.length, of('Audio').length);
  ours.audio.forEach((a: AudioStream, i) => {
    const t = of('Audio')[i];
    if (!t) return;
    const at = (name: string) => `audio[${i}].${name}`;
    compare(at('channels'), a.channels, num(text(t, 'Channels')));
    compare(at('channel_layout'), a.channel_layout, text(t, 'ChannelLayout'), (x, y) =>
      (CHANNEL_LAYOUTS[String(x)] ?? []).includes(String(y)),
    );
    compare(at('sample_rate'), a.sample_rate, num(text(t, 'SamplingRate')));
    compare(at('bit_depth'), a.bit_depth, num(text(t, 'BitDepth')));
    compare(at('duration_s'), a.duration_s, num(text(t, 'Duration')), near(DURATION_TOLERANCE_S));
    compare(at('language'), a.language, text(t, 'Language'), sameLanguage);
    compare(at('title'), a.title, text(t, 'Title'));
    compare(at('default'), a.default, yesNo(text(t, 'Default')));
  });

  compare('subtitles.length', ours.subtitles.length, of('Text').length);
  ours.subtitles.forEach((s: SubtitleStream, i) => {
    const t = of('Text')[i];
    if (!t) return;
    const at = (name: string) => `subtitles[${i}].${name}`;
    compare(at('language'), s.language, text(t, 'Language'), sameLanguage);
    compare(at('title'), s.title, text(t, 'Title'));
    compare(at('default'), s.default, yesNo(text(t, 'Default')));
    compare(at('forced'), s.forced, yesNo(text(t, 'Forced')));
  });
  return { compared, differences: found };
}

describe('agreement with MediaInfo', () => {
  it('ran on every corpus file', () => {
    expect([...mediainfo.keys()].sort()).toEqual(CORPUS.map((c) => c.file).sort());
  });

  it.each(CORPUS.map((c) => c.file))('%s: every field both report agrees, or the difference is explained', (file) => {
    const found = agreement(file).differences.map(
      (d) => `${d.field}: ours ${JSON.stringify(d.ours)}, MediaInfo ${JSON.stringify(d.theirs)}`,
    );
    const explained = Object.keys(EXPLAINED)
      .filter((key) => key.startsWith(`${file} `))
      .map((key) => key.slice(file.length + 1));
    expect(found.sort()).toEqual(explained.sort());
  });

  it('compares each field the issue names on at least one file', () => {
    const compared = new Set(CORPUS.flatMap((c) => agreement(c.file).compared));
    const required = [
      'duration_s',
      'faststart',
      'cover_art',
      'chapters.length',
      'chapters.start_s',
      'chapters.title',
      'start_timecode.value',
      'start_timecode.drop_frame',
      ...['width', 'height', 'frame_rate', 'bit_depth', 'chroma_subsampling', 'scan_type', 'field_order', 'sample_aspect_ratio'].map(
        (f) => `video.${f}`,
      ),
      ...['display_aspect_ratio', 'rotation', 'duration_s', 'default', 'forced'].map((f) => `video.${f}`),
      ...['color.range', 'color.primaries', 'color.transfer', 'color.matrix'].map((f) => `video.${f}`),
      ...['hdr.formats HDR10', 'hdr.formats Dolby Vision', 'hdr.mastering_display primaries'].map((f) => `video.${f}`),
      ...['hdr.mastering_display.min_luminance', 'hdr.mastering_display.max_luminance'].map((f) => `video.${f}`),
      ...['hdr.content_light_level.max_cll', 'hdr.content_light_level.max_fall'].map((f) => `video.${f}`),
      ...['hdr.dolby_vision.profile', 'hdr.dolby_vision.level', 'hdr.dolby_vision.bl', 'hdr.dolby_vision.el', 'hdr.dolby_vision.rpu'].map(
        (f) => `video.${f}`,
      ),
      ...['channels', 'channel_layout', 'sample_rate', 'bit_depth', 'duration_s', 'language', 'title', 'default'].map((f) => `audio.${f}`),
      ...['language', 'title', 'default', 'forced'].map((f) => `subtitles.${f}`),
    ];
    expect(required.filter((field) => !compared.has(field))).toEqual([]);
  });
});
