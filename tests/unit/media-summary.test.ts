/**
 * The typed `media` summary (version 2) of real ffprobe documents, field by field, its caps, and
 * its one-line description for version 1 and 2 rows. The expectations name media files, so the
 * documents of every ffprobe version in tests/unit/fixtures/ffprobe-<version>/ go through the same
 * tables (helpers/ffprobe-fixtures.ts); what one version cannot report is in a table of its own.
 */
import type { FfprobeOutput } from '../../functions/lib/ffprobe-command';
import { MAX_TEXT_LENGTH } from '../../functions/lib/ffprobe-values';
import { RULES } from '../../functions/lib/media-findings';
import type { MediaSummary, MediaSummaryV1 } from '../../functions/lib/media-schema';
import { describeMedia, LIST_CAPS, summariseMedia } from '../../functions/lib/media-summary';
import { chromaSubsampling, parseFrameRate, pixelFormatDepth } from '../../functions/lib/media-video';
import { BT2020_PQ, MASTERING_DISPLAY } from '../support/corpus';
import mkv from './fixtures/mkv-subtitles.json';
import mp3 from './fixtures/mp3-cover-art.json';
import mp4 from './fixtures/mp4-h264-aac.json';
import unknown from './fixtures/unknown-values.json';
import { allFixtures, FIXTURE_VERSIONS, fixturesOf } from './helpers/ffprobe-fixtures';

const summary = (doc: unknown) => summariseMedia(doc as FfprobeOutput);
const LAVF = expect.stringMatching(/^Lavf\d/);

/**
 * What every version's ffprobe must make of each file: values that belong to the media, not to the
 * encoder's version (sizes and bit rates only as numbers).
 */
const EXPECTED: Array<[file: string, expected: Record<string, unknown>]> = [
  [
    'hdr10-hevc.mp4',
    {
      format_name: 'mov,mp4,m4a,3gp,3g2,mj2',
      brand: 'isom',
      encoder: LAVF,
      duration_s: 0.25,
      size_bytes: expect.any(Number),
      video: [
        expect.objectContaining({
          index: 0,
          codec: 'hevc',
          profile: 'Main 10',
          codec_tag: 'hvc1',
          width: 128,
          height: 72,
          pix_fmt: 'yuv420p10le',
          bit_depth: 10,
          chroma_subsampling: '4:2:0',
          color: BT2020_PQ,
          hdr: { formats: ['PQ', 'HDR10'], mastering_display: MASTERING_DISPLAY, content_light_level: { max_cll: 1000, max_fall: 400 } },
          frame_rate: 24,
          frame_rate_fraction: '24/1',
          scan_type: 'progressive',
        }),
      ],
      audio: [],
    },
  ],
  [
    'hdr10-hevc.mkv',
    {
      format_name: 'matroska,webm',
      video: [
        expect.objectContaining({
          codec: 'hevc',
          color: BT2020_PQ,
          hdr: { formats: ['PQ', 'HDR10'], mastering_display: MASTERING_DISPLAY, content_light_level: { max_cll: 1000, max_fall: 400 } },
          duration_s: 0.25,
        }),
      ],
    },
  ],
  ['pq-no-metadata.mkv', { video: [expect.objectContaining({ color: BT2020_PQ, hdr: { formats: ['PQ'] } })] }],
  [
    'hlg-hevc.mkv',
    {
      video: [
        expect.objectContaining({
          color: { range: 'tv', primaries: 'bt2020', transfer: 'arib-std-b67', matrix: 'bt2020nc' },
          hdr: { formats: ['HLG'] },
          frame_rate: 50,
        }),
      ],
    },
  ],
  [
    'dolby-vision-p8.mp4',
    {
      video: [
        expect.objectContaining({
          codec_tag: 'hvc1',
          hdr: {
            formats: ['PQ', 'HDR10', 'Dolby Vision'],
            mastering_display: MASTERING_DISPLAY,
            content_light_level: { max_cll: 1000, max_fall: 400 },
            dolby_vision: { profile: 8, level: 6, bl_compatibility_id: 1, rpu: true, el: false, bl: true },
          },
        }),
      ],
    },
  ],
  [
    'dolby-vision-p5.mp4',
    {
      video: [
        expect.objectContaining({
          codec: 'hevc',
          codec_tag: 'dvh1',
          hdr: {
            formats: ['Dolby Vision'],
            dolby_vision: { profile: 5, level: 6, bl_compatibility_id: 0, rpu: true, el: false, bl: true },
          },
        }),
      ],
    },
  ],
  [
    'prores-422-10bit.mov',
    {
      brand: 'qt',
      video: [
        expect.objectContaining({
          codec: 'prores',
          profile: 'Standard',
          codec_tag: 'apcn',
          pix_fmt: 'yuv422p10le',
          bit_depth: 10,
          chroma_subsampling: '4:2:2',
          frame_count: 5,
        }),
      ],
    },
  ],
  [
    'interlaced-tff.ts',
    {
      format_name: 'mpegts',
      start_time_s: expect.any(Number),
      video: [
        expect.objectContaining({
          codec: 'mpeg2video',
          scan_type: 'interlaced',
          field_order: 'tff',
          width: 720,
          height: 576,
          codec_tag: '[2][0][0][0]',
        }),
      ],
      audio: [expect.objectContaining({ codec: 'mp2', channels: 1, sample_rate: 48000 })],
      programs: [{ program_num: 1, service_name: 'Channel One', service_provider: 'media-probe', stream_count: 2 }],
    },
  ],
  ['interlaced-bff.mkv', { video: [expect.objectContaining({ codec: 'mpeg2video', scan_type: 'interlaced', field_order: 'bff' })] }],
  [
    'rotated.mp4',
    {
      video: [
        expect.objectContaining({
          width: 160,
          height: 90,
          rotation: 90,
          display_width: 90,
          display_height: 160,
          sample_aspect_ratio: '1:1',
        }),
      ],
    },
  ],
  [
    'anamorphic.mp4',
    {
      video: [
        expect.objectContaining({
          width: 720,
          height: 576,
          sample_aspect_ratio: '64:45',
          display_aspect_ratio: '16:9',
          display_width: 1024,
          display_height: 576,
        }),
      ],
    },
  ],
  [
    'timecode-df.mov',
    {
      brand: 'qt',
      start_timecode: { value: '01:00:00;00', drop_frame: true, source: 'streams[1].tags.timecode' },
      video: [expect.objectContaining({ frame_rate: 29.97, frame_rate_fraction: '30000/1001', vfr_suspected: false })],
      data: [{ index: 1, codec_tag: 'tmcd' }],
    },
  ],
  [
    'timecode.mxf',
    {
      format_name: 'mxf',
      start_timecode: { value: '10:00:00:00', drop_frame: false, source: 'format.tags.timecode' },
      video: [
        expect.objectContaining({ codec: 'mpeg2video', profile: '4:2:2', pix_fmt: 'yuv422p', chroma_subsampling: '4:2:2', bit_depth: 8 }),
      ],
      audio: [expect.objectContaining({ codec: 'pcm_s24le', bit_depth: 24, sample_rate: 48000 })],
    },
  ],
  [
    'timecode.dv',
    {
      format_name: 'dv',
      start_timecode: { value: '09:59:50:00', drop_frame: false, source: 'format.tags.timecode' },
      // ffprobe 7.1 averages "60000/1" here, one frame per tick of the 1/60000 time base: no measurement, so r_frame_rate's 25/1.
      video: [
        expect.objectContaining({
          codec: 'dvvideo',
          sample_aspect_ratio: '64:45',
          display_width: 1024,
          display_height: 576,
          frame_rate: 25,
          frame_rate_fraction: '25/1',
        }),
      ],
      audio: [expect.objectContaining({ codec: 'pcm_s16le', channels: 2, channel_layout: 'stereo', bit_depth: 16 })],
    },
  ],
  [
    'timecode.gxf',
    {
      format_name: 'gxf',
      start_timecode: { value: '10:00:00:00', drop_frame: false, source: 'format.tags.timecode' },
      // GXF's time base counts fields, so avg_frame_rate is the field rate (50/1): at 2:1 the frame rate is the lower one, and not a varying rate.
      video: [
        expect.objectContaining({ frame_rate: 25, frame_rate_fraction: '25/1', base_frame_rate_fraction: '25/1', vfr_suspected: false }),
      ],
      data: [{ index: 2 }],
    },
  ],
  [
    'surround.mkv',
    {
      video: [
        // Matroska stores no per-stream bit rate, frame count or duration: mkvmerge-style tags do.
        expect.objectContaining({
          bit_rate: 300000,
          frame_count: 12,
          duration_s: 0.506,
          frame_rate: 23.976,
          frame_rate_fraction: '24000/1001',
        }),
      ],
      audio: [
        expect.objectContaining({
          index: 1,
          codec: 'ac3',
          channels: 6,
          channel_layout: '5.1(side)',
          bit_rate: 448000,
          language: 'eng',
          default: true,
        }),
        // BPS-eng: the statistics tag with its language suffix.
        expect.objectContaining({
          index: 2,
          codec: 'flac',
          channels: 8,
          channel_layout: '7.1',
          bit_depth: 16,
          bit_rate: 1411200,
          duration_s: 0.505,
        }),
      ],
    },
  ],
  [
    'pcm-24bit.wav',
    { format_name: 'wav', audio: [expect.objectContaining({ codec: 'pcm_s24le', bit_depth: 24, sample_rate: 96000, channels: 1 })] },
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
  ],
  [
    'multilang.mkv',
    {
      audio: [
        expect.objectContaining({
          index: 1,
          language: 'eng',
          title: 'English 2.0',
          default: true,
          visual_impaired: false,
          commentary: false,
        }),
        expect.objectContaining({ index: 2, language: 'fra', title: 'Audio description', default: true, visual_impaired: true }),
        expect.objectContaining({ index: 3, title: "Director's commentary", default: false, commentary: true }),
      ],
      subtitles: [
        { index: 4, codec: 'subrip', language: 'eng', default: true, forced: false, hearing_impaired: false },
        { index: 5, codec: 'subrip', language: 'eng', title: 'Forced', default: false, forced: true, hearing_impaired: false },
        { index: 6, codec: 'subrip', language: 'ger', title: 'SDH', default: false, forced: false, hearing_impaired: true },
      ],
    },
  ],
  [
    'cover-art.mp3',
    {
      format_name: 'mp3',
      video: [],
      audio: [expect.objectContaining({ index: 0, codec: 'mp3' })],
      cover_art: [{ index: 1, codec: 'png', width: 32, height: 32, title: 'Album cover' }],
    },
  ],
  [
    'attachments.mkv',
    {
      video: [expect.objectContaining({ index: 0, codec: 'h264' })],
      cover_art: [{ index: 1, codec: 'png', width: 32, height: 32, title: 'cover.png' }],
      attachments: [{ index: 2, file_name: 'Subtitles.ttf', mime_type: 'application/x-truetype-font', codec: 'ttf' }],
    },
  ],
  [
    'vfr.mp4',
    {
      video: [
        expect.objectContaining({
          frame_rate: 15.517,
          frame_rate_fraction: '450/29',
          base_frame_rate_fraction: '30/1',
          vfr_suspected: true,
        }),
      ],
    },
  ],
  [
    'av-offset.mp4',
    {
      video: [expect.objectContaining({ start_time_s: 0, duration_s: 2 })],
      audio: [
        expect.objectContaining({ codec: 'aac', profile: 'LC', start_time_s: expect.closeTo(0.5, 1), duration_s: expect.closeTo(1, 1) }),
      ],
    },
  ],
  ['captions-c608.mov', { closed_captions: true, subtitles: [expect.objectContaining({ index: 1, codec: 'eia_608' })] }],
];

const cases = EXPECTED.flatMap(([file, expected]) =>
  fixturesOf(file).map((f) => [`${file} (ffprobe ${f.version})`, f.output, expected] as const),
);

describe('summariseMedia on real ffprobe documents', () => {
  it('has a document, of some ffprobe version, for every file in its table', () => {
    expect(FIXTURE_VERSIONS).toContain('5.1');
    expect(EXPECTED.filter(([file]) => fixturesOf(file).length === 0).map(([file]) => file)).toEqual([]);
  });

  it.each(cases)('%s', (_, output, expected) => {
    expect(summariseMedia(output)).toMatchObject({ schema_version: 2, ...expected });
  });
});

/** What ffprobe 5.1 cannot report, so its summary leaves it out rather than guess. */
describe('summariseMedia on what ffprobe 5.1 does not report', () => {
  const of = (file: string) => summariseMedia(fixturesOf(file).find((f) => f.version === '5.1')!.output);

  it('captions inside the H.264 stream: closed_captions is 0 without decoding, so it is left out, never false', () => {
    expect(of('captions-a53.mp4')).not.toHaveProperty('closed_captions');
  });

  it("DV's field order: no scan_type or field_order", () => {
    expect(of('timecode.dv').video[0]).not.toHaveProperty('scan_type');
    expect(of('timecode.dv').video[0]).not.toHaveProperty('field_order');
  });

  it("HEVC's bits_per_raw_sample: the depth comes from the pixel format", () => {
    const stream = fixturesOf('hdr10-hevc.mp4').find((f) => f.version === '5.1')!.output.streams![0];
    expect(stream).not.toHaveProperty('bits_per_raw_sample');
    expect(of('hdr10-hevc.mp4').video[0].bit_depth).toBe(10);
  });

  it("a Matroska remux's upper-case copy of the MP4 brand is not the file's brand", () => {
    expect(of('hdr10-hevc.mkv')).not.toHaveProperty('brand');
  });
});

describe.each(FIXTURE_VERSIONS)('every ffprobe %s document', (version) => {
  const documents = allFixtures().filter((f) => f.version === version);
  const each = documents.map((f) => [f.file, f.output] as const);

  it.each(each)('%s: version 2, every list present, nothing undefined, no string over the cap, far under 64 KiB', (_, output) => {
    const media = summariseMedia(output);
    expect(media.schema_version).toBe(2);
    for (const list of ['video', 'audio', 'subtitles', 'data', 'attachments', 'cover_art', 'chapters', 'programs', 'findings'] as const) {
      expect(Array.isArray(media[list])).toBe(true);
    }
    const walk = (value: unknown): void => {
      expect(value).not.toBeUndefined();
      if (typeof value === 'string') expect(value.length).toBeLessThanOrEqual(MAX_TEXT_LENGTH);
      if (value && typeof value === 'object') Object.values(value).forEach(walk);
    };
    walk(media);
    expect(Buffer.byteLength(JSON.stringify(media))).toBeLessThan(8 * 1024);
  });

  it.each(each)('%s: each stream in exactly one list, by its index; cover art never as video', (_, output) => {
    const media = summariseMedia(output);
    const listed = [media.video, media.audio, media.subtitles, media.data, media.attachments, media.cover_art].flatMap((list) =>
      list.map((s) => s.index),
    );
    expect(listed.sort((a, b) => a - b)).toEqual((output.streams ?? []).map((s) => s.index));
    const pictures = (output.streams ?? []).filter((s) => (s.disposition as { attached_pic?: number } | undefined)?.attached_pic === 1);
    for (const picture of pictures) expect(media.video.map((v) => v.index)).not.toContain(picture.index);
  });

  it.each(each)('%s: findings name a rule of the table', (_, output) => {
    const rules = new Map(RULES.map((r) => [r.rule, r.severity]));
    for (const finding of summariseMedia(output).findings) expect(rules.get(finding.rule)).toBe(finding.severity);
  });

  it.each(each)('%s: one readable line, without empty parts', (_, output) => {
    const line = describeMedia(summariseMedia(output));
    expect(line).not.toBe('');
    expect(line.split(' · ').filter((part) => part.trim() === '')).toEqual([]);
  });
});

describe('summariseMedia on hand-made documents', () => {
  it('keeps the v1 fields where they were, in the v2 entries', () => {
    const media = summary(mp4);
    expect(media.video).toEqual([
      expect.objectContaining({ codec: 'h264', width: 1920, height: 1080, frame_rate: 29.97, pix_fmt: 'yuv420p', profile: 'High' }),
    ]);
    expect(media.audio).toEqual([expect.objectContaining({ codec: 'aac', channels: 2, sample_rate: 48000, language: 'eng' })]);
    expect(media).toMatchObject({ format_name: 'mov,mp4,m4a,3gp,3g2,mj2', duration_s: 12.5125, size_bytes: 7996651, bit_rate: 5112805 });
  });

  it('an MKV: languages kept, "und" left out, a DURATION tag read, the font attachment listed apart', () => {
    const media = summary(mkv);
    expect(media.video[0]).toMatchObject({ codec: 'hevc', language: 'eng', duration_s: 5832.077, default: true });
    expect(media.audio.map((a) => a.language)).toEqual(['fre', undefined]);
    expect(media.subtitles.map((s) => s.codec)).toEqual(['subrip', 'hdmv_pgs_subtitle']);
    expect(media.subtitles[1]).not.toHaveProperty('language');
  });

  it('does not count MP3 cover art (attached_pic) as video', () => {
    const media = summary(mp3);
    expect(media.video).toEqual([]);
    expect(media.cover_art).toEqual([expect.objectContaining({ index: 1, codec: 'mjpeg', width: 600, height: 600 })]);
  });

  it('leaves out every value ffprobe did not know ("N/A", "0/0", 0, "unknown", -99, empty), rather than storing undefined', () => {
    const media = summary(unknown);
    expect(media).toEqual({
      schema_version: 2,
      format_name: 'mpegts',
      video: [{ index: 0, codec: 'mpeg2video', default: false }],
      audio: [{ index: 1 }],
      subtitles: [],
      data: [],
      attachments: [],
      cover_art: [],
      chapters: [],
      programs: [],
      findings: [{ rule: 'undetermined_language', severity: 'info', message: 'audio stream 1 has no language (tag missing or "und")' }],
    });
  });

  it.each([
    ['interlaced H.264: r_frame_rate is the field rate', '50/1', '25/1', '1/1200000', '25/1', false],
    ['GXF: avg_frame_rate is the field rate', '25/1', '50/1', '1/50', '25/1', false],
    ['one frame per tick of the time base: no measurement, no guess', '25/1', '60000/1', '1/60000', '25/1', undefined],
    ['a real difference', '30/1', '450/29', '1/15360', '450/29', true],
  ])('frame rate, %s', (_case, base, average, timeBase, fraction, vfr) => {
    const media = summary({
      streams: [{ index: 0, codec_type: 'video', codec_name: 'h264', r_frame_rate: base, avg_frame_rate: average, time_base: timeBase }],
      format: { format_name: 'mov,mp4,m4a,3gp,3g2,mj2' },
    });
    expect(media.video[0].frame_rate_fraction).toBe(fraction);
    expect(media.video[0].vfr_suspected).toBe(vfr);
  });

  it('falls back to r_frame_rate when avg_frame_rate is unknown, and then cannot suspect a variable rate', () => {
    const media = summary({
      streams: [{ index: 0, codec_type: 'video', codec_name: 'vp9', avg_frame_rate: '0/0', r_frame_rate: '25/1' }],
      format: {},
    });
    expect(media.video).toEqual([
      { index: 0, codec: 'vp9', frame_rate: 25, frame_rate_fraction: '25/1', base_frame_rate_fraction: '25/1' },
    ]);
  });

  it('accepts numbers as numbers as well as strings, and an empty document', () => {
    const media = summary({
      streams: [{ index: 0, codec_type: 'audio', sample_rate: 22050, channels: '1' }],
      format: { duration: 3.5, size: 'garbage' },
    });
    expect(media).toMatchObject({ duration_s: 3.5, audio: [{ index: 0, channels: 1, sample_rate: 22050 }] });
    expect(media).not.toHaveProperty('size_bytes');
    expect(summariseMedia({})).toEqual({
      schema_version: 2,
      video: [],
      audio: [],
      subtitles: [],
      data: [],
      attachments: [],
      cover_art: [],
      chapters: [],
      programs: [],
      findings: [],
    });
  });

  it('takes faststart from the ffprobe step, and nothing else from outside ffprobe', () => {
    expect(summariseMedia({}, { faststart: false })).toMatchObject({
      faststart: false,
      findings: [expect.objectContaining({ rule: 'not_faststart' })],
    });
    expect(summariseMedia({}, {})).not.toHaveProperty('faststart');
  });

  it('reads tags whatever their case, and statistics tags with a language suffix', () => {
    const media = summary({
      streams: [
        {
          index: 0,
          codec_type: 'video',
          tags: { Title: 'Main', 'BPS-fre': '5000000', 'NUMBER_OF_FRAMES-fre': '240', 'DURATION-fre': '00:00:10.000000000' },
        },
      ],
      format: { tags: { ENCODER: 'mkvmerge v80', CREATION_TIME: '2024-05-01T10:00:00.000000Z' } },
    });
    expect(media).toMatchObject({ encoder: 'mkvmerge v80', creation_time: '2024-05-01T10:00:00.000000Z' });
    expect(media.video[0]).toMatchObject({ title: 'Main', bit_rate: 5000000, frame_count: 240, duration_s: 10 });
  });

  it("prefers ffprobe's own bit rate, frame count and duration to the tags", () => {
    const media = summary({
      streams: [
        {
          index: 0,
          codec_type: 'video',
          bit_rate: '100',
          nb_frames: '3',
          duration: '1.5',
          tags: { BPS: '200', NUMBER_OF_FRAMES: '4', DURATION: '00:00:02.000000000' },
        },
      ],
    });
    expect(media.video[0]).toMatchObject({ bit_rate: 100, frame_count: 3, duration_s: 1.5 });
  });

  it.each([
    ['01:00:00;00', true],
    ['01:00:00.00', true],
    ['10:00:00:00', false],
  ])('reads timecode %s as drop_frame %s, and ignores one that is not a timecode', (value, dropFrame) => {
    expect(summary({ format: { tags: { timecode: value } } }).start_timecode).toEqual({
      value,
      drop_frame: dropFrame,
      source: 'format.tags.timecode',
    });
    expect(summary({ format: { tags: { timecode: 'yesterday' } } })).not.toHaveProperty('start_timecode');
  });

  it('prefers the container timecode to a tmcd track, and a tmcd track to a video stream', () => {
    const video = { index: 0, codec_type: 'video', tags: { timecode: '03:00:00:00' } };
    const tmcd = { index: 1, codec_type: 'data', codec_tag_string: 'tmcd', tags: { timecode: '02:00:00:00' } };
    expect(summary({ streams: [video, tmcd], format: { tags: { timecode: '01:00:00:00' } } }).start_timecode?.source).toBe(
      'format.tags.timecode',
    );
    expect(summary({ streams: [video, tmcd], format: {} }).start_timecode).toMatchObject({
      value: '02:00:00:00',
      source: 'streams[1].tags.timecode',
    });
    expect(summary({ streams: [video], format: {} }).start_timecode).toMatchObject({
      value: '03:00:00:00',
      source: 'streams[0].tags.timecode',
    });
  });

  it('turns ffprobe’s counter-clockwise rotation into the clockwise turn a player makes, swapping the shown size at 90° and 270°', () => {
    const rotated = (rotation: number) =>
      summary({
        streams: [
          {
            index: 0,
            codec_type: 'video',
            width: 1920,
            height: 1080,
            sample_aspect_ratio: '1:1',
            side_data_list: [{ side_data_type: 'Display Matrix', rotation }],
          },
        ],
      }).video[0];
    expect(rotated(-90)).toMatchObject({ rotation: 90, display_width: 1080, display_height: 1920 });
    expect(rotated(90)).toMatchObject({ rotation: 270, display_width: 1080, display_height: 1920 });
    expect(rotated(180)).toMatchObject({ rotation: 180, display_width: 1920, display_height: 1080 });
  });

  it('counts a video stream’s closed captions flag when ffprobe sets it', () => {
    expect(summary({ streams: [{ index: 0, codec_type: 'video', closed_captions: 1 }] }).closed_captions).toBe(true);
    expect(summary({ streams: [{ index: 0, codec_type: 'video', closed_captions: 0 }] })).not.toHaveProperty('closed_captions');
  });

  it('names HDR10+ from its stream side data, in 7.1’s packet and 5.1’s frame wording', () => {
    for (const type of ['HDR10+ Dynamic Metadata (SMPTE 2094-40)', 'HDR Dynamic Metadata SMPTE2094-40 (HDR10+)']) {
      const media = summary({
        streams: [{ index: 0, codec_type: 'video', color_transfer: 'smpte2084', side_data_list: [{ side_data_type: type }] }],
      });
      expect(media.video[0].hdr?.formats).toEqual(['PQ', 'HDR10+']);
    }
  });

  it('reports the programs of a transport stream and the streams each holds', () => {
    const media = summary({ programs: [{ program_num: 3, nb_streams: 0, tags: {} }] });
    expect(media.programs).toEqual([{ program_num: 3, stream_count: 0 }]);
  });
});

describe('summariseMedia on hostile and huge files', () => {
  it('cuts every string it copies to 256 characters, marking the cut, so a tag cannot fill a row or a state', () => {
    const hostile = {
      ...mp4,
      streams: mp4.streams.map((s) => ({ ...s, profile: 'p'.repeat(300_000), tags: { language: 'l'.repeat(300_000) } })),
    };
    const media = summary(hostile);
    expect(media.video[0].profile).toBe(`${'p'.repeat(255)}…`);
    expect(media.audio[0].language).toBe(`${'l'.repeat(255)}…`);
    expect(JSON.stringify(media).length).toBeLessThan(4_000);
  });

  it('keeps a string of exactly 256 characters whole', () => {
    const exact = { ...mp4, format: { ...mp4.format, format_name: 'f'.repeat(256) } };
    expect(summary(exact).format_name).toBe('f'.repeat(256));
  });

  it('caps hundreds of streams and chapters, says how many it left out, and stays far under the 64 KiB a row keeps for it', () => {
    const languages = ['eng', 'fre', 'ger', 'spa', 'ita', 'jpn', 'por', 'und'];
    const streams = [
      ...Array.from({ length: 20 }, () => ({ codec_type: 'video', codec_name: 'hevc', profile: 'Main 10', width: 3840, height: 2160 })),
      ...Array.from({ length: 300 }, (_, i) => ({
        codec_type: 'audio',
        codec_name: 'eac3',
        profile: 'Dolby Digital Plus + Dolby Atmos',
        channels: 8,
        channel_layout: '7.1',
        sample_rate: '48000',
        tags: { language: languages[i % 8], title: `Dolby Digital Plus 7.1 Atmos – commentary track number ${i}` },
        disposition: { default: i === 0 ? 1 : 0 },
      })),
      ...Array.from({ length: 300 }, (_, i) => ({
        codec_type: 'subtitle',
        codec_name: 'hdmv_pgs_subtitle',
        tags: { language: languages[i % 8], title: `Subtitles for the deaf and hard of hearing, part ${i}` },
      })),
      ...Array.from({ length: 100 }, () => ({ codec_type: 'data', codec_name: 'bin_data' })),
      ...Array.from({ length: 100 }, (_, i) => ({
        codec_type: 'attachment',
        codec_name: 'ttf',
        tags: { filename: `Font ${i}.ttf`, mimetype: 'font/ttf' },
      })),
    ].map((s, index) => ({ index, ...s }));
    const chapters = Array.from({ length: 400 }, (_, i) => ({
      start_time: String(i * 60),
      end_time: String(i * 60 + 60),
      tags: { title: `Chapter ${i}: a title as long as people give them` },
    }));
    const programs = Array.from({ length: 50 }, (_, i) => ({
      program_num: i + 1,
      nb_streams: 14,
      tags: { service_name: `Service ${i}`, service_provider: 'Broadcaster' },
    }));
    const media = summariseMedia({ streams, chapters, programs, format: { format_name: 'matroska,webm' } });
    expect(media).toMatchObject({
      video_omitted: 20 - LIST_CAPS.video,
      audio_omitted: 300 - LIST_CAPS.audio,
      subtitles_omitted: 300 - LIST_CAPS.subtitles,
      data_omitted: 100 - LIST_CAPS.data,
      attachments_omitted: 100 - LIST_CAPS.attachments,
      chapters_omitted: 400 - LIST_CAPS.chapters,
      programs_omitted: 50 - LIST_CAPS.programs,
    });
    expect(media.video).toHaveLength(LIST_CAPS.video);
    expect(media.chapters.at(-1)).toEqual({ start_s: 5940, end_s: 6000, title: 'Chapter 99: a title as long as people give them' });
    // Findings are made from every stream, then capped: 37 audio and 37 subtitle streams say "und".
    expect(media.findings).toHaveLength(LIST_CAPS.findings);
    expect(media.findings_omitted).toBe(37 + 37 - LIST_CAPS.findings);
    expect(media).not.toHaveProperty('cover_art_omitted');
    expect(Buffer.byteLength(JSON.stringify(media))).toBeLessThan(48 * 1024);
  });
});

describe('parseFrameRate', () => {
  it.each([
    ['30000/1001', 29.97],
    ['24000/1001', 23.976],
    ['25/1', 25],
    ['60000/1001', 59.94],
    ['0/0', undefined],
    ['25/0', undefined],
    ['N/A', undefined],
    ['', undefined],
    [25, undefined],
    [undefined, undefined],
  ])('%j → %j', (value, expected) => {
    expect(parseFrameRate(value)).toBe(expected);
  });
});

describe('what a pixel format says', () => {
  it.each([
    ['yuv420p', 8, '4:2:0'],
    ['yuvj422p', 8, '4:2:2'],
    ['yuv420p10le', 10, '4:2:0'],
    ['yuv422p10le', 10, '4:2:2'],
    ['yuv444p12le', 12, '4:4:4'],
    ['yuva444p16be', 16, '4:4:4'],
    ['yuv411p', 8, '4:1:1'],
    ['nv12', 8, '4:2:0'],
    ['p010le', 10, '4:2:0'],
    ['y210le', 10, '4:2:2'],
    ['gbrp10le', 10, '4:4:4'],
    ['rgb24', 8, '4:4:4'],
    ['rgb48le', 16, '4:4:4'],
    ['gray', 8, undefined],
    ['gray16le', 16, undefined],
    ['bayer_rggb8', undefined, undefined],
  ])('%s: %j bits, %j', (pixFmt, depth, subsampling) => {
    expect(pixelFormatDepth(pixFmt)).toBe(depth);
    expect(chromaSubsampling(pixFmt)).toBe(subsampling);
  });
});

describe('describeMedia', () => {
  const v1: MediaSummaryV1 = {
    format_name: 'mov,mp4,m4a,3gp,3g2,mj2',
    duration_s: 12.5125,
    video: [{ codec: 'h264', width: 1920, height: 1080, frame_rate: 29.97, pix_fmt: 'yuv420p', profile: 'High' }],
    audio: [{ codec: 'aac', channels: 2, sample_rate: 48000, language: 'eng' }],
    subtitles: [],
  };

  it('describes a version 1 row as it always did', () => {
    expect(describeMedia(v1)).toBe('mov,mp4,m4a,3gp,3g2,mj2 · 12.5 s · h264 1920x1080 29.97 fps · aac 2 ch 48000 Hz eng');
    expect(describeMedia({ video: [], audio: [], subtitles: [{ codec: 'webvtt' }] })).toBe('1 subtitle stream');
  });

  it('describes the same film as version 2 in the same words', () => {
    expect(describeMedia(summary(mp4))).toBe('mov,mp4,m4a,3gp,3g2,mj2 · 12.5 s · h264 1920x1080 29.97 fps · aac 2 ch 48000 Hz eng');
  });

  it('names HDR after the picture and counts warnings at the end', () => {
    const media = summariseMedia(fixturesOf('dolby-vision-p5.mp4')[0].output);
    expect(describeMedia(media)).toBe('mov,mp4,m4a,3gp,3g2,mj2 · 0.3 s · hevc 128x72 24 fps Dolby Vision · 2 warnings');
  });

  it('counts subtitle streams, the omitted ones too', () => {
    const media: MediaSummary = { ...summariseMedia({}), subtitles: [{ index: 0 }], subtitles_omitted: 40 };
    expect(describeMedia(media)).toBe('41 subtitle streams');
  });

  it('says nothing it does not know, and copes with a row written by hand without lists', () => {
    expect(describeMedia(summary(mp3))).toBe('mp3 · 214.6 s · mp3 2 ch 44100 Hz');
    expect(describeMedia({ format_name: 'wav' } as MediaSummaryV1)).toBe('wav');
    expect(describeMedia({ schema_version: 2, format_name: 'wav' } as MediaSummary)).toBe('wav');
  });

  it('leaves no empty part for a stream it knows nothing about', () => {
    const parts = describeMedia(summary(unknown)).split(' · ');
    expect(parts.slice(0, 2)).toEqual(['mpegts', 'mpeg2video']);
    expect(parts.filter((part) => part.trim() === '')).toEqual([]);
  });
});
