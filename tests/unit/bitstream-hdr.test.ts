/** Bitstream-only HDR: which streams get a second run, its arguments, what its frames say, and a failed run left out of the summary. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  checkFrames,
  FRAME_PROBE_PACKETS,
  type FramesProbe,
  frameProbeCandidate,
  parseFramesDocument,
  summariseFrames,
} from '../../functions/lib/bitstream-hdr';
import { buildFrameSideDataArgs, type FfprobeOutput, type ProbeLimits } from '../../functions/lib/ffprobe-command';
import { summariseMedia } from '../../functions/lib/media-summary';
import { HDR_CANDIDATES, MASTERING_DISPLAY } from '../support/corpus';
import { allFixtures, FIXTURE_VERSIONS, fixturesOf } from './helpers/ffprobe-fixtures';

const FRAMES = path.join(__dirname, 'fixtures');
/** A frames fixture as the step stores its second run: ffprobe's frames of stream 0, the corpus files' only video stream. */
const framesOf = (version: string, file: string, streamIndex = 0): FramesProbe => ({
  stream_index: streamIndex,
  packets: FRAME_PROBE_PACKETS,
  frames: parseFramesDocument(readFileSync(path.join(FRAMES, `frames-${version}`, `${file}.json`), 'utf8')),
});

describe('which video stream gets its first frames read', () => {
  it.each(FIXTURE_VERSIONS)('ffprobe %s: exactly the HDR candidates of the corpus, and for each its video stream', (version) => {
    const fixtures = allFixtures().filter((fixture) => fixture.version === version);
    const chosen = fixtures.flatMap(({ file, output }) => {
      const candidate = frameProbeCandidate(summariseMedia(output));
      return candidate ? [[file, candidate.index]] : [];
    });
    expect(chosen).toEqual(HDR_CANDIDATES.map((file) => [file, 0]));
  });

  const stream = (fields: Record<string, unknown>): FfprobeOutput => ({
    streams: [{ index: 0, codec_type: 'video', codec_name: 'hevc', pix_fmt: 'yuv420p10le', ...fields }],
    format: { format_name: 'matroska,webm' },
  });

  it.each([
    ['10-bit HEVC that states an SDR transfer', stream({ color_transfer: 'bt709' }), false],
    ['10-bit HEVC in BT.2020 SDR', stream({ color_transfer: 'bt2020-10' }), false],
    ['8-bit HEVC with no transfer stated', stream({ pix_fmt: 'yuv420p' }), false],
    ['10-bit HEVC with no colour stated at all (x265’s default, SDR as often as not)', stream({}), false],
    ['10-bit HEVC with no transfer stated but BT.2020 primaries', stream({ color_primaries: 'bt2020' }), true],
    [
      '10-bit HEVC with no transfer stated in a Dolby Vision sample entry',
      stream({ codec_tag_string: 'dvh1', codec_tag: '0x31687664' }),
      true,
    ],
    ['PQ AV1 (no decoder in the layer)', stream({ codec_name: 'av1', color_transfer: 'smpte2084' }), false],
    ['PQ ProRes (carries neither)', stream({ codec_name: 'prores', color_transfer: 'smpte2084' }), false],
    ['cover art', stream({ color_transfer: 'smpte2084', disposition: { attached_pic: 1 } }), false],
    [
      'PQ HEVC whose container tells both HDR10+ and Dolby Vision',
      stream({
        color_transfer: 'smpte2084',
        side_data_list: [
          { side_data_type: 'HDR10+ Dynamic Metadata (SMPTE 2094-40)' },
          { side_data_type: 'DOVI configuration record', dv_profile: 8 },
        ],
      }),
      false,
    ],
    [
      'PQ HEVC whose container tells Dolby Vision only (HDR10+ may still be in the frames)',
      stream({ color_transfer: 'smpte2084', side_data_list: [{ side_data_type: 'DOVI configuration record', dv_profile: 8 }] }),
      true,
    ],
  ])('%s: %s', (_what, output, chosen) => {
    expect(frameProbeCandidate(summariseMedia(output)) !== undefined).toBe(chosen);
  });
});

describe('the second run', () => {
  it('reads the first packets of one stream, side data only, with the probe’s hardened input options', () => {
    const args = buildFrameSideDataArgs('https://bucket.s3.amazonaws.com/a.mp4?X-Amz-Signature=s', 2, 8, { caFile: '/ca.pem' });
    const pairs = Object.fromEntries(args.flatMap((arg, at) => (arg.startsWith('-') && at + 1 < args.length ? [[arg, args[at + 1]]] : [])));
    expect(pairs).toMatchObject({
      '-loglevel': 'error',
      '-protocol_whitelist': 'https,tls,tcp',
      '-tls_verify': '1',
      '-ca_file': '/ca.pem',
      '-max_alloc': expect.any(String),
      '-rw_timeout': expect.any(String),
      '-threads': '1',
      '-select_streams': '2',
      '-read_intervals': '%+#8',
      '-show_entries': 'frame=stream_index:frame_side_data',
    });
    expect(args).toContain('-show_frames');
    expect(args).not.toContain('-show_streams');
    expect(args.at(-1)).toBe('https://bucket.s3.amazonaws.com/a.mp4?X-Amz-Signature=s');
  });

  it.each(FIXTURE_VERSIONS)('ffprobe %s: what the frames of the corpus show', (version) => {
    const verdict = (file: string) => summariseFrames(framesOf(version, file)).verdict;
    // x265's SEIs carry the mastering display and light level in every file; the tools add HDR10+ or an RPU.
    const staticMetadata = { mastering_display: true, content_light_level: true };
    expect(verdict('hdr10-hevc.mp4')).toMatchObject({ hdr10_plus: false, dolby_vision_rpu: false, ...staticMetadata });
    expect(verdict('hdr10plus-hevc.mp4')).toMatchObject({ hdr10_plus: true, dolby_vision_rpu: false, ...staticMetadata });
    expect(verdict('dolby-vision-rpu.mp4')).toMatchObject({ hdr10_plus: false, dolby_vision_rpu: true, ...staticMetadata });
    // The decoder holds back frames for reordering: fewer frames come out than packets go in, but some do.
    for (const file of ['hdr10-hevc.mp4', 'hdr10plus-hevc.mp4', 'dolby-vision-rpu.mp4']) {
      expect(verdict(file).frames_read).toBeGreaterThan(0);
      expect(verdict(file).frames_read).toBeLessThanOrEqual(FRAME_PROBE_PACKETS);
    }
  });

  it('keeps each kind of side data once, as the first frame carrying it printed it', () => {
    const { streamIndex, sideData } = summariseFrames(framesOf('7.1', 'hdr10plus-hevc.mp4'));
    expect(streamIndex).toBe(0);
    expect(sideData.map((entry) => entry.side_data_type)).toEqual([
      'Mastering display metadata',
      'Content light level metadata',
      'HDR Dynamic Metadata SMPTE2094-40 (HDR10+)',
    ]);
    expect(sideData[1]).toEqual({ side_data_type: 'Content light level metadata', max_content: 1000, max_average: 400 });
  });

  it('refuses a document without frames', () => {
    expect(() => parseFramesDocument('{"streams":[]}')).toThrow(/no frames/);
    expect(() => parseFramesDocument('not json')).toThrow();
  });

  it('never throws: a run that fails is reported for the log, and the summary keeps what the container said', async () => {
    const limits: ProbeLimits = { timeoutMs: 5000, maxOutputBytes: 65536, memoryBudgetMiB: 256 };
    const video = { index: 0 };
    const check = await checkFrames('/nonexistent/bin/ffprobe', 'http://127.0.0.1:9/a.mp4?X-Amz-Signature=s', video, limits, 5000);
    expect(check).toEqual({ stream_index: 0, ms: expect.any(Number), error: expect.stringMatching(/could not be started/) });
    expect(check.error).not.toContain('X-Amz-Signature');
  });

  it('is not started with too little time left before the step’s deadline', async () => {
    const limits: ProbeLimits = { timeoutMs: 5000, maxOutputBytes: 65536, memoryBudgetMiB: 256 };
    const check = await checkFrames('/nonexistent/bin/ffprobe', 'http://127.0.0.1:9/a.mp4', { index: 3 }, limits, 1500);
    expect(check).toEqual({ stream_index: 3, ms: 0, error: "not started: 1500 ms left before the step's deadline" });
  });
});

describe('the summary with the frames of the second run in the ffprobe JSON', () => {
  const of = (file: string) => fixturesOf(file).filter((fixture) => fixture.version === '7.1')[0].output;
  const withFrames = (file: string, streamIndex = 0): FfprobeOutput => ({ ...of(file), frames_probe: framesOf('7.1', file, streamIndex) });

  it('reads PQ only from the container of a file whose HDR metadata is all in its bitstream', () => {
    expect(summariseMedia(of('hdr10plus-hevc.mp4')).video[0].hdr).toEqual({ formats: ['PQ'] });
  });

  it('adds HDR10+ and the static metadata the frames showed, and the frames’ verdict, to their stream only', () => {
    const media = summariseMedia(withFrames('hdr10plus-hevc.mp4'));
    expect(media.video[0].hdr).toEqual({
      formats: ['PQ', 'HDR10', 'HDR10+'],
      mastering_display: MASTERING_DISPLAY,
      content_light_level: { max_cll: 1000, max_fall: 400 },
      frames: {
        frames_read: expect.any(Number),
        hdr10_plus: true,
        dolby_vision_rpu: false,
        mastering_display: true,
        content_light_level: true,
      },
    });
    expect(media.findings.map((finding) => finding.rule)).not.toContain('pq_without_mastering_metadata');
    expect(summariseMedia(withFrames('hdr10plus-hevc.mp4', 1)).video[0].hdr).toEqual({ formats: ['PQ'] });
  });

  it('says Dolby Vision for an RPU without a configuration record, but not a profile it does not know', () => {
    const hdr = summariseMedia(withFrames('dolby-vision-rpu.mp4')).video[0].hdr;
    expect(hdr?.formats).toEqual(['PQ', 'HDR10', 'Dolby Vision']);
    expect(hdr).not.toHaveProperty('dolby_vision');
  });

  it('keeps the verdict of frames that showed nothing, and of a run that got no frame out', () => {
    const sdrLooking = { ...of('dolby-vision-p5.mp4'), frames_probe: { stream_index: 0, packets: 8, frames: [] } };
    expect(summariseMedia(sdrLooking).video[0].hdr?.frames).toEqual({
      frames_read: 0,
      hdr10_plus: false,
      dolby_vision_rpu: false,
      mastering_display: false,
      content_light_level: false,
    });
  });

  it('keeps the container’s static metadata over the frames’', () => {
    const withoutFrames = summariseMedia(of('hdr10-hevc.mp4')).video[0].hdr;
    const withFramesToo = summariseMedia(withFrames('hdr10-hevc.mp4')).video[0].hdr;
    expect(withFramesToo).toEqual({ ...withoutFrames, frames: summariseFrames(framesOf('7.1', 'hdr10-hevc.mp4')).verdict });
  });
});
