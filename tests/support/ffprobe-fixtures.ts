/**
 * `npx tsx tests/support/ffprobe-fixtures.ts`: makes a small media corpus with Debian's ffmpeg (and
 * mkvmerge where ffmpeg 5.1 can't write the property), probes each file with the layer's ffprobe 7.1
 * over loopback HTTP (the layer has no file protocol), and writes ffprobe's JSON and a README with
 * every command line into tests/unit/fixtures/ffprobe-7.1/. The media are not kept: only the JSON is
 * a fixture, for the unit tests of the media summary.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { hostFfprobe } from '../../local/ffprobe-binary';
import { serveDirectory } from '../layer/support/http';

const run = promisify(execFile);
const REPOSITORY_ROOT = path.resolve(__dirname, '..', '..');
const OUT_DIR = path.join(REPOSITORY_ROOT, 'tests', 'unit', 'fixtures', 'ffprobe-7.1');
/** What the README and the fixtures show as the server's origin: the port differs on every run. */
const ORIGIN = 'http://127.0.0.1:8080';
const PROBE = ['-hide_banner', '-loglevel', 'error', '-show_streams', '-show_format', '-show_chapters', '-show_programs'];
const PROBE_FORMAT = ['-print_format', 'json'];

/** Bitexact, single-threaded, no encoder strings: the same Debian packages make the same bytes. */
const FFMPEG = ['ffmpeg', '-nostdin', '-hide_banner', '-loglevel', 'error', '-y', '-threads', '1'];
const BITEXACT = ['-fflags', '+bitexact', '-flags:v', '+bitexact', '-flags:a', '+bitexact'];
const video = (size: string, rate: number, seconds: number) => [
  '-f',
  'lavfi',
  '-i',
  `testsrc2=size=${size}:rate=${rate}:duration=${seconds}`,
];
const tone = (layout: string, seconds: number, rate = 48000) => [
  '-f',
  'lavfi',
  '-i',
  `aevalsrc=sin(440*2*PI*t):channel_layout=${layout}:sample_rate=${rate}:duration=${seconds}`,
];
const X264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];
const X265_10BIT = ['-c:v', 'libx265', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p10le'];

/** Text inputs the commands read, written beside the media; the README shows them too. */
const INPUTS: Record<string, string> = {
  'chapters.ffmeta': [
    ';FFMETADATA1',
    'title=Chapters test',
    '[CHAPTER]',
    'TIMEBASE=1/1000',
    'START=0',
    'END=1000',
    'title=Opening',
    '[CHAPTER]',
    'TIMEBASE=1/1000',
    'START=1000',
    'END=2000',
    'title=Middle',
    '[CHAPTER]',
    'TIMEBASE=1/1000',
    'START=2000',
    'END=3000',
    'title=End credits',
    '',
  ].join('\n'),
  'subtitles-eng.srt': '1\n00:00:00,000 --> 00:00:01,000\nHello.\n\n2\n00:00:01,000 --> 00:00:02,000\nGoodbye.\n',
  'subtitles-fra.srt': '1\n00:00:00,500 --> 00:00:01,500\n[Panneau : SORTIE]\n',
};

interface Fixture {
  /** The file probed; its JSON is `<file>.json`. */
  file: string;
  what: string;
  /** Command lines run in order in the work directory; the last one writes `file`. */
  commands: string[][];
}

const FIXTURES: Fixture[] = [
  {
    file: 'hevc-10bit-pq-hdr10.mkv',
    what: "HEVC Main 10, PQ (SMPTE ST 2084), BT.2020, with mastering display and content light level both in the bitstream (x265 SEI) and in Matroska's Colour element (mkvmerge: Debian's ffmpeg 5.1 only copies them from an input that has them)",
    commands: [
      // biome-ignore format: an option stays on one line with its value
      [...FFMPEG, ...video('320x180', 24, 1), ...X265_10BIT,
        '-x265-params', 'log-level=error:hdr10=1:repeat-headers=1:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc:master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,50):max-cll=1000,400',
        '-color_primaries', 'bt2020', '-color_trc', 'smpte2084', '-colorspace', 'bt2020nc', '-color_range', 'tv',
        ...BITEXACT, 'hevc-pq-x265.mkv'],
      // biome-ignore format: an option stays on one line with its value
      ['mkvmerge', '--quiet', '--no-date', '--disable-track-statistics-tags', '-o', 'hevc-10bit-pq-hdr10.mkv',
        '--max-content-light', '0:1000', '--max-frame-light', '0:400',
        '--chromaticity-coordinates', '0:0.68,0.32,0.265,0.69,0.15,0.06', '--white-colour-coordinates', '0:0.3127,0.329',
        '--max-luminance', '0:1000', '--min-luminance', '0:0.005', 'hevc-pq-x265.mkv'],
    ],
  },
  {
    file: 'hevc-10bit-pq-hdr10.mp4',
    what: 'the same stream copied into MP4 by ffmpeg, which writes the mastering display and content light level as `mdcv` and `clli` boxes',
    commands: [[...FFMPEG, '-i', 'hevc-10bit-pq-hdr10.mkv', '-c', 'copy', '-tag:v', 'hvc1', ...BITEXACT, 'hevc-10bit-pq-hdr10.mp4']],
  },
  {
    file: 'hevc-10bit-hlg.mp4',
    what: 'HEVC Main 10, HLG (ARIB STD-B67), BT.2020',
    commands: [
      // biome-ignore format: an option stays on one line with its value
      [...FFMPEG, ...video('320x180', 25, 1), ...X265_10BIT,
        '-x265-params', 'log-level=error:colorprim=bt2020:transfer=arib-std-b67:colormatrix=bt2020nc',
        '-color_primaries', 'bt2020', '-color_trc', 'arib-std-b67', '-colorspace', 'bt2020nc', '-color_range', 'tv',
        '-tag:v', 'hvc1', ...BITEXACT, 'hevc-10bit-hlg.mp4'],
    ],
  },
  {
    file: 'prores-422-10bit.mov',
    what: 'ProRes 422 (profile 2), 4:2:2 10-bit, with 24-bit PCM audio',
    commands: [
      // biome-ignore format: an option stays on one line with its value
      [...FFMPEG, ...video('320x180', 25, 1), ...tone('stereo', 1),
        '-c:v', 'prores_ks', '-profile:v', '2', '-pix_fmt', 'yuv422p10le', '-c:a', 'pcm_s24le',
        ...BITEXACT, 'prores-422-10bit.mov'],
    ],
  },
  {
    file: 'h264-interlaced-tff.ts',
    what: 'H.264 coded interlaced, top field first, 720x576 at 25 frames/s, in MPEG-TS (one program) with MP2 audio',
    commands: [
      // biome-ignore format: an option stays on one line with its value
      [...FFMPEG, ...video('720x576', 25, 1), ...tone('stereo', 1), ...X264,
        '-x264-params', 'interlaced=1:tff=1', '-c:a', 'mp2', ...BITEXACT, 'h264-interlaced-tff.ts'],
    ],
  },
  {
    file: 'h264-rotated-90.mp4',
    what: 'H.264 whose track header carries a display matrix rotating it by 90 degrees (ffmpeg 5.1 sets one only when copying a stream)',
    commands: [
      [...FFMPEG, ...video('320x180', 25, 1), ...X264, ...BITEXACT, 'h264-upright.mp4'],
      [...FFMPEG, '-i', 'h264-upright.mp4', '-c', 'copy', '-metadata:s:v:0', 'rotate=90', ...BITEXACT, 'h264-rotated-90.mp4'],
    ],
  },
  {
    file: 'h264-anamorphic.mp4',
    what: 'H.264 720x576 stored with a 64:45 sample aspect ratio (16:9 display)',
    commands: [[...FFMPEG, ...video('720x576', 25, 1), ...X264, '-aspect', '16:9', ...BITEXACT, 'h264-anamorphic.mp4']],
  },
  {
    file: 'h264-timecode.mov',
    what: 'H.264 and AAC in QuickTime, with a timecode track starting at 10:00:00:00',
    commands: [
      // biome-ignore format: an option stays on one line with its value
      [...FFMPEG, ...video('320x180', 25, 1), ...tone('stereo', 1), ...X264, '-c:a', 'aac',
        '-timecode', '10:00:00:00', ...BITEXACT, 'h264-timecode.mov'],
    ],
  },
  {
    file: 'aac-5.1.m4a',
    what: 'AAC-LC, 5.1',
    commands: [[...FFMPEG, ...tone('5.1', 1), '-c:a', 'aac', ...BITEXACT, 'aac-5.1.m4a']],
  },
  {
    file: 'aac-7.1.m4a',
    what: "AAC-LC, 7.1 (Debian's AC-3 and E-AC-3 encoders stop at 5.1)",
    commands: [[...FFMPEG, ...tone('7.1', 1), '-c:a', 'aac', ...BITEXACT, 'aac-7.1.m4a']],
  },
  {
    file: 'ac3-5.1.ac3',
    what: 'AC-3, 5.1, raw',
    commands: [[...FFMPEG, ...tone('5.1', 1), '-c:a', 'ac3', ...BITEXACT, 'ac3-5.1.ac3']],
  },
  {
    file: 'pcm-s24le.wav',
    what: '24-bit PCM WAV, stereo, 48 kHz',
    commands: [[...FFMPEG, ...tone('stereo', 1), '-c:a', 'pcm_s24le', ...BITEXACT, 'pcm-s24le.wav']],
  },
  {
    file: 'chapters.mkv',
    what: 'H.264 and AAC in Matroska with three titled chapters from `chapters.ffmeta`',
    commands: [
      // biome-ignore format: an option stays on one line with its value
      [...FFMPEG, ...video('320x180', 25, 3), ...tone('stereo', 3), '-i', 'chapters.ffmeta',
        '-map', '0:v', '-map', '1:a', '-map_metadata', '2', '-map_chapters', '2', ...X264, '-c:a', 'aac', ...BITEXACT, 'chapters.mkv'],
    ],
  },
  {
    file: 'chapters.mp4',
    what: 'the same in MP4 (chapters as a QuickTime chapter track and Nero `chpl`)',
    commands: [
      // biome-ignore format: an option stays on one line with its value
      [...FFMPEG, ...video('320x180', 25, 3), ...tone('stereo', 3), '-i', 'chapters.ffmeta',
        '-map', '0:v', '-map', '1:a', '-map_metadata', '2', '-map_chapters', '2', ...X264, '-c:a', 'aac', ...BITEXACT, 'chapters.mp4'],
    ],
  },
  {
    file: 'multi-language.mkv',
    what: 'one video, English (default) and German audio, English (default) and French (forced) subtitles, each titled',
    commands: [
      // biome-ignore format: an option stays on one line with its value
      [...FFMPEG, ...video('320x180', 25, 2), ...tone('stereo', 2), ...tone('mono', 2), '-i', 'subtitles-eng.srt', '-i', 'subtitles-fra.srt',
        '-map', '0:v', '-map', '1:a', '-map', '2:a', '-map', '3:s', '-map', '4:s', ...X264, '-c:a', 'aac', '-c:s', 'srt',
        '-metadata:s:a:0', 'language=eng', '-metadata:s:a:0', 'title=English stereo',
        '-metadata:s:a:1', 'language=ger', '-metadata:s:a:1', 'title=Deutsch',
        '-metadata:s:s:0', 'language=eng', '-metadata:s:s:0', 'title=English',
        '-metadata:s:s:1', 'language=fre', '-metadata:s:s:1', 'title=Français (signs)',
        '-disposition:a:0', 'default', '-disposition:a:1', '0', '-disposition:s:0', 'default', '-disposition:s:1', 'forced',
        ...BITEXACT, 'multi-language.mkv'],
    ],
  },
  {
    file: 'mp3-cover-art.mp3',
    what: 'MP3 with ID3v2.3 tags and a PNG front cover (attached picture)',
    commands: [
      [...FFMPEG, '-f', 'lavfi', '-i', 'testsrc2=size=300x300', '-frames:v', '1', ...BITEXACT, 'cover.png'],
      // biome-ignore format: an option stays on one line with its value
      [...FFMPEG, ...tone('stereo', 2, 44100), '-i', 'cover.png', '-map', '0:a', '-map', '1:v', '-c:a', 'libmp3lame', '-b:a', '128k', '-c:v', 'copy',
        '-disposition:v', 'attached_pic', '-metadata:s:v', 'title=Album cover', '-metadata:s:v', 'comment=Cover (front)',
        '-metadata', 'title=Sine', '-metadata', 'artist=media-probe', '-metadata', 'album=Fixtures', '-metadata', 'track=1/1',
        '-id3v2_version', '3', ...BITEXACT, 'mp3-cover-art.mp3'],
    ],
  },
  {
    file: 'av1-10bit.mp4',
    what: 'AV1 Main, 10-bit, BT.709 (profile, bit depth and colour come from the av1 parser and the `av1C` box: the layer has no AV1 software decoder)',
    commands: [
      // biome-ignore format: an option stays on one line with its value
      [...FFMPEG, ...video('320x180', 25, 1), '-c:v', 'libaom-av1', '-cpu-used', '8', '-crf', '40', '-pix_fmt', 'yuv420p10le',
        '-color_primaries', 'bt709', '-color_trc', 'bt709', '-colorspace', 'bt709', ...BITEXACT, 'av1-10bit.mp4'],
    ],
  },
];

/** Quotes an argument for a POSIX shell only where it needs it, so the README's lines can be pasted. */
const shellQuote = (arg: string): string => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);
const commandLine = (command: string[]): string => command.map(shellQuote).join(' ');

function toolVersion(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8' }).split('\n')[0].trim();
}

/** The installed version of a Debian package, as the README names the tools. */
function debianVersion(name: string): string {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: ${Version} is dpkg-query's field syntax, not a template
  return execFileSync('dpkg-query', ['-W', '-f=${Version}', name], { encoding: 'utf8' }).trim();
}

function readme(ffprobeVersion: string): string {
  const lines = [
    '# ffprobe 7.1 fixtures',
    '',
    "ffprobe JSON for a small corpus, for the unit tests of the media summary. Each `<file>.json` is what the layer's",
    `ffprobe ${ffprobeVersion} (the host build of \`layers/ffprobe\`) printed for \`<file>\` with`,
    '',
    '```sh',
    commandLine(['ffprobe', ...PROBE, ...PROBE_FORMAT, `${ORIGIN}/<file>`]),
    '```',
    '',
    'The layer has no `file` protocol, so each file was served over loopback HTTP with Range support',
    '(`tests/layer/support/http.ts`, as S3 serves a presigned GET). Nothing ffprobe printed is removed; the one change is',
    `the server's port in \`format.filename\`, written as \`${ORIGIN}\` so regenerating gives the same text.`,
    'The media themselves are not kept.',
    '',
    'Regenerate with `npx tsx tests/support/ffprobe-fixtures.ts` (it writes this README too). The media were made on Debian',
    `bookworm with its \`ffmpeg\` ${debianVersion('ffmpeg')} and \`mkvtoolnix\` ${debianVersion('mkvtoolnix')} (for \`mkvmerge\`), in an empty`,
    'directory holding the text inputs below, by running the commands of each file in order.',
    '',
    '## Text inputs',
    '',
  ];
  for (const [name, text] of Object.entries(INPUTS)) lines.push(`\`${name}\`:`, '', '```', text.trimEnd(), '```', '');
  lines.push('## Files', '');
  for (const f of FIXTURES) {
    lines.push(`### \`${f.file}\``, '', `${f.what[0].toUpperCase()}${f.what.slice(1)}.`, '', '```sh');
    for (const c of f.commands) lines.push(commandLine(c));
    lines.push('```', '');
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const ffprobe = hostFfprobe(REPOSITORY_ROOT);
  const banner = toolVersion(ffprobe, ['-hide_banner', '-version']);
  const version = /^ffprobe version (7\.1\.\S+)/.exec(banner)?.[1];
  if (!version) throw new Error(`${ffprobe} is '${banner}', not the layer's ffprobe 7.1`);
  const work = mkdtempSync(path.join(os.tmpdir(), 'ffprobe-fixtures-'));
  const server = await serveDirectory(work);
  try {
    mkdirSync(OUT_DIR, { recursive: true });
    for (const [name, text] of Object.entries(INPUTS)) writeFileSync(path.join(work, name), text);
    for (const old of readdirSync(OUT_DIR, { withFileTypes: true }).filter((e) => e.name.endsWith('.json'))) {
      unlinkSync(path.join(OUT_DIR, old.name));
    }
    for (const f of FIXTURES) {
      for (const [program, ...args] of f.commands) execFileSync(program, args, { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] });
      // Asynchronously: the server answering ffprobe runs in this process.
      const { stdout: json } = await run(ffprobe, [...PROBE, ...PROBE_FORMAT, server.url(f.file)], {
        encoding: 'utf8',
        env: { LC_ALL: 'C' },
      });
      const origin = server.url('').replace(/\/$/, '');
      writeFileSync(path.join(OUT_DIR, `${f.file}.json`), json.split(origin).join(ORIGIN));
      process.stderr.write(`${f.file}.json\n`);
    }
    writeFileSync(path.join(OUT_DIR, 'README.md'), readme(version));
  } finally {
    await server.close();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
