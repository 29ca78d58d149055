/** Builds and runs the hardened, confined ffprobe invocation, and turns its failures into named, readable errors. */
import { execFileSync, spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { ConfigurationError } from './config';
import {
  AccessDeniedError,
  NotMediaError,
  ObjectNotFoundError,
  ProbeCrashedError,
  ProbeOutputTooLargeError,
  ProbeTimeoutError,
  RedirectRefusedError,
  TlsVerificationError,
  TransientError,
} from './errors';

export interface ProbeLimits extends FfprobeArgOptions {
  /** Wall-clock budget for the whole run. */
  timeoutMs: number;
  /** Cap on ffprobe's JSON output; a file claiming thousands of streams can't exhaust memory. */
  maxOutputBytes: number;
  /** Address space ffprobe may map in all (confine's RLIMIT_AS): see ffprobeMemoryBudgetMiB. */
  memoryBudgetMiB: number;
}

/** ffprobe's JSON document, as far as the pipeline reads it. */
export interface FfprobeOutput {
  streams?: Array<Record<string, unknown>>;
  format?: Record<string, unknown>;
  chapters?: Array<Record<string, unknown>>;
  programs?: Array<Record<string, unknown>>;
  /** Not ffprobe's own section: the step's second run over an HDR candidate's first frames (bitstream-hdr.ts's FramesProbe), when it made one. */
  frames_probe?: { stream_index: number; packets: number; frames: Array<Record<string, unknown>> };
}

/** A read that stalls this long fails: ffprobe's -rw_timeout, and the object relay's upstream timeout. */
export const NETWORK_TIMEOUT_MS = 15_000;
const NETWORK_TIMEOUT_US = NETWORK_TIMEOUT_MS * 1000;
const MAX_ALLOC_BYTES = 256 * 1024 * 1024;
/** How much of the end of ffprobe's stderr is kept: its verdict is the final line. */
const MAX_STDERR_CHARS = 16 * 1024;
/** Longest piece of a stderr line quoted in an error message. */
const MAX_QUOTED_CHARS = 240;

/**
 * The function's memory that Node.js keeps for itself: about 80 MB after init (BENCHMARKS.md),
 * plus ffprobe's JSON up to the output cap as a buffer, a string and a parsed object.
 */
const RUNTIME_RESERVE_MIB = 256;
/** Less than this and ffprobe can't map its own 18 MB binary and the buffers of an ordinary probe. */
const MIN_MEMORY_BUDGET_MIB = 128;

/**
 * ffprobe's memory budget: the function's memory less what Node.js needs. Lambda's memory setting
 * bounds everything in the execution environment together, so a crafted file that made ffprobe
 * take more would end the whole invocation (the runtime is killed) instead of its own row. Real
 * media needs a fraction of it: the benchmark's largest peak RSS is 33 MB.
 */
export function ffprobeMemoryBudgetMiB(functionMemoryMb: number): number {
  const budget = functionMemoryMb - RUNTIME_RESERVE_MIB;
  if (budget < MIN_MEMORY_BUDGET_MIB) {
    throw new ConfigurationError(
      `the ffprobe function needs at least ${RUNTIME_RESERVE_MIB + MIN_MEMORY_BUDGET_MIB} MB of memory, not ${functionMemoryMb} MB: ${RUNTIME_RESERVE_MIB} MB for Node.js and at least ${MIN_MEMORY_BUDGET_MIB} for ffprobe`,
    );
  }
  return budget;
}

/** The layer's confine (layers/ffprobe/confine.c), which runs ffprobe: it sits beside ffprobe in bin/. */
export function confinePathFor(ffprobePath: string): string {
  return path.join(path.dirname(ffprobePath), 'confine');
}

/**
 * Files ffprobe reads besides its input: what glibc's name resolution (linked into the static
 * binary) reads, and for https the CA bundle. Where the kernel has Landlock, nothing else.
 */
const RESOLVER_FILES = ['/etc/hosts', '/etc/resolv.conf', '/etc/nsswitch.conf', '/etc/host.conf', '/etc/gai.conf'];
/** Name resolution falls back to TCP for answers too large for UDP. */
const DNS_PORT = '53';
const DEFAULT_PORTS: Record<string, string> = { 'https:': '443', 'http:': '80' };

/**
 * The protocols ffprobe may use for this URL, and nothing else: the scheme of the presigned URL
 * plus what it runs on. Nested opens inherit the list, so a playlist or reference inside the media
 * can't reach `file:`, `data:`, `concat:` or another scheme.
 */
export function protocolWhitelist(url: string): string {
  const scheme = new URL(url).protocol;
  if (scheme === 'https:') return 'https,tls,tcp';
  if (scheme === 'http:') return 'http,tcp';
  throw new Error(`refusing to probe a ${scheme} URL: only http(s) presigned URLs are probed`);
}

/**
 * Where the system keeps its CA bundle: Amazon Linux (Lambda) first, then Debian/Ubuntu.
 * FFmpeg does not verify TLS peers unless told to, and then needs the bundle named.
 */
export const CA_BUNDLE_CANDIDATES = ['/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/certs/ca-certificates.crt', '/etc/ssl/cert.pem'];

const ELF_MACHINES: Record<number, string> = { 62: 'x64', 183: 'arm64' };

/**
 * Fails the cold start when a layer binary (ffprobe, or the confine that runs it) is missing or
 * built for another CPU: a layer built for arm64 under an x86_64 function would otherwise fail
 * every row with ENOEXEC.
 */
export function assertRunnableHere(binaryPath: string, arch: string = process.arch, program = 'ffprobe'): void {
  const header = Buffer.alloc(20);
  let fd: number;
  try {
    fd = openSync(binaryPath, 'r');
  } catch {
    throw new ConfigurationError(`${program} not found at ${binaryPath}: is the ffprobe layer attached to the function?`);
  }
  try {
    readSync(fd, header, 0, header.length, 0);
  } finally {
    closeSync(fd);
  }
  if (header.subarray(0, 4).toString('latin1') !== '\x7fELF') return;
  const machine = ELF_MACHINES[header.readUInt16LE(18)];
  if (machine && machine !== arch) {
    throw new ConfigurationError(
      `${binaryPath} is built for ${machine}, but the function runs on ${arch}: build the layer for the function's architecture (FFPROBE_ARCH)`,
    );
  }
}

/**
 * What confine can enforce on this kernel, as it reports it (`landlock_abi`, 0 without Landlock,
 * and then `landlock_error`): logged at cold start, since whether Lambda's kernel offers Landlock
 * is not documented.
 */
export function confineStatus(confinePath: string): Record<string, string> {
  const report = execFileSync(confinePath, ['--status'], { env: {}, encoding: 'utf8', timeout: 5000 });
  return Object.fromEntries(
    report
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

export interface FfprobeArgOptions {
  /** CA bundle for verifying the S3 endpoint's certificate; required for https URLs. */
  caFile?: string;
  /** The ETag every request must still match (If-Match): the object analysed, not one that replaced it since. */
  ifMatch?: string;
}

/** An entity tag as S3 gives it: quoted, printable, no quote or backslash inside: safe to put in a header. */
const ETAG = /^"[\x21\x23-\x5b\x5d-\x7e]{1,200}"$/;

/** The If-Match header as ffprobe's http protocol takes extra headers; refused for anything that is not an ETag. */
export function ifMatchHeaders(etag: string | undefined): string[] {
  if (etag === undefined) return [];
  if (!ETAG.test(etag)) throw new Error(`refusing ${JSON.stringify(etag.slice(0, 80))} as an If-Match value: it is not an entity tag`);
  return ['-headers', `If-Match: ${etag}\r\n`];
}

/** TLS options for an https URL: verify the peer against the CA bundle (the layer's build also checks the host name). */
function tlsArgs(url: string, options: FfprobeArgOptions): string[] {
  if (new URL(url).protocol !== 'https:') return [];
  if (!options.caFile) throw new Error('refusing to probe an https URL without a CA bundle to verify the server (set FFPROBE_CA_FILE)');
  return ['-tls_verify', '1', '-ca_file', options.caFile];
}

/** ffprobe's arguments around what a run asks for: errors only, the hardened input options, JSON out, the one URL in. */
function hardenedArgs(url: string, options: FfprobeArgOptions, request: string[]): string[] {
  // biome-ignore format: each option stays on one line with its value
  return [
    '-hide_banner',
    '-loglevel', 'error',
    '-protocol_whitelist', protocolWhitelist(url),
    ...tlsArgs(url, options),
    '-rw_timeout', String(NETWORK_TIMEOUT_US),
    // No single allocation may exceed this: a crafted header can't make ffprobe ask for gigabytes.
    '-max_alloc', String(MAX_ALLOC_BYTES),
    ...request,
    '-print_format', 'json=compact=1',
    ...ifMatchHeaders(options.ifMatch),
    '-i', url,
  ];
}

/**
 * Packets read while waiting for a stream's first timestamp (FFmpeg's default is 50). A WAV's
 * packets carry none, so ffprobe reads that many of them; FFmpeg 7 made them 100 ms each (16 KiB
 * at 48 kHz stereo, 4 KiB in 5.1), which tripled what a WAV probe read. 12 of the new packets read
 * what 5.1's 50 did, and the metadata of every file of the benchmark and test corpora stays
 * identical (BENCHMARKS.md, docs/ffprobe-layer.md).
 */
const MAX_TS_PROBE_PACKETS = 12;

/**
 * The argument array for probing one URL: streams, container, chapters and programs. Chapters and
 * programs are read with the header either way: asking for them costs no I/O (measured with the
 * layer's ffprobe over loopback HTTP: the same requests and bytes).
 */
export function buildFfprobeArgs(url: string, options: FfprobeArgOptions = {}): string[] {
  // biome-ignore format: each option stays on one line with its value
  return hardenedArgs(url, options, [
    '-max_ts_probe', String(MAX_TS_PROBE_PACKETS),
    '-show_streams',
    '-show_format',
    '-show_chapters',
    '-show_programs',
  ]);
}

/**
 * The argument array for reading the side data of the first frames of one stream: the first
 * `packets` packets of that stream only (`-read_intervals %+#N`), decoded on one thread, and of
 * each frame nothing but its side data.
 */
export function buildFrameSideDataArgs(url: string, streamIndex: number, packets: number, options: FfprobeArgOptions = {}): string[] {
  // biome-ignore format: each option stays on one line with its value
  return hardenedArgs(url, options, [
    '-threads', '1',
    '-select_streams', String(streamIndex),
    '-read_intervals', `%+#${packets}`,
    '-show_frames',
    '-show_entries', 'frame=stream_index:frame_side_data',
  ]);
}

/**
 * What confine is given to run ffprobe on one URL: the memory budget, the files ffprobe may read
 * and the TCP ports it may connect to (enforced where the kernel has Landlock), then ffprobe and
 * its arguments (the probe's, unless others are given).
 */
export function buildConfineArgs(
  ffprobePath: string,
  url: string,
  limits: Pick<ProbeLimits, 'caFile' | 'memoryBudgetMiB'>,
  ffprobeArgs: string[] = buildFfprobeArgs(url, limits),
): string[] {
  const target = new URL(url);
  const reads = target.protocol === 'https:' && limits.caFile ? [...RESOLVER_FILES, limits.caFile] : RESOLVER_FILES;
  // biome-ignore format: each option stays on one line with its value
  return [
    '--memory-mib', String(limits.memoryBudgetMiB),
    ...reads.flatMap((file) => ['--read', file]),
    '--connect-port', target.port || DEFAULT_PORTS[target.protocol],
    '--connect-port', DNS_PORT,
    '--', ffprobePath, ...ffprobeArgs,
  ];
}

/**
 * The environment ffprobe runs with: nothing inherited, so the function's AWS credentials are not
 * in ffprobe's own environment. (They are in the function's: see docs/ffprobe-layer.md for what a
 * child process can still reach, and what confine takes away.)
 */
export function ffprobeEnvironment(): NodeJS.ProcessEnv {
  return { LC_ALL: 'C' };
}

/** Replaces every URL in a text with a placeholder: presigned URLs are credentials. */
export function redactUrls(text: string): string {
  return text.replace(/\b(?:https?|tls|tcp):\/\/[^\s'"]+/gi, '<url>');
}

/** One line of ffprobe's stderr: the FFmpeg components that logged it (outermost first) and the text after their prefixes. */
interface StderrLine {
  components: string[];
  text: string;
}

/** FFmpeg's `[name @ 0x55d0c0a1b2c0] ` prefix; the heap address differs on every run. */
const CONTEXT_PREFIX = /^\[([^\]]+?) @ (?:0x[0-9a-f]+|\(nil\))\] /i;
const REPEATED = /^\s*Last message repeated \d+ times$/;
/** Components that speak for the connection to S3; nothing from the object's bytes reaches their messages. */
const NETWORK_COMPONENTS = new Set(['http', 'https', 'tls', 'tcp']);

/**
 * Splits stderr into lines and their prefixes. With the layer's patch 0003 every FFmpeg message is
 * one line, so a line that starts with a component's prefix was logged by that component, and one
 * without was logged with fixed text by ffprobe or libav itself: text a file makes a demuxer echo
 * can't start a line.
 */
function parseStderr(stderr: string): StderrLine[] {
  return stderr
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line !== '' && !REPEATED.test(line))
    .map((line) => {
      const components: string[] = [];
      let text = line;
      for (let prefix = CONTEXT_PREFIX.exec(text); prefix; prefix = CONTEXT_PREFIX.exec(text)) {
        components.push(prefix[1]);
        text = text.slice(prefix[0].length);
      }
      return { components, text };
    });
}

const isNetworkLine = (line: StderrLine): boolean => NETWORK_COMPONENTS.has(line.components.at(-1) ?? '');

/** A line as an error message quotes it: components without their addresses, the URL redacted, bounded. */
function quote(line: StderrLine): string {
  const text = `${line.components.map((component) => `[${component}] `).join('')}${line.text}`;
  return redactUrls(text)
    .replace(/^<url>:\s*/, '')
    .slice(0, MAX_QUOTED_CHARS);
}

/**
 * The reason on ffprobe's final `<input>: <reason>` line, where `<reason>` is FFmpeg's text for an
 * error code. Only ffprobe starts a line with the input URL, and a file can't know the presigned
 * URL; without the URL, a line led by any URL counts.
 */
function ffprobeVerdict(lines: StderrLine[], url?: string): { at: number; reason: string } | undefined {
  for (let at = lines.length - 1; at >= 0; at--) {
    const { components, text } = lines[at];
    if (components.length > 0) continue;
    if (url !== undefined) {
      if (text.startsWith(`${url}: `)) return { at, reason: text.slice(url.length + 2) };
    } else {
      const led = /^(?:https?|tls|tcp):\/\/\S+?: (.+)$/i.exec(text);
      if (led) return { at, reason: led[1] };
    }
  }
  return undefined;
}

/** What the layer's allocator said (its patch 0004) when an allocation failed: the memory budget spent, or one request over -max_alloc. */
function allocationFailure(lines: StderrLine[], memoryBudgetMiB?: number): string | undefined {
  const own = lines.filter((line) => line.components.length === 0);
  if (own.some((line) => line.text.startsWith('Out of memory: the system refused an allocation'))) {
    return memoryBudgetMiB === undefined ? 'it ran out of memory' : `it ran out of its memory budget (${memoryBudgetMiB} MiB)`;
  }
  for (const line of own) {
    const refused = /^Allocation refused: (\d+) bytes is over the -max_alloc limit of (\d+) bytes$/.exec(line.text);
    if (refused) return `it asked for ${refused[1]} bytes at once, over its limit of ${refused[2]}`;
  }
  return undefined;
}

/** What the layer's http protocol logs when it refuses a redirect (its patch 0002). */
const REDIRECT_REFUSED = /^Redirect refused \(HTTP (\d{3})\)/;
/** What OpenSSL says when the certificate does not verify; a connection dropped mid-handshake says other things, and is transient. */
const TLS_VERIFICATION_FAILED = /certificate verify failed|unable to get local issuer|self[- ]signed certificate|hostname mismatch/i;
/** FFmpeg prints "Server returned 5XX Server Error reply" for every 5xx (S3's 503 Slow Down included). */
const TRANSIENT_VERDICT =
  /^(?:Server returned (?:5(?:\d\d|XX)|429)|Connection reset|Connection refused|Connection timed out|Operation timed out|Network is unreachable)/i;

export interface ProbedInput {
  /** The URL ffprobe was given: only its own line about that URL decides the verdict. */
  url?: string;
  /** The memory budget ffprobe ran under, for the message when it was spent. */
  memoryBudgetMiB?: number;
}

/**
 * Classifies a failed ffprobe run by its final line about the input URL: missing object, denied,
 * refused redirect, TLS, transient, or not media. Earlier lines count only when a component the
 * file can't speak through logged them (the network's), or to tell an I/O error a demuxer made up
 * from a broken connection.
 */
export function classifyProbeFailure(exitCode: number | null, stderr: string, probe: ProbedInput = {}): Error {
  const lines = parseStderr(stderr);
  const exit = exitCode === null ? '' : ` (exit code ${exitCode})`;
  const notMedia = (reason: string) => new NotMediaError(`ffprobe could not read the object as media: ${reason}${exit}`);
  const found = ffprobeVerdict(lines, probe.url);
  if (found === undefined) {
    const last = lines.at(-1);
    return notMedia(allocationFailure(lines, probe.memoryBudgetMiB) ?? (last ? quote(last) : 'no diagnostic output'));
  }
  const verdict = found.reason;
  const before = lines.slice(0, found.at);
  const network = before.filter(isNetworkLine);
  const redirect = network.map((line) => REDIRECT_REFUSED.exec(line.text)).find((match) => match !== null);
  if (redirect) {
    return new RedirectRefusedError(
      `the storage endpoint answered the presigned GET with a redirect (HTTP ${redirect[1]}), which the probe never follows: S3 does not redirect presigned GETs, so the URL names the wrong endpoint (for example another region) or something on the way rewrote the answer`,
    );
  }
  if (/^Server returned 404/i.test(verdict)) return new ObjectNotFoundError('the object no longer exists (HTTP 404 while probing)');
  // A certificate that fails verification is not going to pass on a retry; its verdict is a plain I/O error.
  const tls = network.find((line) => TLS_VERIFICATION_FAILED.test(line.text));
  if (tls) return new TlsVerificationError(`the storage endpoint's TLS certificate could not be verified: ${quote(tls)}`);
  if (/^Server returned 400/i.test(verdict))
    return new AccessDeniedError(
      'S3 refused the request while probing (HTTP 400): the presigned URL is malformed or its credentials expired',
    );
  if (/^Server returned 403/i.test(verdict))
    return new AccessDeniedError('access to the object was denied while probing (HTTP 403): the presigned URL expired or was refused');
  if (TRANSIENT_VERDICT.test(verdict)) return new TransientError(`reading the object failed: ${redactUrls(verdict)}`);
  if (/^Input\/output error/i.test(verdict)) {
    // The network's complaint explains the rest; without one, a demuxer that choked on the bytes
    // (an element longer than the file is an I/O error to Matroska) means a broken file, which a
    // retry won't mend.
    const cause = network.at(-1);
    if (cause) return new TransientError(`reading the object failed: ${quote(cause)}, then ${verdict}`);
    const complaint = before[0];
    if (complaint) return notMedia(`${quote(complaint)}, then ${verdict}`);
    return new TransientError(`reading the object failed: ${verdict}`);
  }
  if (/^Cannot allocate memory/i.test(verdict)) return notMedia(allocationFailure(lines, probe.memoryBudgetMiB) ?? verdict);
  return notMedia(redactUrls(verdict));
}

/** ffprobe died on a signal: a defect in the binary, unless its allocator had just found the memory budget spent. */
export function classifyProbeCrash(signal: NodeJS.Signals, stderr: string, probe: ProbedInput = {}): Error {
  const lines = parseStderr(stderr);
  const allocation = allocationFailure(lines, probe.memoryBudgetMiB);
  if (allocation) return new NotMediaError(`ffprobe could not read the object as media: ${allocation}`);
  const last = lines.at(-1);
  return new ProbeCrashedError(`ffprobe crashed with ${signal}: ${last ? quote(last) : 'no diagnostic output'}`);
}

/** confine's own refusal (exit 125 to 127, its first line says so): the layer, not the object, is at fault. */
function confineRefusal(exitCode: number | null, stderr: string): string | undefined {
  const first = stderr.split('\n', 1)[0];
  return exitCode !== null && exitCode >= 125 && first.startsWith('confine: ') ? redactUrls(first) : undefined;
}

/** A successful run must describe at least one audio, video or subtitle stream; anything else isn't media. */
export function checkProbeOutput(stdout: string): FfprobeOutput {
  let parsed: FfprobeOutput;
  try {
    parsed = JSON.parse(stdout) as FfprobeOutput;
  } catch {
    throw new NotMediaError('ffprobe printed output that is not JSON');
  }
  const streams = Array.isArray(parsed.streams) ? parsed.streams : [];
  const media = streams.filter((s) => ['video', 'audio', 'subtitle'].includes(String(s.codec_type)));
  if (!parsed.format || media.length === 0) {
    throw new NotMediaError('ffprobe found no audio, video or subtitle streams in the object');
  }
  return parsed;
}

/** ffprobe reports its input as `format.filename`: here that is the presigned URL, a credential, so it is dropped. */
export function withoutInputUrl(output: FfprobeOutput): FfprobeOutput {
  if (!output.format || !('filename' in output.format)) return output;
  const { filename: _url, ...format } = output.format;
  return { ...output, format };
}

export interface ProbeResult {
  output: FfprobeOutput;
  /** ffprobe's JSON, compact: `streams`, `format`, `chapters` and `programs` (the step adds `frames_probe` when it makes a second run). */
  json: string;
}

/** The end of a stream of text, from a line start: ffprobe's verdict is its final line, however much came before. */
function keepTail(text: string, truncated: boolean): string {
  if (!truncated && text.length <= MAX_STDERR_CHARS) return text;
  const tail = text.slice(-MAX_STDERR_CHARS);
  return tail.slice(tail.indexOf('\n') + 1);
}

/**
 * Runs ffprobe with the given arguments on a URL through the layer's confine (memory budget, no
 * inherited descriptors, no new privileges, Landlock where the kernel has it) in a process group of
 * its own, with an argument array (never a shell), an empty environment, a wall-clock timeout and
 * an output cap, and returns its standard output or throws a named error. The whole group is
 * killed at the timeout, at the cap, and when ffprobe exits, so nothing it started outlives the run.
 */
export function runConfinedFfprobe(ffprobePath: string, url: string, ffprobeArgs: string[], limits: ProbeLimits): Promise<string> {
  const args = buildConfineArgs(ffprobePath, url, limits, ffprobeArgs);
  const probed: ProbedInput = { url, memoryBudgetMiB: limits.memoryBudgetMiB };
  return new Promise((resolve, reject) => {
    try {
      // confine would report a missing ffprobe only as its own failure; say it as spawn would.
      accessSync(ffprobePath, constants.X_OK);
    } catch (error) {
      reject(new Error(`ffprobe could not be started (${(error as NodeJS.ErrnoException).code})`));
      return;
    }
    const child = spawn(confinePathFor(ffprobePath), args, {
      env: ffprobeEnvironment(),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const killGroup = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // ESRCH: nothing is left in the group.
      }
    };
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = '';
    let stderrTruncated = false;
    let failure: Error | undefined;
    const stop = (error: Error) => {
      failure ??= error;
      killGroup();
    };
    const timer = setTimeout(
      () => stop(new ProbeTimeoutError(`ffprobe did not finish within ${Math.round(limits.timeoutMs / 1000)} s`)),
      limits.timeoutMs,
    );
    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > limits.maxOutputBytes) {
        stop(new ProbeOutputTooLargeError(`ffprobe's output exceeded ${limits.maxOutputBytes} bytes`));
        return;
      }
      stdout.push(chunk);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      if (stderr.length > 2 * MAX_STDERR_CHARS) {
        stderr = stderr.slice(-MAX_STDERR_CHARS);
        stderrTruncated = true;
      }
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(`ffprobe could not be started (confine: ${error.code ?? error.message})`));
    });
    child.on('exit', killGroup);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (failure) return reject(failure);
      const tail = keepTail(stderr, stderrTruncated);
      const refusal = confineRefusal(code, tail);
      if (refusal) return reject(new Error(`ffprobe could not be started: ${refusal}`));
      if (signal) return reject(classifyProbeCrash(signal, tail, probed));
      if (code !== 0) return reject(classifyProbeFailure(code, tail, probed));
      resolve(Buffer.concat(stdout).toString('utf8'));
    });
  });
}

/** Probes a URL (streams, container, chapters, programs) and returns ffprobe's parsed JSON, without the URL, and the JSON as stored. */
export async function runFfprobe(ffprobePath: string, url: string, limits: ProbeLimits): Promise<ProbeResult> {
  const stdout = await runConfinedFfprobe(ffprobePath, url, buildFfprobeArgs(url, limits), limits);
  const output = withoutInputUrl(checkProbeOutput(stdout));
  const json = JSON.stringify({
    streams: output.streams ?? [],
    format: output.format,
    chapters: output.chapters ?? [],
    programs: output.programs ?? [],
  });
  return { output, json };
}
