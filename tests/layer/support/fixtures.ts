/** The media matrix the layer must probe: small, deterministic files encoded by Debian's ffmpeg from synthetic sources. */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

export interface Fixture {
  file: string;
  /** Substring of ffprobe's format_name (e.g. "mp4" in "mov,mp4,m4a,3gp,3g2,mj2"). */
  format: string;
  video?: string;
  audio?: string;
  args: string[];
}

const VIDEO = ['-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25:duration=1'];
const NOISE = ['-f', 'lavfi', '-i', 'nullsrc=size=160x120:rate=25:duration=1,geq=lum=random(1)*255:cb=128:cr=128'];
const AUDIO = ['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1:sample_rate=48000'];
export const VIDEO_SIZE = { width: 160, height: 120 };

export const FIXTURES: Fixture[] = [
  {
    file: 'faststart.mp4',
    format: 'mp4',
    video: 'h264',
    audio: 'aac',
    args: [...VIDEO, ...AUDIO, '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-movflags', '+faststart'],
  },
  // moov after mdat: the demuxer has to skip the mdat, i.e. issue a second, ranged request. Lossless
  // seeded noise makes the mdat (~1 MB) far larger than what the first request's buffer covers.
  {
    file: 'moov-last.mp4',
    format: 'mp4',
    video: 'h264',
    audio: 'aac',
    args: [...NOISE, ...AUDIO, '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p', '-c:a', 'aac'],
  },
  {
    file: 'prores.mov',
    format: 'mov',
    video: 'prores',
    audio: 'pcm_s16le',
    args: [...VIDEO, ...AUDIO, '-c:v', 'prores_ks', '-profile:v', '0', '-c:a', 'pcm_s16le'],
  },
  {
    file: 'hevc.mkv',
    format: 'matroska',
    video: 'hevc',
    audio: 'ac3',
    args: [...VIDEO, ...AUDIO, '-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error', '-c:a', 'ac3'],
  },
  {
    file: 'vp9.webm',
    format: 'webm',
    video: 'vp9',
    audio: 'opus',
    args: [...VIDEO, ...AUDIO, '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-c:a', 'libopus'],
  },
  // AV1 without a software decoder in the layer: the stream's parameters come from the av1 parser and
  // the av1C box, and the hardware-only av1 decoder must stay silent.
  {
    file: 'av1.mp4',
    format: 'mp4',
    video: 'av1',
    args: [...VIDEO, '-c:v', 'libaom-av1', '-cpu-used', '8', '-crf', '40', '-pix_fmt', 'yuv420p'],
  },
  {
    file: 'mpeg2.ts',
    format: 'mpegts',
    video: 'mpeg2video',
    audio: 'mp2',
    args: [...VIDEO, ...AUDIO, '-c:v', 'mpeg2video', '-c:a', 'mp2', '-f', 'mpegts'],
  },
  {
    file: 'mpeg1.mpg',
    format: 'mpeg',
    video: 'mpeg1video',
    audio: 'mp2',
    args: [...VIDEO, ...AUDIO, '-c:v', 'mpeg1video', '-c:a', 'mp2', '-f', 'mpeg'],
  },
  {
    file: 'mpeg4.avi',
    format: 'avi',
    video: 'mpeg4',
    audio: 'mp3',
    args: [...VIDEO, ...AUDIO, '-c:v', 'mpeg4', '-c:a', 'libmp3lame'],
  },
  {
    file: 'mpeg2.mxf',
    format: 'mxf',
    video: 'mpeg2video',
    audio: 'pcm_s16le',
    args: [...VIDEO, ...AUDIO, '-c:v', 'mpeg2video', '-c:a', 'pcm_s16le', '-f', 'mxf'],
  },
  { file: 'tone.mp3', format: 'mp3', audio: 'mp3', args: [...AUDIO, '-c:a', 'libmp3lame'] },
  { file: 'tone.aac', format: 'aac', audio: 'aac', args: [...AUDIO, '-c:a', 'aac', '-f', 'adts'] },
  { file: 'tone.flac', format: 'flac', audio: 'flac', args: [...AUDIO, '-c:a', 'flac'] },
  { file: 'tone.wav', format: 'wav', audio: 'pcm_s16le', args: [...AUDIO, '-c:a', 'pcm_s16le'] },
  { file: 'tone.ogg', format: 'ogg', audio: 'vorbis', args: [...AUDIO, '-c:a', 'libvorbis'] },
  { file: 'frame.png', format: 'png_pipe', video: 'png', args: [...VIDEO, '-frames:v', '1', '-c:v', 'png'] },
];

/** Encodes every fixture into `dir` with the system ffmpeg (single-threaded, bitexact, no metadata). */
export function generateFixtures(dir: string): void {
  for (const f of FIXTURES) {
    // biome-ignore format: ffmpeg's options stay on one line with their values
    const args = [
      '-nostdin', '-hide_banner', '-loglevel', 'error', '-y', '-threads', '1',
      ...f.args,
      '-fflags', '+bitexact', '-flags', '+bitexact', '-map_metadata', '-1',
      path.join(dir, f.file),
    ];
    const r = spawnSync('ffmpeg', args, { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new Error(`generating ${f.file} failed: ffmpeg ${args.join(' ')}\n${r.stderr}`);
  }
}
