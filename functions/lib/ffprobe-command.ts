/** Builds and runs the hardened ffprobe invocation, and turns its failures into named, readable errors. */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';
import { ConfigurationError } from './config';
import {
  AccessDeniedError,
  NotMediaError,
  ObjectNotFoundError,
  ProbeCrashedError,
  ProbeOutputTooLargeError,
  ProbeTimeoutError,
  TlsVerificationError,
  TransientError,
} from './errors';

export interface ProbeLimits extends FfprobeArgOptions {
  /** Wall-clock budget for the whole run. */
  timeoutMs: number;
  /** Cap on ffprobe's JSON output; a file claiming thousands of streams can't exhaust memory. */
  maxOutputBytes: number;
}

/** ffprobe's JSON document, as far as the pipeline reads it. */
export interface FfprobeOutput {
  streams?: Array<Record<string, unknown>>;
  format?: Record<string, unknown>;
}

const NETWORK_TIMEOUT_US = 15_000_000;
const MAX_ALLOC_BYTES = 256 * 1024 * 1024;
const MAX_STDERR_BYTES = 16 * 1024;

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
 * Fails the cold start when the binary is missing or built for another CPU: a layer built for
 * arm64 under an x86_64 function would otherwise fail every row with ENOEXEC.
 */
export function assertRunnableHere(ffprobePath: string, arch: string = process.arch): void {
  const header = Buffer.alloc(20);
  let fd: number;
  try {
    fd = openSync(ffprobePath, 'r');
  } catch {
    throw new ConfigurationError(`ffprobe not found at ${ffprobePath}: is the ffprobe layer attached to the function?`);
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
      `${ffprobePath} is built for ${machine}, but the function runs on ${arch}: build the layer for the function's architecture (FFPROBE_ARCH)`,
    );
  }
}

export interface FfprobeArgOptions {
  /** CA bundle for verifying the S3 endpoint's certificate; required for https URLs. */
  caFile?: string;
}

/** TLS options for an https URL: verify the peer against the CA bundle (the layer's build also checks the host name). */
function tlsArgs(url: string, options: FfprobeArgOptions): string[] {
  if (new URL(url).protocol !== 'https:') return [];
  if (!options.caFile) throw new Error('refusing to probe an https URL without a CA bundle to verify the server (set FFPROBE_CA_FILE)');
  return ['-tls_verify', '1', '-ca_file', options.caFile];
}

/** The argument array for probing one URL: streams and container, JSON, errors only. */
export function buildFfprobeArgs(url: string, options: FfprobeArgOptions = {}): string[] {
  // biome-ignore format: each option stays on one line with its value
  return [
    '-hide_banner',
    '-loglevel', 'error',
    '-protocol_whitelist', protocolWhitelist(url),
    ...tlsArgs(url, options),
    '-rw_timeout', String(NETWORK_TIMEOUT_US),
    // No single allocation may exceed this: a crafted header can't make ffprobe ask for gigabytes.
    '-max_alloc', String(MAX_ALLOC_BYTES),
    '-show_streams',
    '-show_format',
    '-print_format', 'json=compact=1',
    '-i', url,
  ];
}

/**
 * The environment ffprobe runs with: nothing inherited, so the function's AWS credentials
 * never reach a process that parses untrusted bytes.
 */
export function ffprobeEnvironment(): NodeJS.ProcessEnv {
  return { LC_ALL: 'C' };
}

/** Replaces every URL in a text with a placeholder: presigned URLs are credentials. */
export function redactUrls(text: string): string {
  return text.replace(/\b(?:https?|tls|tcp):\/\/[^\s'"]+/gi, '<url>');
}

/** The last meaningful line of ffprobe's stderr, without the URL ffprobe prefixes it with. */
function reasonFrom(stderr: string): string {
  const lines = redactUrls(stderr)
    .split('\n')
    .map((line) => line.replace(/^<url>:?\s*/, '').trim())
    .filter(Boolean);
  return lines.at(-1) ?? 'no diagnostic output';
}

/** Classifies a failed ffprobe run by what it printed: missing object, denied, transient, or not media. */
export function classifyProbeFailure(exitCode: number | null, stderr: string): Error {
  const reason = reasonFrom(stderr);
  if (/Server returned 404/i.test(stderr)) return new ObjectNotFoundError('the object no longer exists (HTTP 404 while probing)');
  // A certificate that fails verification is not going to pass on a retry; check before the generic I/O error it also prints.
  if (/certificate verify failed|SSL routines|unable to get local issuer|self[- ]signed certificate|hostname mismatch/i.test(stderr)) {
    return new TlsVerificationError(`the storage endpoint's TLS certificate could not be verified: ${reasonFrom(stderr)}`);
  }
  if (/Server returned 400/i.test(stderr))
    return new AccessDeniedError(
      'S3 refused the request while probing (HTTP 400): the presigned URL is malformed or its credentials expired',
    );
  if (/Server returned 403/i.test(stderr))
    return new AccessDeniedError('access to the object was denied while probing (HTTP 403): the presigned URL expired or was refused');
  // FFmpeg prints "Server returned 5XX Server Error reply" for every 5xx (S3's 503 Slow Down included).
  if (
    /Server returned (5(\d\d|XX)|429)|Connection reset|Connection refused|Connection timed out|Operation timed out|Network is unreachable|Input\/output error/i.test(
      stderr,
    )
  ) {
    return new TransientError(`reading the object failed: ${reason}`);
  }
  return new NotMediaError(`ffprobe could not read the object as media: ${reason}${exitCode === null ? '' : ` (exit code ${exitCode})`}`);
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
  /** The JSON exactly as stored: compact, `streams` and `format`. */
  json: string;
}

/**
 * Runs ffprobe on a URL with an argument array (never a shell), an empty environment, a wall-clock
 * timeout and an output cap, and returns its parsed JSON or throws a named error.
 */
export function runFfprobe(ffprobePath: string, url: string, limits: ProbeLimits): Promise<ProbeResult> {
  const args = buildFfprobeArgs(url, limits);
  return new Promise((resolve, reject) => {
    const child = spawn(ffprobePath, args, { env: ffprobeEnvironment(), stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = '';
    let failure: Error | undefined;
    const stop = (error: Error) => {
      failure ??= error;
      child.kill('SIGKILL');
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
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < MAX_STDERR_BYTES) stderr += chunk.toString('utf8');
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(`ffprobe could not be started (${error.code ?? error.message})`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (failure) return reject(failure);
      if (signal) return reject(new ProbeCrashedError(`ffprobe crashed with ${signal}: ${reasonFrom(stderr)}`));
      if (code !== 0) return reject(classifyProbeFailure(code, stderr));
      try {
        const output = withoutInputUrl(checkProbeOutput(Buffer.concat(stdout).toString('utf8')));
        const json = JSON.stringify({ streams: output.streams ?? [], format: output.format });
        resolve({ output, json });
      } catch (error) {
        reject(error);
      }
    });
  });
}
