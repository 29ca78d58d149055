/**
 * Measures one ffprobe invocation on a presigned URL three ways: under strace (bytes received,
 * connections and requests at ffprobe's side of the socket), under /usr/bin/time (wall time and
 * peak RSS), and by its JSON (to prove a variant reports the same metadata). Ours and the seed's
 * command run with the same binary and the same environment, alternating.
 */
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { FRAME_PROBE_PACKETS, frameProbeCandidate } from '../functions/lib/bitstream-hdr';
import { buildFfprobeArgs, buildFrameSideDataArgs, type FfprobeOutput, ffprobeEnvironment } from '../functions/lib/ffprobe-command';
import { summariseMedia } from '../functions/lib/media-summary';
import { countSocketTraffic, type SocketTraffic, TRACED_SYSCALLS } from './strace';

export const STRACE = '/usr/bin/strace';
export const GNU_TIME = '/usr/bin/time';

export type VariantName = 'ours' | 'seed';

/** The argument arrays compared: ours comes from the pipeline's own builder, never a copy of it. */
export const VARIANTS: Record<VariantName, (url: string) => string[]> = {
  ours: (url) => buildFfprobeArgs(url),
  // The seed article's command, flag for flag (its `subprocess.run` list without the binary).
  seed: (url) => ['-loglevel', 'error', '-show_streams', url, '-print_format', 'json'],
};

/**
 * Our second run, when the step makes one: the first frames of an HDR candidate stream
 * (functions/lib/bitstream-hdr.ts), decided and built by the step's own functions from the first
 * run's output. Its figures are kept apart (the seed asks no such question), and reported beside.
 */
export function oursFramesRun(output: Record<string, unknown> | undefined, url: string): string[] | undefined {
  if (!output) return undefined;
  const candidate = frameProbeCandidate(summariseMedia(output as FfprobeOutput));
  return candidate ? buildFrameSideDataArgs(url, candidate.index, FRAME_PROBE_PACKETS) : undefined;
}

/** ffprobe with no tuning and no hardening: the reference metadata every variant must reproduce. */
export const untunedArgs = (url: string): string[] => ['-loglevel', 'error', '-show_streams', '-show_format', '-print_format', 'json', url];

/** Our invocation with an input option added just before `-i`, where ffprobe applies it to that input. */
export function withInputOption(url: string, option: string, value: string): string[] {
  const args = buildFfprobeArgs(url);
  const input = args.indexOf('-i');
  if (input < 0) throw new Error('buildFfprobeArgs no longer names its input with -i; the tuning probe needs updating');
  return [...args.slice(0, input), option, value, ...args.slice(input)];
}

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
  wallMs: number;
}

/** A run this long means ffprobe hangs (the seed's command has no network timeout); the whole process group is killed. */
const RUN_TIMEOUT_MS = 120_000;

/** Runs one process to its end under the timeout, in a process group of its own; used by the link's runs too. */
export function runProcess(command: string, args: string[]): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    // Its own process group, so a timeout also reaches ffprobe under strace or time.
    const child = spawn(command, args, { env: ffprobeEnvironment(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const out: Buffer[] = [];
    let stderr = '';
    const timer = setTimeout(() => {
      stderr += `killed after ${RUN_TIMEOUT_MS / 1000} s\n`;
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    }, RUN_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 8192) stderr += chunk.toString('utf8');
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr, wallMs });
    });
  });
}

/** Never let a presigned URL reach a log or the report. */
export function scrub(text: string): string {
  return text
    .replace(/https?:\/\/\S+/g, '<url>')
    .trim()
    .split('\n')
    .slice(-3)
    .join(' | ');
}

export interface TracedRun extends SocketTraffic {
  ok: boolean;
  error?: string;
  /** ffprobe's JSON, parsed; undefined when it failed. */
  output?: Record<string, unknown>;
}

/** One run under strace -f: socket traffic plus ffprobe's own output (strace writes its log to a file). */
export async function tracedRun(ffprobe: string, args: string[], scratchDir: string, tag: string): Promise<TracedRun> {
  const log = path.join(scratchDir, `strace-${tag}-${process.hrtime.bigint()}.log`);
  try {
    const exit = await runProcess(STRACE, [
      '-f',
      '-qq',
      '-s',
      '8',
      '-o',
      log,
      '-e',
      `trace=${TRACED_SYSCALLS.join(',')}`,
      ffprobe,
      ...args,
    ]);
    const traffic = countSocketTraffic(await readFile(log, 'utf8'));
    if (exit.code !== 0) return { ...traffic, ok: false, error: `exit ${exit.code}: ${scrub(exit.stderr)}` };
    return { ...traffic, ok: true, output: JSON.parse(exit.stdout) as Record<string, unknown> };
  } finally {
    // The log holds the start of each request line; never keep it around.
    await rm(log, { force: true });
  }
}

export interface TimedRun {
  ok: boolean;
  wallMs: number;
  peakRssKb: number;
  /** User plus system CPU time: what a Lambda with less than one vCPU stretches. */
  cpuMs: number;
  output?: Record<string, unknown>;
}

/** One run under GNU time: ffprobe's peak RSS and CPU time from the kernel's rusage of the child, wall time around it. */
export async function timedRun(ffprobe: string, args: string[], scratchDir: string, tag: string): Promise<TimedRun> {
  const report = path.join(scratchDir, `time-${tag}-${process.hrtime.bigint()}.txt`);
  try {
    const exit = await runProcess(GNU_TIME, ['-f', '%M %U %S', '-o', report, ffprobe, ...args]);
    const [peakRssKb, user, system] = ((await readFile(report, 'utf8')).trim().split('\n').at(-1) ?? '').split(' ').map(Number);
    const cpuMs = (user + system) * 1000;
    if (exit.code !== 0) return { ok: false, wallMs: exit.wallMs, peakRssKb, cpuMs };
    return { ok: true, wallMs: exit.wallMs, peakRssKb, cpuMs, output: JSON.parse(exit.stdout) as Record<string, unknown> };
  } finally {
    await rm(report, { force: true });
  }
}

/** streams and format as ffprobe reported them, without `format.filename` (the presigned URL). */
export function metadataOf(output: Record<string, unknown> | undefined): { streams: unknown; format: unknown } | undefined {
  if (!output) return undefined;
  const format = output.format as Record<string, unknown> | undefined;
  const { filename: _url, ...rest } = format ?? {};
  return { streams: output.streams ?? [], format: format ? rest : undefined };
}

export function sameMetadata(a: Record<string, unknown> | undefined, b: Record<string, unknown> | undefined): boolean {
  const left = metadataOf(a);
  const right = metadataOf(b);
  return left !== undefined && right !== undefined && isDeepStrictEqual(left, right);
}

/** Up to `limit` paths where two ffprobe outputs' metadata differ, with both values: what a tuning changed. */
export function metadataDifferences(a: Record<string, unknown> | undefined, b: Record<string, unknown> | undefined, limit = 3): string[] {
  const found: string[] = [];
  const walk = (x: unknown, y: unknown, at: string) => {
    if (found.length >= limit || isDeepStrictEqual(x, y)) return;
    if (x && y && typeof x === 'object' && typeof y === 'object') {
      for (const key of new Set([...Object.keys(x), ...Object.keys(y)]))
        walk((x as Record<string, unknown>)[key], (y as Record<string, unknown>)[key], Array.isArray(x) ? `${at}[${key}]` : `${at}.${key}`);
      return;
    }
    found.push(`${at.replace(/^\./, '')}: ${JSON.stringify(y)} → ${JSON.stringify(x)}`);
  };
  walk(metadataOf(a), metadataOf(b), '');
  return found;
}

/** A second, frames run's own figures (ours, on HDR candidates), one entry per run like the first run's. */
export interface FramesRunResult {
  bytes: number[];
  connects: number[];
  requests: number[];
  wallMs: number[];
  peakRssKb: number[];
  cpuMs: number[];
}

export interface VariantResult {
  bytes: number[];
  connects: number[];
  requests: number[];
  wallMs: number[];
  peakRssKb: number[];
  cpuMs: number[];
  failures: string[];
  output?: Record<string, unknown>;
  /** Ours only, when the step reads the file's first frames too: that run's figures, kept apart from the first run's. */
  framesRun?: FramesRunResult;
}

export interface TuningResult {
  option: string;
  value: string;
  bytes: number;
  requests: number;
  /** Same streams and format as the untuned run. */
  identical: boolean;
  /** What changed against the untuned run (`path: untuned → tuned`), when something did. */
  differences: string[];
  error?: string;
}

export interface FileMeasurement {
  ours: VariantResult;
  seed: VariantResult;
  untuned: { bytes: number; requests: number; output?: Record<string, unknown> };
  /** Our streams and format equal the untuned run's. */
  oursMatchesUntuned: boolean;
  /** Our streams equal the seed's (the seed asks for streams only). */
  streamsMatchSeed: boolean;
  tuning: TuningResult[];
}

export interface MeasureOptions {
  ffprobe: string;
  scratchDir: string;
  tracedRuns: number;
  timedRuns: number;
  /** Input options to try on our invocation, each checked against the untuned metadata. */
  tuning: Array<{ option: string; value: string }>;
}

const emptyVariant = (): VariantResult => ({
  bytes: [],
  connects: [],
  requests: [],
  wallMs: [],
  peakRssKb: [],
  cpuMs: [],
  failures: [],
});

/**
 * Measures one object: traced runs and timed runs of ours and the seed's command, alternating
 * which goes first so neither always runs on a warmer cache; then the untuned reference and the
 * tuning candidates. `presign` is called for every run so no URL outlives a few seconds of use.
 */
export async function measureFile(presign: () => Promise<string>, options: MeasureOptions): Promise<FileMeasurement> {
  const results: Record<VariantName, VariantResult> = { ours: emptyVariant(), seed: emptyVariant() };
  const order = (i: number): VariantName[] => (i % 2 === 0 ? ['ours', 'seed'] : ['seed', 'ours']);
  const framesArgs = async (name: VariantName, output: Record<string, unknown> | undefined) =>
    name === 'ours' ? oursFramesRun(output, await presign()) : undefined;
  const framesOf = (r: VariantResult): FramesRunResult => {
    r.framesRun ??= { bytes: [], connects: [], requests: [], wallMs: [], peakRssKb: [], cpuMs: [] };
    return r.framesRun;
  };
  for (let i = 0; i < options.tracedRuns; i++) {
    for (const name of order(i)) {
      const run = await tracedRun(options.ffprobe, VARIANTS[name](await presign()), options.scratchDir, name);
      const r = results[name];
      if (!run.ok) r.failures.push(run.error ?? 'failed');
      r.bytes.push(run.bytesReceived);
      r.connects.push(run.connects);
      r.requests.push(run.requests);
      r.output ??= run.output;
      const second = await framesArgs(name, run.output);
      if (!second) continue;
      const frames = await tracedRun(options.ffprobe, second, options.scratchDir, 'frames');
      if (!frames.ok) r.failures.push(`frames run: ${frames.error ?? 'failed'}`);
      framesOf(r).bytes.push(frames.bytesReceived);
      framesOf(r).connects.push(frames.connects);
      framesOf(r).requests.push(frames.requests);
    }
  }
  for (let i = 0; i < options.timedRuns; i++) {
    for (const name of order(i + 1)) {
      const run = await timedRun(options.ffprobe, VARIANTS[name](await presign()), options.scratchDir, name);
      const r = results[name];
      if (!run.ok) r.failures.push('timed run failed');
      r.wallMs.push(run.wallMs);
      r.peakRssKb.push(run.peakRssKb);
      r.cpuMs.push(run.cpuMs);
      const second = await framesArgs(name, run.output);
      if (!second) continue;
      const frames = await timedRun(options.ffprobe, second, options.scratchDir, 'frames');
      if (!frames.ok) r.failures.push('timed frames run failed');
      framesOf(r).wallMs.push(frames.wallMs);
      framesOf(r).peakRssKb.push(frames.peakRssKb);
      framesOf(r).cpuMs.push(frames.cpuMs);
    }
  }
  const untunedRun = await tracedRun(options.ffprobe, untunedArgs(await presign()), options.scratchDir, 'untuned');
  const tuning: TuningResult[] = [];
  for (const { option, value } of options.tuning) {
    const run = await tracedRun(options.ffprobe, withInputOption(await presign(), option, value), options.scratchDir, 'tuned');
    tuning.push({
      option,
      value,
      bytes: run.bytesReceived,
      requests: run.requests,
      identical: run.ok && sameMetadata(run.output, untunedRun.output),
      differences: run.ok ? metadataDifferences(run.output, untunedRun.output) : [],
      ...(run.ok ? {} : { error: run.error }),
    });
  }
  const oursStreams = (results.ours.output as { streams?: unknown } | undefined)?.streams;
  const seedStreams = (results.seed.output as { streams?: unknown } | undefined)?.streams;
  return {
    ours: results.ours,
    seed: results.seed,
    untuned: { bytes: untunedRun.bytesReceived, requests: untunedRun.requests, output: untunedRun.output },
    oursMatchesUntuned: sameMetadata(results.ours.output, untunedRun.output),
    streamsMatchSeed: oursStreams !== undefined && isDeepStrictEqual(oursStreams, seedStreams),
    tuning,
  };
}
