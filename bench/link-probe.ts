/**
 * The probe over a realistic link (link.ts): the seed's exact command, our ffprobe invocation read
 * straight from S3, and the ffprobe step as it runs (probeAsset: the object relay, the faststart
 * check, an HDR candidate's second run), alternating, at each link shape. Wall time is the
 * caller's; bytes and connections are the link's; requests are the ones the S3 endpoint answered.
 */
import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { FfprobeSettings } from '../functions/lib/ffprobe';
import { runFfprobe } from '../functions/lib/ffprobe-command';
import type { LinkCounters, LinkShape, ShapedLink } from './link';
import { runProcess, scrub, VARIANTS } from './probe';
import type { ProbeReply, ProbeRequest } from './probe-worker';

export type LinkVariant = 'seed' | 'direct' | 'ours' | 'warm';

export interface LinkRun {
  wallMs: number;
  connections: number;
  bytesDown: number;
  requests: number;
  ok: boolean;
  error?: string;
}

export interface LinkMeasurement {
  shape: LinkShape;
  runs: Record<LinkVariant, LinkRun[]>;
  /** The step's JSON (streams, format, chapters, programs) equals our direct invocation's: the relay changed nothing but the transport. */
  identical: boolean;
}

export interface LinkProbeOptions {
  ffprobe: string;
  caFile: string;
  ca: string;
  runs: number;
  /** Presigns the object for the link's endpoint. */
  presign: () => Promise<string>;
  /** GETs of the object the S3 endpoint answered since `sinceIso`. */
  requestsSince: (sinceIso: string) => number;
  worker: ReturnType<typeof startProbeWorker>;
}

/** The seed's command as the seed runs it: its binary on the URL, nothing else (no TLS verification, no timeout of its own). */
async function runSeed(ffprobe: string, url: string): Promise<{ ok: boolean; error?: string }> {
  const exit = await runProcess(ffprobe, VARIANTS.seed(url));
  return exit.code === 0 ? { ok: true } : { ok: false, error: `exit ${exit.code}: ${scrub(exit.stderr)}` };
}

/** The probe worker (probe-worker.ts), started once: the step's probe in a process of its own. One request at a time. */
export function startProbeWorker(): { probe: (request: ProbeRequest) => Promise<ProbeReply>; stop: () => void } {
  const child: ChildProcess = fork(path.join(__dirname, 'probe-worker.ts'), { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  let waiting: { resolve: (reply: ProbeReply) => void; reject: (error: Error) => void } | undefined;
  child.on('message', (reply) => waiting?.resolve(reply as ProbeReply));
  child.on('exit', (code) => waiting?.reject(new Error(`the probe worker exited (${code})`)));
  return {
    probe: (request) =>
      new Promise((resolve, reject) => {
        waiting = { resolve, reject };
        child.send(request);
      }),
    stop: () => child.kill(),
  };
}

const settingsFor = (options: LinkProbeOptions): FfprobeSettings => ({
  ffprobePath: options.ffprobe,
  timeoutMs: 60_000,
  maxOutputBytes: 16 * 1024 * 1024,
  // Everything stays inline: no upload is timed.
  inlineLimitBytes: Number.MAX_SAFE_INTEGER,
  uploadTimeoutMs: 10_000,
  faststartTimeoutMs: 5_000,
  caFile: options.caFile,
  memoryBudgetMiB: 768,
});

/** ffprobe's sections without the step's second run, for comparing the two transports. */
function sections(json: string): unknown {
  const { frames_probe: _frames, ...rest } = JSON.parse(json) as Record<string, unknown>;
  return rest;
}

/** Measures one object at one link shape: `runs` rounds of seed, direct, ours (cold) and ours warm, in turn. */
export async function measureOverLink(link: ShapedLink, shape: LinkShape, options: LinkProbeOptions): Promise<LinkMeasurement> {
  link.reshape(shape);
  const runs: Record<LinkVariant, LinkRun[]> = { seed: [], direct: [], ours: [], warm: [] };
  let identical = true;
  const timed = async (
    variant: LinkVariant,
    body: (url: string) => Promise<{ ok: boolean; error?: string; json?: string; wallMs?: number }>,
  ) => {
    const url = await options.presign();
    link.reset();
    const since = new Date().toISOString();
    const started = performance.now();
    let outcome: { ok: boolean; error?: string; json?: string; wallMs?: number };
    try {
      outcome = await body(url);
    } catch (error) {
      outcome = { ok: false, error: `${(error as Error).name}: ${(error as Error).message}` };
    }
    // The worker's own figure leaves out the message to and from it.
    const wallMs = outcome.wallMs ?? performance.now() - started;
    // What was still on its way when the reader hung up has crossed the link by now.
    await new Promise((resolve) => setTimeout(resolve, shape.rttMs * 2));
    const counters: LinkCounters = { ...link.counters };
    runs[variant].push({
      wallMs,
      connections: counters.connections,
      bytesDown: counters.bytesDown,
      requests: options.requestsSince(since),
      ok: outcome.ok,
      ...(outcome.error ? { error: outcome.error } : {}),
    });
    return outcome.json;
  };
  for (let round = 0; round < options.runs; round++) {
    await timed('seed', (url) => runSeed(options.ffprobe, url));
    const direct = await timed('direct', async (url) => ({
      ok: true,
      json: (await runFfprobe(options.ffprobe, url, settingsFor(options))).json,
    }));
    // The step's probe in the worker: a fresh connection (cold), or the one the previous warm probe at this shape left.
    const viaWorker = (warmKey?: string) => async (url: string) => {
      const reply = await options.worker.probe({ url, ca: options.ca, settings: settingsFor(options), warmKey });
      return { ok: !reply.error, error: reply.error, json: reply.json, wallMs: reply.wallMs };
    };
    const ours = await timed('ours', viaWorker());
    const warm = await timed('warm', viaWorker(`${shape.rttMs}/${shape.bytesPerSecond}`));
    for (const relayed of [ours, warm])
      if (!direct || !relayed || !isDeepStrictEqual(sections(direct), sections(relayed))) identical = false;
  }
  return { shape, runs, identical };
}
