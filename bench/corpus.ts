/**
 * The benchmark corpus, generated deterministically with Debian's ffmpeg (bit-exact flags, one
 * encoder thread, synthetic sources): short base encodes, stretched to the target durations by
 * stream copy, so even the files over 1 GB are written in seconds and are valid, fully indexed
 * media. The sparse WAV declares its whole data chunk in the header and leaves the samples as a
 * hole (silence), which is a valid PCM file of that size.
 */
import { execFile } from 'node:child_process';
import { open, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CorpusFile {
  /** Object key and file name. */
  key: string;
  /** Chart and table grouping: container plus, for MP4/MOV, where the index sits. */
  family: string;
  /** How the file was made, for the report. */
  recipe: string;
  /** Only in the full corpus (the files over 1 GB and the medium sizes). */
  fullOnly: boolean;
}

export interface GeneratedFile extends CorpusFile {
  path: string;
  size: number;
  /** For MP4/MOV: size and position of the `moov` box, which ffprobe must read whole. */
  index?: { box: 'moov'; bytes: number; position: 'first' | 'last' };
}

const FFMPEG = 'ffmpeg';
/** No encoder or muxer version strings, timestamps or random ids in the output. */
const BITEXACT = ['-fflags', '+bitexact', '-flags:v', '+bitexact', '-flags:a', '+bitexact', '-map_metadata', '-1'];
const VIDEO_SOURCE = ['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'];
const BASE_SECONDS = 10;

/** Base encodes the corpus is cut from: H.264/AAC (MKV), HEVC 10-bit PQ/AAC (MKV), MPEG-4 Part 2/MP3 (AVI), MP3 audio. */
// biome-ignore format: ffmpeg's options stay grouped by stream, each with its value
const BASES: Record<string, string[]> = {
  'base-h264-aac.mkv': [
    ...VIDEO_SOURCE, '-t', String(BASE_SECONDS), '-map', '0:v', '-map', '1:a',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '16', '-g', '50', '-threads', '1',
    '-c:a', 'aac', '-b:a', '128k', '-ac', '2',
  ],
  'base-mpeg4-mp3.avi': [
    ...VIDEO_SOURCE, '-t', String(BASE_SECONDS), '-map', '0:v', '-map', '1:a',
    '-c:v', 'mpeg4', '-q:v', '4', '-g', '50', '-threads', '1',
    '-c:a', 'libmp3lame', '-b:a', '192k', '-ac', '2',
  ],
  // HDR10 HEVC: the step reads its first frames in a second run, so the corpus shows what that costs.
  'base-hevc-pq.mkv': [
    ...VIDEO_SOURCE, '-t', String(BASE_SECONDS), '-map', '0:v', '-map', '1:a',
    '-c:v', 'libx265', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p10le',
    '-x265-params', 'log-level=error:pools=1:frame-threads=1:keyint=50:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc:master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,50):max-cll=1000,400',
    '-c:a', 'aac', '-b:a', '128k', '-ac', '2',
  ],
  'base-audio.mp3': ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-t', '60', '-c:a', 'libmp3lame', '-b:a', '320k', '-ac', '2'],
};

interface Recipe extends CorpusFile {
  make(out: string, base: (name: string) => string): Promise<void>;
}

/** Repeats a base encode by stream copy up to `seconds`: fast, and the result is indexed like a real long file. */
function looped(baseName: string, seconds: number, extra: string[] = []) {
  return async (out: string, base: (name: string) => string) => {
    await ffmpeg(['-stream_loop', '-1', '-i', base(baseName), '-t', String(seconds), '-map', '0', '-c', 'copy', ...extra, out]);
  };
}

/** Renders PCM with ffmpeg (real samples, for the WAV sizes a short run can write quickly). */
function pcmWav(seconds: number) {
  return async (out: string) => {
    await ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:sample_rate=48000',
      '-t',
      String(seconds),
      '-ac',
      '2',
      '-c:a',
      'pcm_s16le',
      out,
    ]);
  };
}

/** A canonical 44-byte WAV header (PCM, 48 kHz, stereo, 16 bit) declaring `dataBytes`, the data left sparse. */
export function wavHeader(dataBytes: number): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(2, 22); // channels
  header.writeUInt32LE(48_000, 24);
  header.writeUInt32LE(48_000 * 4, 28); // byte rate
  header.writeUInt16LE(4, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(dataBytes, 40);
  return header;
}

function sparseWav(seconds: number) {
  return async (out: string) => {
    const dataBytes = seconds * 48_000 * 4;
    const handle = await open(out, 'w');
    try {
      await handle.write(wavHeader(dataBytes), 0, 44, 0);
      await handle.truncate(44 + dataBytes);
    } finally {
      await handle.close();
    }
  };
}

const RECIPES: Recipe[] = [
  {
    key: 'mp4-faststart-10s.mp4',
    family: 'MP4 (index first)',
    recipe: `H.264/AAC 720p, ${BASE_SECONDS} s, -movflags +faststart`,
    fullOnly: false,
    make: looped('base-h264-aac.mkv', 10, ['-movflags', '+faststart']),
  },
  {
    key: 'mp4-faststart-60s.mp4',
    family: 'MP4 (index first)',
    recipe: 'H.264/AAC 720p, 60 s, -movflags +faststart',
    fullOnly: true,
    make: looped('base-h264-aac.mkv', 60, ['-movflags', '+faststart']),
  },
  {
    key: 'mp4-moov-last-10s.mp4',
    family: 'MP4 (index last)',
    recipe: `H.264/AAC 720p, ${BASE_SECONDS} s, moov after mdat`,
    fullOnly: false,
    make: looped('base-h264-aac.mkv', 10),
  },
  {
    key: 'mp4-moov-last-60s.mp4',
    family: 'MP4 (index last)',
    recipe: 'H.264/AAC 720p, 60 s, moov after mdat',
    fullOnly: true,
    make: looped('base-h264-aac.mkv', 60),
  },
  {
    key: 'mp4-moov-last-1000s.mp4',
    family: 'MP4 (index last)',
    recipe: 'H.264/AAC 720p, 1000 s, moov after mdat (streamed by stream copy)',
    fullOnly: true,
    make: looped('base-h264-aac.mkv', 1000),
  },
  {
    key: 'mov-moov-last-60s.mov',
    family: 'MOV',
    recipe: 'H.264/AAC 720p, 60 s, QuickTime, moov after mdat',
    fullOnly: true,
    make: looped('base-h264-aac.mkv', 60),
  },
  {
    key: 'mp4-hevc-pq-moov-last-10s.mp4',
    family: 'MP4 HEVC PQ (index last)',
    recipe: `HEVC 10-bit PQ (HDR10 SEIs)/AAC 720p, ${BASE_SECONDS} s, moov after mdat: an HDR candidate, probed twice`,
    fullOnly: false,
    make: looped('base-hevc-pq.mkv', 10, ['-tag:v', 'hvc1']),
  },
  {
    key: 'mp4-hevc-pq-moov-last-60s.mp4',
    family: 'MP4 HEVC PQ (index last)',
    recipe: 'HEVC 10-bit PQ (HDR10 SEIs)/AAC 720p, 60 s, moov after mdat: an HDR candidate, probed twice',
    fullOnly: true,
    make: looped('base-hevc-pq.mkv', 60, ['-tag:v', 'hvc1']),
  },
  {
    key: 'mkv-10s.mkv',
    family: 'MKV',
    recipe: `H.264/AAC 720p, ${BASE_SECONDS} s`,
    fullOnly: false,
    make: looped('base-h264-aac.mkv', 10),
  },
  { key: 'mkv-60s.mkv', family: 'MKV', recipe: 'H.264/AAC 720p, 60 s', fullOnly: true, make: looped('base-h264-aac.mkv', 60) },
  {
    key: 'mkv-1000s.mkv',
    family: 'MKV',
    recipe: 'H.264/AAC 720p, 1000 s (streamed by stream copy)',
    fullOnly: true,
    make: looped('base-h264-aac.mkv', 1000),
  },
  {
    key: 'mpegts-10s.ts',
    family: 'MPEG-TS',
    recipe: `H.264/AAC 720p, ${BASE_SECONDS} s`,
    fullOnly: false,
    make: looped('base-h264-aac.mkv', 10),
  },
  { key: 'mpegts-60s.ts', family: 'MPEG-TS', recipe: 'H.264/AAC 720p, 60 s', fullOnly: true, make: looped('base-h264-aac.mkv', 60) },
  { key: 'avi-60s.avi', family: 'AVI', recipe: 'MPEG-4 Part 2/MP3 720p, 60 s', fullOnly: true, make: looped('base-mpeg4-mp3.avi', 60) },
  { key: 'wav-60s.wav', family: 'WAV', recipe: 'PCM s16le 48 kHz stereo, 60 s', fullOnly: false, make: pcmWav(60) },
  { key: 'wav-600s.wav', family: 'WAV', recipe: 'PCM s16le 48 kHz stereo, 600 s', fullOnly: true, make: pcmWav(600) },
  {
    key: 'wav-6400s-sparse.wav',
    family: 'WAV',
    recipe: 'PCM s16le 48 kHz stereo, 6400 s of silence, written sparsely',
    fullOnly: true,
    make: sparseWav(6400),
  },
  { key: 'mp3-60s.mp3', family: 'MP3', recipe: 'MP3 320 kb/s stereo, 60 s', fullOnly: false, make: looped('base-audio.mp3', 60) },
  { key: 'mp3-1080s.mp3', family: 'MP3', recipe: 'MP3 320 kb/s stereo, 1080 s', fullOnly: true, make: looped('base-audio.mp3', 1080) },
];

async function ffmpeg(args: string[]): Promise<void> {
  await run(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args.slice(0, -1), ...BITEXACT, args.at(-1)!], {
    maxBuffer: 1 << 20,
  });
}

/** Finds the top-level `moov` box of an MP4/MOV and whether it precedes the media data. */
export async function locateMoov(file: string): Promise<GeneratedFile['index']> {
  const handle = await open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    const header = Buffer.alloc(16);
    let offset = 0;
    let sawMdat = false;
    while (offset + 8 <= size) {
      await handle.read(header, 0, 16, offset);
      let boxSize = header.readUInt32BE(0);
      const type = header.toString('latin1', 4, 8);
      if (boxSize === 1) boxSize = Number(header.readBigUInt64BE(8));
      else if (boxSize === 0) boxSize = size - offset;
      if (boxSize < 8) return undefined;
      if (type === 'moov') return { box: 'moov', bytes: boxSize, position: sawMdat ? 'last' : 'first' };
      if (type === 'mdat') sawMdat = true;
      offset += boxSize;
    }
    return undefined;
  } finally {
    await handle.close();
  }
}

/**
 * Writes the corpus into `dir` and hands each file to `consume` as soon as it exists (the caller
 * uploads it and may delete it, so the files over 1 GB never sit on disk together).
 */
export async function generateCorpus(dir: string, quick: boolean, consume: (file: GeneratedFile) => Promise<void>): Promise<void> {
  const wanted = RECIPES.filter((r) => !quick || !r.fullOnly);
  const basePath = (name: string) => path.join(dir, name);
  for (const [name, args] of Object.entries(BASES)) await ffmpeg([...args, basePath(name)]);
  for (const recipe of wanted) {
    const out = path.join(dir, recipe.key);
    await recipe.make(out, basePath);
    const { key, family, recipe: how, fullOnly } = recipe;
    const file: GeneratedFile = { key, family, recipe: how, fullOnly, path: out, size: (await stat(out)).size };
    if (/\.(mp4|mov)$/.test(key)) file.index = await locateMoov(out);
    await consume(file);
  }
  for (const name of Object.keys(BASES)) await rm(basePath(name), { force: true });
}

/** Debian's ffmpeg version line, for the report. */
export async function ffmpegVersion(): Promise<string> {
  const { stdout } = await run(FFMPEG, ['-hide_banner', '-version']);
  return stdout.split('\n')[0]?.trim() ?? 'unknown';
}
