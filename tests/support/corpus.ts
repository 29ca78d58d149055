/**
 * The generated test-media corpus, the one recipe for it: small files made by Debian's ffmpeg 5.1
 * (with libx264 and libx265) and this folder's mp4-edit.ts, h264-add-captions.ts and
 * hevc-add-dynamic-hdr.ts, covering what the media summary reads (HDR10, PQ, HLG, Dolby Vision
 * configuration records, HDR10+ and Dolby Vision RPUs only in the bitstream, ProRes 10-bit,
 * interlacing, rotation, anamorphic pixels, timecodes, surround, 24-bit PCM, chapters, languages
 * and dispositions, cover art, attachments, VFR, an A/V offset, captions, moov first and last).
 * The integration tests generate it into a scratch directory; run by hand it also writes the unit
 * tests' ffprobe documents (tests/unit/fixtures/README.md):
 *
 *   npx tsx tests/support/corpus.ts OUTDIR [--probe FFPROBE --fixtures DIR]
 *
 * Every command runs from an argument array (no shell) with the output directory as its working
 * directory, so the files' names are the ones the commands below write.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { FRAME_PROBE_PACKETS } from '../../functions/lib/bitstream-hdr';
import { buildFrameSideDataArgs } from '../../functions/lib/ffprobe-command';
import { serveDirectory } from '../layer/support/http';
import { addCaptions } from './h264-add-captions';
import { addDynamicHdr, type DynamicHdr } from './hevc-add-dynamic-hdr';
import { addToVideoSampleEntry, box, rotateVideoTrack } from './mp4-edit';

const run = promisify(execFile);

/** One step of a file's recipe, run in the corpus directory. */
export type Step =
  /** `ffmpeg -nostdin -hide_banner -loglevel error -y <args>` (Debian's ffmpeg from PATH). */
  | { ffmpeg: string[] }
  /** A text input (an ffmetadata file, a subtitle, a stand-in font). */
  | { write: string; text: string }
  /** tests/support/mp4-edit.ts: boxes (type → payload in hex) added to the video sample entry, its type changed, the track header rotated. */
  | { mp4Edit: { from: string; to: string; boxes?: Record<string, string>; sampleEntry?: string; rotate?: 90 | 180 | 270 } }
  /** tests/support/h264-add-captions.ts: an A/53 caption SEI before every picture of an Annex B H.264 stream. */
  | { addCaptions: { from: string; to: string } }
  /** tests/support/hevc-add-dynamic-hdr.ts: HDR10+ SEIs and/or Dolby Vision RPUs in every picture of an Annex B HEVC stream. */
  | { addDynamicHdr: { from: string; to: string } & DynamicHdr };

export interface CorpusFile {
  /** The file's name in the corpus directory; its ffprobe document is `<file>.json`. */
  file: string;
  /** What the file is there to show. */
  what: string;
  /** Run in order; the last one writes `file`. Intermediate files stay beside it (a later file may reuse one). */
  steps: Step[];
}

/** The 19 reserved bytes closing a Dolby Vision configuration record. */
const ZEROS = '00'.repeat(19);
/** `mdcv`: G(0.265,0.69) B(0.15,0.06) R(0.68,0.32) WP(0.3127,0.329), 1000 / 0.005 cd/m². */
const MDCV = '33c286c41d4c0bb884d03e803d1340420098968000000032';
/** What the media summary reads from MDCV (and from x265's SEI of the same display): Display P3 primaries, D65, 0.005–1000 cd/m². */
export const MASTERING_DISPLAY = {
  red: { x: 0.68, y: 0.32 },
  green: { x: 0.265, y: 0.69 },
  blue: { x: 0.15, y: 0.06 },
  white_point: { x: 0.3127, y: 0.329 },
  min_luminance: 0.005,
  max_luminance: 1000,
};
/** The colour of the corpus's PQ files, in ffprobe's names. */
export const BT2020_PQ = { range: 'tv', primaries: 'bt2020', transfer: 'smpte2084', matrix: 'bt2020nc' };
/** `clli`: MaxCLL 1000, MaxFALL 400. */
const CLLI = '03e80190';
const X265_PQ = 'log-level=error:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc:range=limited';
const X265_HDR10 = `${X265_PQ}:hdr10=1:master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,50):max-cll=1000,400`;
const X264 = ['-c:v', 'libx264', '-preset', 'ultrafast'];
const X265_10BIT = ['-pix_fmt', 'yuv420p10le', '-c:v', 'libx265', '-preset', 'ultrafast'];
const lavfi = (graph: string) => ['-f', 'lavfi', '-i', graph];
const testsrc = (size: string, rate: number | string, duration: number) => lavfi(`testsrc2=size=${size}:rate=${rate}:duration=${duration}`);
const sine = (duration: number, sampleRate: number, frequency?: number) =>
  lavfi(`sine=${frequency === undefined ? '' : `f=${frequency}:`}duration=${duration}:sample_rate=${sampleRate}`);

const CHAPTERS = [
  ';FFMETADATA1',
  'title=Chapters test',
  ...['Opening', 'Interview', undefined].flatMap((title, n) => [
    '[CHAPTER]',
    'TIMEBASE=1/1000',
    `START=${n * 1000}`,
    `END=${(n + 1) * 1000}`,
    ...(title ? [`title=${title}`] : []),
  ]),
  '',
].join('\n');

/** The corpus, in the order its files are made. */
export const CORPUS: CorpusFile[] = [
  {
    file: 'hdr10-hevc.mp4',
    what: "HDR10: PQ, BT.2020, mastering display and content light level in the HEVC SEI (x265) and in the MP4's mdcv/clli boxes; moov last",
    steps: [
      { ffmpeg: [...testsrc('128x72', 24, 0.25), ...X265_10BIT, '-x265-params', X265_HDR10, '-tag:v', 'hvc1', 'hdr10-sei.mp4'] },
      { mp4Edit: { from: 'hdr10-sei.mp4', to: 'hdr10-hevc.mp4', boxes: { mdcv: MDCV, clli: CLLI } } },
    ],
  },
  {
    file: 'hdr10-hevc.mkv',
    what: 'the same stream in Matroska (ffmpeg copies the mastering metadata into the Colour element)',
    steps: [{ ffmpeg: ['-i', 'hdr10-hevc.mp4', '-c', 'copy', 'hdr10-hevc.mkv'] }],
  },
  {
    file: 'pq-no-metadata.mkv',
    what: 'PQ without any mastering metadata',
    steps: [{ ffmpeg: [...testsrc('128x72', 24, 0.25), ...X265_10BIT, '-x265-params', X265_PQ, 'pq-no-metadata.mkv'] }],
  },
  {
    file: 'hlg-hevc.mkv',
    what: 'HLG (ARIB STD-B67), BT.2020',
    steps: [
      {
        ffmpeg: [
          ...testsrc('128x72', 50, 0.2),
          ...X265_10BIT,
          '-x265-params',
          'log-level=error:colorprim=bt2020:transfer=arib-std-b67:colormatrix=bt2020nc',
          'hlg-hevc.mkv',
        ],
      },
    ],
  },
  {
    file: 'dolby-vision-p8.mp4',
    what: 'Dolby Vision profile 8.1 (HDR10-compatible base layer): the HDR10 stream with a hand-written dvvC record',
    steps: [
      { mp4Edit: { from: 'hdr10-sei.mp4', to: 'dolby-vision-p8.mp4', boxes: { mdcv: MDCV, clli: CLLI, dvvC: `0100103510${ZEROS}` } } },
    ],
  },
  {
    file: 'dolby-vision-p5.mp4',
    what: 'Dolby Vision profile 5 (no compatible base layer): a dvh1 sample entry with a hand-written dvcC record',
    steps: [
      { ffmpeg: [...testsrc('128x72', 24, 0.25), ...X265_10BIT, '-x265-params', 'log-level=error', '-tag:v', 'hvc1', 'dv5-base.mp4'] },
      { mp4Edit: { from: 'dv5-base.mp4', to: 'dolby-vision-p5.mp4', sampleEntry: 'dvh1', boxes: { dvcC: `01000a3500${ZEROS}` } } },
    ],
  },
  {
    file: 'hdr10plus-hevc.mp4',
    what: 'HDR10+ only in the bitstream: the HDR10 stream with an SMPTE 2094-40 SEI in every picture, and no mdcv/clli boxes (the container tells PQ only)',
    steps: [
      { ffmpeg: [...testsrc('128x72', 24, 0.25), ...X265_10BIT, '-x265-params', X265_HDR10, '-f', 'hevc', 'hdr10.hevc'] },
      { addDynamicHdr: { from: 'hdr10.hevc', to: 'hdr10plus.hevc', hdr10Plus: true } },
      { ffmpeg: ['-r', '24', '-i', 'hdr10plus.hevc', '-c', 'copy', '-tag:v', 'hvc1', 'hdr10plus-hevc.mp4'] },
    ],
  },
  {
    file: 'dolby-vision-rpu.mp4',
    what: 'Dolby Vision only in the bitstream: a profile 8.1 RPU after every picture of the HDR10 stream, and no configuration record',
    steps: [
      { addDynamicHdr: { from: 'hdr10.hevc', to: 'dv-rpu.hevc', dolbyVisionRpu: true } },
      { ffmpeg: ['-r', '24', '-i', 'dv-rpu.hevc', '-c', 'copy', '-tag:v', 'hvc1', 'dolby-vision-rpu.mp4'] },
    ],
  },
  {
    file: 'av1-10bit.mp4',
    what: 'AV1 Main, 10-bit, BT.709 (the layer has no AV1 decoder: profile, depth and colour come from the av1 parser and the av1C box)',
    steps: [
      {
        ffmpeg: [
          ...testsrc('128x72', 25, 0.2),
          ...['-c:v', 'libaom-av1', '-cpu-used', '8', '-crf', '40', '-pix_fmt', 'yuv420p10le'],
          ...['-color_primaries', 'bt709', '-color_trc', 'bt709', '-colorspace', 'bt709', 'av1-10bit.mp4'],
        ],
      },
    ],
  },
  {
    file: 'prores-422-10bit.mov',
    what: 'ProRes 422 (Standard), 10-bit 4:2:2',
    steps: [
      {
        ffmpeg: [
          ...testsrc('128x72', 25, 0.2),
          ...['-c:v', 'prores_ks', '-profile:v', '2', '-pix_fmt', 'yuv422p10le', '-vendor', 'apl0'],
          'prores-422-10bit.mov',
        ],
      },
    ],
  },
  {
    file: 'interlaced-tff.ts',
    what: 'interlaced MPEG-2, top field first, in MPEG-TS (one service, named)',
    steps: [
      {
        ffmpeg: [
          ...testsrc('720x576', 25, 0.2),
          ...sine(0.2, 48000),
          ...['-c:v', 'mpeg2video', '-flags', '+ilme+ildct', '-top', '1', '-b:v', '2M', '-c:a', 'mp2'],
          ...['-metadata', 'service_name=Channel One', '-metadata', 'service_provider=media-probe'],
          'interlaced-tff.ts',
        ],
      },
    ],
  },
  {
    file: 'interlaced-bff.mkv',
    what: 'interlaced MPEG-2, bottom field first, in Matroska',
    steps: [
      {
        ffmpeg: [
          ...testsrc('720x576', 25, 0.2),
          ...['-c:v', 'mpeg2video', '-flags', '+ilme+ildct', '-top', '0', '-b:v', '2M'],
          'interlaced-bff.mkv',
        ],
      },
    ],
  },
  {
    file: 'rotated.mp4',
    what: "a phone's portrait video: landscape pixels turned 90° clockwise on display, no audio; moov first (faststart)",
    steps: [
      { ffmpeg: [...testsrc('160x90', 30, 0.3), ...X264, '-movflags', '+faststart', 'landscape.mp4'] },
      { mp4Edit: { from: 'landscape.mp4', to: 'rotated.mp4', rotate: 90 } },
    ],
  },
  {
    file: 'anamorphic.mp4',
    what: 'anamorphic PAL widescreen: 720x576 with 64:45 pixels is 16:9',
    steps: [{ ffmpeg: [...testsrc('720x576', 25, 0.2), '-vf', 'setsar=64/45', ...X264, 'anamorphic.mp4'] }],
  },
  {
    file: 'timecode-df.mov',
    what: 'a MOV tmcd track starting at 01:00:00;00, 29.97 fps drop-frame',
    steps: [{ ffmpeg: [...testsrc('160x90', '30000/1001', 0.2), ...X264, '-timecode', '01:00:00;00', 'timecode-df.mov'] }],
  },
  {
    file: 'timecode.mxf',
    what: 'MXF (OP1a) with a start timecode of 10:00:00:00 in the material package, MPEG-2 4:2:2 and 24-bit PCM',
    steps: [
      {
        ffmpeg: [
          ...testsrc('720x576', 25, 0.2),
          ...sine(0.2, 48000),
          ...['-c:v', 'mpeg2video', '-pix_fmt', 'yuv422p', '-b:v', '5M', '-c:a', 'pcm_s24le', '-timecode', '10:00:00:00'],
          'timecode.mxf',
        ],
      },
    ],
  },
  {
    file: 'timecode.dv',
    what: 'DV (also anamorphic) with a start timecode of 09:59:50:00',
    steps: [
      {
        ffmpeg: [
          ...testsrc('720x576', 25, 0.12),
          ...sine(0.12, 48000),
          ...['-vf', 'setsar=64/45', '-c:v', 'dvvideo', '-pix_fmt', 'yuv420p', '-c:a', 'pcm_s16le', '-ac', '2'],
          ...['-timecode', '09:59:50:00', '-f', 'dv', 'timecode.dv'],
        ],
      },
    ],
  },
  {
    file: 'timecode.gxf',
    what: 'GXF with a start timecode of 10:00:00:00',
    steps: [
      {
        ffmpeg: [
          ...testsrc('720x576', 25, 0.2),
          ...sine(0.2, 48000),
          ...['-c:v', 'mpeg2video', '-b:v', '2M', '-c:a', 'pcm_s16le', '-timecode', '10:00:00:00'],
          'timecode.gxf',
        ],
      },
    ],
  },
  {
    file: 'surround.mkv',
    what: '5.1(side) AC-3 and 7.1 FLAC in Matroska, with mkvmerge-style statistics tags (BPS, NUMBER_OF_FRAMES, and a language-suffixed BPS-eng on the FLAC track, which has no bit rate of its own)',
    steps: [
      {
        ffmpeg: [
          ...testsrc('64x36', '24000/1001', 0.5),
          ...sine(0.5, 48000),
          ...sine(0.5, 48000),
          ...['-filter_complex', '[1]aformat=channel_layouts=5.1(side)[a51];[2]aformat=channel_layouts=7.1[a71]'],
          ...['-map', '0', '-map', '[a51]', '-map', '[a71]', ...X264, '-c:a:0', 'ac3', '-b:a:0', '448k', '-c:a:1', 'flac'],
          ...['-metadata:s:v', 'BPS=300000', '-metadata:s:v', 'NUMBER_OF_FRAMES=12', '-metadata:s:a:0', 'language=eng'],
          ...['-metadata:s:a:1', 'BPS-eng=1411200', 'surround.mkv'],
        ],
      },
    ],
  },
  {
    file: 'pcm-24bit.wav',
    what: '24-bit PCM at 96 kHz',
    steps: [{ ffmpeg: [...sine(0.2, 96000), '-c:a', 'pcm_s24le', 'pcm-24bit.wav'] }],
  },
  {
    file: 'chapters.mkv',
    what: 'three chapters (the last one untitled)',
    steps: [
      { write: 'chapters.txt', text: CHAPTERS },
      {
        ffmpeg: [
          ...testsrc('64x36', 5, 3),
          ...sine(3, 8000),
          ...['-i', 'chapters.txt', '-map', '0', '-map', '1', '-map_metadata', '2', '-map_chapters', '2'],
          ...[...X264, '-c:a', 'libopus', '-b:a', '8k', 'chapters.mkv'],
        ],
      },
    ],
  },
  {
    file: 'multilang.mkv',
    what: 'languages and dispositions: two default audio tracks, audio description, an untagged commentary; default, forced and SDH subtitles',
    steps: [
      { write: 'hello.srt', text: '1\n00:00:00,000 --> 00:00:01,000\nHello\n' },
      {
        ffmpeg: [
          ...testsrc('64x36', 5, 1),
          ...sine(1, 8000),
          ...sine(1, 8000, 220),
          ...sine(1, 8000, 330),
          ...['-i', 'hello.srt', '-i', 'hello.srt', '-i', 'hello.srt'],
          ...['-map', '0', '-map', '1', '-map', '2', '-map', '3', '-map', '4', '-map', '5', '-map', '6'],
          ...[...X264, '-c:a', 'libopus', '-b:a', '8k', '-c:s', 'srt'],
          ...['-metadata:s:a:0', 'language=eng', '-metadata:s:a:0', 'title=English 2.0'],
          ...['-metadata:s:a:1', 'language=fra', '-metadata:s:a:1', 'title=Audio description'],
          ...['-metadata:s:a:2', "title=Director's commentary"],
          ...['-metadata:s:s:0', 'language=eng', '-metadata:s:s:1', 'language=eng', '-metadata:s:s:1', 'title=Forced'],
          ...['-metadata:s:s:2', 'language=ger', '-metadata:s:s:2', 'title=SDH'],
          ...['-disposition:a:0', 'default', '-disposition:a:1', 'default+visual_impaired', '-disposition:a:2', 'comment'],
          ...['-disposition:s:0', 'default', '-disposition:s:1', 'forced', '-disposition:s:2', 'hearing_impaired'],
          'multilang.mkv',
        ],
      },
    ],
  },
  {
    file: 'cover-art.mp3',
    what: 'an MP3 with an ID3v2.3 front cover (PNG)',
    steps: [
      { ffmpeg: [...testsrc('32x32', 1, 1), '-frames:v', '1', 'cover.png'] },
      {
        ffmpeg: [
          ...sine(0.3, 44100),
          ...['-i', 'cover.png', '-map', '0', '-map', '1', '-c:a', 'libmp3lame', '-b:a', '32k', '-c:v', 'png'],
          ...['-disposition:v', 'attached_pic', '-metadata:s:v', 'title=Album cover', '-metadata:s:v', 'comment=Cover (front)'],
          ...['-id3v2_version', '3', '-metadata', 'title=Theme', '-metadata', 'artist=media-probe', 'cover-art.mp3'],
        ],
      },
    ],
  },
  {
    file: 'attachments.mkv',
    what: 'a Matroska file with an image attachment (cover art) and a font',
    steps: [
      { write: 'font.ttf', text: 'not a real font' },
      {
        ffmpeg: [
          ...testsrc('64x36', 5, 0.4),
          ...X264,
          ...['-attach', 'cover.png', '-metadata:s:t:0', 'mimetype=image/png', '-metadata:s:t:0', 'filename=cover.png'],
          ...[
            '-attach',
            'font.ttf',
            '-metadata:s:t:1',
            'mimetype=application/x-truetype-font',
            '-metadata:s:t:1',
            'filename=Subtitles.ttf',
          ],
          'attachments.mkv',
        ],
      },
    ],
  },
  {
    file: 'vfr.mp4',
    what: 'variable frame rate: 15 frames at 30 fps, then 15 at 10 fps',
    steps: [
      {
        ffmpeg: [
          ...testsrc('64x36', 30, 1),
          ...['-vf', "setpts='if(lt(N,15),N/30,0.5+(N-15)/10)/TB'", '-fps_mode', 'vfr', ...X264, 'vfr.mp4'],
        ],
      },
    ],
  },
  {
    file: 'av-offset.mp4',
    what: 'audio starting 0.5 s after the video and ending a second before it',
    steps: [
      {
        ffmpeg: [
          ...testsrc('64x36', 25, 2),
          ...['-itsoffset', '0.5', ...sine(1, 48000), '-map', '0', '-map', '1', ...X264, '-c:a', 'aac', '-b:a', '32k'],
          'av-offset.mp4',
        ],
      },
    ],
  },
  {
    file: 'captions-a53.mp4',
    what: 'closed captions as A/53 caption SEIs inside the H.264 stream',
    steps: [
      { ffmpeg: [...testsrc('64x36', '30000/1001', 0.3), ...X264, '-bsf:v', 'h264_mp4toannexb', '-f', 'h264', 'plain.h264'] },
      { addCaptions: { from: 'plain.h264', to: 'captioned.h264' } },
      { ffmpeg: ['-r', '30000/1001', '-i', 'captioned.h264', '-c', 'copy', 'captions-a53.mp4'] },
    ],
  },
  {
    file: 'captions-c608.mov',
    what: 'the same captions as a QuickTime c608 track',
    steps: [{ ffmpeg: [...lavfi('movie=captions-a53.mp4[out0+subcc]'), '-map', '0', ...X264, '-c:s', 'copy', 'captions-c608.mov'] }],
  },
];

/**
 * The corpus's HDR candidates (functions/lib/bitstream-hdr.ts), whose first frames the ffprobe step
 * reads: HEVC with PQ or HLG, and dolby-vision-p5.mp4 (10-bit, no transfer stated, a dvh1 sample
 * entry and a DOVI record). No SDR file, and not av1-10bit.mp4 (no AV1 decoder in the layer).
 */
export const HDR_CANDIDATES = [
  'dolby-vision-p5.mp4',
  'dolby-vision-p8.mp4',
  'dolby-vision-rpu.mp4',
  'hdr10-hevc.mkv',
  'hdr10-hevc.mp4',
  'hdr10plus-hevc.mp4',
  'hlg-hevc.mkv',
  'pq-no-metadata.mkv',
];

/**
 * Files whose first frames the ffprobe step reads (functions/lib/bitstream-hdr.ts): their frame
 * documents go to `frames-<version>/`, from the second run's arguments (`buildFrameSideDataArgs`)
 * for stream 0, their only video stream, over loopback HTTP (without confine, which the unit tests
 * do not need).
 */
export const FRAME_FIXTURES = ['hdr10-hevc.mp4', 'hdr10plus-hevc.mp4', 'dolby-vision-rpu.mp4'];

/** ffmpeg's fixed arguments: no stdin, errors only, overwrite. */
export const FFMPEG_ARGS = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y'];
/** The sections the pipeline asks ffprobe for (functions/lib/ffprobe-command.ts), as JSON. */
export const PROBE_ARGS = ['-hide_banner', '-loglevel', 'error', '-show_streams', '-show_format', '-show_chapters', '-show_programs'];

async function runStep(step: Step, dir: string): Promise<void> {
  const at = (name: string) => path.join(dir, name);
  if ('ffmpeg' in step) {
    await run('ffmpeg', [...FFMPEG_ARGS, ...step.ffmpeg], { cwd: dir });
  } else if ('write' in step) {
    writeFileSync(at(step.write), step.text);
  } else if ('mp4Edit' in step) {
    const { from, to, boxes = {}, sampleEntry, rotate } = step.mp4Edit;
    const added = Object.entries(boxes).map(([type, hex]) => box(type, Buffer.from(hex, 'hex')));
    let file = addToVideoSampleEntry(readFileSync(at(from)), added, sampleEntry);
    if (rotate !== undefined) file = rotateVideoTrack(file, String(rotate));
    writeFileSync(at(to), file);
  } else if ('addCaptions' in step) {
    writeFileSync(at(step.addCaptions.to), addCaptions(readFileSync(at(step.addCaptions.from))));
  } else {
    const { from, to, ...add } = step.addDynamicHdr;
    writeFileSync(at(to), addDynamicHdr(readFileSync(at(from)), add));
  }
}

/** Makes every file of `files` (by default the whole corpus) in `dir`, in order; returns their paths. */
export async function generateCorpus(dir: string, files: CorpusFile[] = CORPUS): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  for (const entry of files) {
    for (const step of entry.steps) {
      try {
        await runStep(step, dir);
      } catch (error) {
        throw new Error(`making ${entry.file}: ${(error as Error).message}`);
      }
    }
  }
  return files.map((entry) => path.join(dir, entry.file));
}

/** `major.minor` of an ffprobe binary, from its banner ("ffprobe version 5.1.9-0+deb12u1 …" → "5.1"). */
export async function ffprobeVersion(ffprobe: string): Promise<string> {
  const { stdout } = await run(ffprobe, ['-hide_banner', '-version']);
  const version = /^ffprobe version n?(\d+\.\d+)/.exec(stdout)?.[1];
  if (!version) throw new Error(`${ffprobe} does not say which version it is: ${stdout.split('\n')[0]}`);
  return version;
}

/** Whether the binary reads local files: the layer's ffprobe has no `file` protocol, only http(s). */
async function readsFiles(ffprobe: string): Promise<boolean> {
  const { stdout } = await run(ffprobe, ['-hide_banner', '-protocols']);
  const input = stdout.split(/^Output:$/m)[0];
  return /^\s*file$/m.test(input);
}

/**
 * Probes each corpus file with `ffprobe` and writes its JSON, pretty-printed as ffprobe prints it,
 * to `<fixtures>/ffprobe-<major.minor>/<file>.json`. A binary without the `file` protocol (the
 * layer's) reads each file over loopback HTTP with Range support, as it reads a presigned URL; its
 * `format.filename` (the URL, with a port that changes every run) is then written as the local file
 * name, which is what a binary that reads files prints. Returns the folder written.
 */
export async function writeFixtures(
  corpusDir: string,
  ffprobe: string,
  fixturesDir: string,
  files: CorpusFile[] = CORPUS,
): Promise<string> {
  // The commands run in the corpus directory: a relative path to the binary would be looked up there.
  const binary = ffprobe.includes('/') ? path.resolve(ffprobe) : ffprobe;
  const version = await ffprobeVersion(binary);
  const out = path.join(fixturesDir, `ffprobe-${version}`);
  const framesOut = path.join(fixturesDir, `frames-${version}`);
  mkdirSync(out, { recursive: true });
  mkdirSync(framesOut, { recursive: true });
  const server = await serveDirectory(path.resolve(corpusDir));
  const viaHttp = !(await readsFiles(binary));
  try {
    for (const { file } of files) {
      const input = viaHttp ? server.url(file) : file;
      const { stdout } = await run(binary, [...PROBE_ARGS, '-print_format', 'json', input], { cwd: corpusDir, maxBuffer: 64 << 20 });
      const document = viaHttp ? stdout.replace(`"filename": ${JSON.stringify(input)}`, `"filename": ${JSON.stringify(file)}`) : stdout;
      writeFileSync(path.join(out, `${file}.json`), document);
    }
    for (const file of FRAME_FIXTURES.filter((name) => files.some((entry) => entry.file === name))) {
      const { stdout } = await run(binary, buildFrameSideDataArgs(server.url(file), 0, FRAME_PROBE_PACKETS), { cwd: corpusDir });
      writeFileSync(path.join(framesOut, `${file}.json`), stdout);
    }
  } finally {
    await server.close();
  }
  return out;
}

async function main(argv: string[]): Promise<void> {
  const usage = 'usage: corpus.ts OUTDIR [--probe FFPROBE --fixtures DIR]';
  const config = { args: argv, options: { probe: { type: 'string' }, fixtures: { type: 'string' } }, allowPositionals: true } as const;
  let parsed: ReturnType<typeof parseArgs<typeof config>>;
  try {
    parsed = parseArgs(config);
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    process.exit(2);
  }
  const { values: options, positionals } = parsed;
  const [outDir] = positionals;
  if (positionals.length !== 1 || (options.probe === undefined) !== (options.fixtures === undefined)) {
    console.error(usage);
    process.exit(2);
  }
  const made = await generateCorpus(outDir);
  console.log(`${made.length} files in ${outDir}`);
  if (options.probe !== undefined && options.fixtures !== undefined) {
    const folder = await writeFixtures(outDir, options.probe, options.fixtures);
    console.log(`${made.length} documents in ${folder}`);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
  });
}
