/**
 * A loopback HTTP relay for the one object a probe reads. ffprobe opens a new TCP and TLS
 * connection to S3 for every seek (three for an MP4 whose index is at the end, six for an AVI),
 * each paying the set-up round trips and a fresh slow start. Through the relay it reads a local
 * URL instead, and the relay reads the presigned URL in bounded ranges over one kept-alive
 * connection, opened while ffprobe starts: each seek costs one round trip, and what was read once
 * (the head, for the second run and the faststart check) is not read again.
 *
 * Security: the relay listens on 127.0.0.1 on a port of its own for the length of one probe and
 * answers only one unguessable path, so its URL is a credential like the presigned URL it stands
 * for; neither is ever logged. Every upstream read carries If-Match when the analysis pinned an
 * ETag; redirects are refused; certificates are verified by Node's TLS.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  AccessDeniedError,
  NotMediaError,
  ObjectChangedError,
  ObjectNotFoundError,
  RedirectRefusedError,
  TlsVerificationError,
  TransientError,
} from './errors';

export interface RelayOptions {
  /** The ETag every read must still match; S3 answers 412 once the object was replaced. */
  ifMatch?: string;
  /** Upstream connections come from here (keep-alive) when it is for the URL's protocol; the module's own agents otherwise. */
  agent?: http.Agent;
  /** An upstream read that stalls this long fails as transient (ffprobe's own -rw_timeout is the same). */
  timeoutMs: number;
}

/** What the relay cost upstream: the figures the benchmark compares with ffprobe's own reads. */
export interface RelayStats {
  /** Ranged GETs sent to the object's URL. */
  requests: number;
  /** New upstream connections (each a TCP and TLS set-up); the rest reused one kept alive. */
  connections: number;
  /** Body bytes received from upstream. */
  bytes: number;
  /** Bytes ffprobe and the faststart check were served, from upstream or the cache. */
  servedBytes: number;
}

/**
 * The first read of a region (the head, or where a seek lands): what most probes need of it whole
 * (an MP4's header, an MP3's first frames, an MP4's moov at the end), and no more than a seed-style
 * connection has in flight by the time its reader hangs up (bench/link.ts measured 64 to 256 KiB).
 */
export const FIRST_WINDOW_BYTES = 128 * 1024;
/** Each further window of a region being read on doubles, up to this. */
export const MAX_WINDOW_BYTES = 2 * 1024 * 1024;
/**
 * A reader still reading after this many windows (128 + 256 + 512 KiB) is reading a long way on (an
 * MPEG-TS's 5 MB): the rest of its answer comes over one GET, at its pace, as the seed's command
 * reads, instead of a round trip per window, on a connection of its own, dropped when the reader
 * hangs up. The headers of MP4, Matroska, MP3 and WAV end sooner; their seeks, and the next probe,
 * stay on the kept-alive connection.
 */
const STREAM_AFTER_WINDOWS = 3;
/** What the relay hands ffprobe's connection at a time. */
const WRITE_BYTES = 32 * 1024;
/** What the relay keeps of what it read; the least recently used is dropped beyond it. */
export const CACHE_BYTES = 24 * 1024 * 1024;

/**
 * The module's keep-alive agents: a warm function reuses its connections to S3 for the next probe.
 * Two: a seek is read over the second while the first still finishes the window before it.
 */
const AGENTS = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 2 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 2 }),
};

/** Node's codes for a certificate that does not verify: not going to pass on a retry. */
const TLS_VERIFICATION_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REVOKED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** A span of the object that was read: `data` starts at byte `start`. */
interface Span {
  start: number;
  data: Buffer;
  lastUsed: number;
}

/** A read under way: [start, end). */
interface Pending {
  start: number;
  end: number;
  done: Promise<void>;
}

/** The named error for an upstream answer that is not the bytes asked for. */
function errorForStatus(status: number): Error {
  if (status === 412)
    return new ObjectChangedError(
      'the object was replaced while it was analysed (S3 answered 412 Precondition Failed to a read that required the ETag the analysis started with): analyse it again to read the new content',
    );
  if (status === 404) return new ObjectNotFoundError('the object no longer exists (HTTP 404 while probing)');
  if (status === 403)
    return new AccessDeniedError('access to the object was denied while probing (HTTP 403): the presigned URL expired or was refused');
  if (status === 400)
    return new AccessDeniedError(
      'S3 refused the request while probing (HTTP 400): the presigned URL is malformed or its credentials expired',
    );
  if (status >= 300 && status < 400)
    return new RedirectRefusedError(
      `the storage endpoint answered the presigned GET with a redirect (HTTP ${status}), which the probe never follows: S3 does not redirect presigned GETs, so the URL names the wrong endpoint (for example another region) or something on the way rewrote the answer`,
    );
  if (status >= 500 || status === 429) return new TransientError(`reading the object failed: the storage endpoint answered HTTP ${status}`);
  return new NotMediaError(`ffprobe could not read the object as media: the storage endpoint answered HTTP ${status}`);
}

/** The named error for a failed connection: its code only, never its message (which may quote the URL). */
function errorForConnection(error: NodeJS.ErrnoException): Error {
  const code = error.code ?? error.name;
  // The code alone is kept as the cause, so a log line can name it (faststart.ts's describeError).
  const cause = { code };
  if (TLS_VERIFICATION_CODES.has(code))
    return new TlsVerificationError(`the storage endpoint's TLS certificate could not be verified: ${code}`, { cause });
  return new TransientError(`reading the object failed: ${code}`, { cause });
}

/** `bytes=N-` or `bytes=N-M` as ffprobe sends it; anything else is read from 0. */
function parseRange(header: string | undefined): { start: number; end?: number } {
  const match = /^bytes=(\d+)-(\d*)$/.exec(header ?? '');
  if (!match) return { start: 0 };
  return { start: Number(match[1]), end: match[2] === '' ? undefined : Number(match[2]) + 1 };
}

/** Reads one presigned object for a probe, and serves it on a loopback URL: see the module comment. */
export class ObjectRelay {
  /** The loopback URL ffprobe reads: a credential, never logged. */
  readonly url: string;
  readonly stats: RelayStats = { requests: 0, connections: 0, bytes: 0, servedBytes: 0 };
  /** The first failure of a read ffprobe made, named: the reason a probe through the relay failed, if it was the relay's. */
  failure?: Error;
  private size?: number;
  private spans: Span[] = [];
  private pending: Pending[] = [];
  /** Reads that failed: a later read of the same bytes fails the same way (the state machine's Retry backs off; the relay does not retry). */
  private failed: Array<{ start: number; end: number; error: Error }> = [];
  private cachedBytes = 0;
  private readonly agent: http.Agent;
  private readonly sockets = new Set<import('node:net').Socket>();

  private constructor(
    private readonly source: URL,
    private readonly options: RelayOptions,
    private readonly server: http.Server,
    token: string,
  ) {
    // An agent is for one protocol (an https.Agent can't carry http): the given one where it fits.
    const given = options.agent as (http.Agent & { protocol?: string }) | undefined;
    this.agent = given?.protocol === source.protocol ? given : AGENTS[source.protocol as keyof typeof AGENTS];
    const { port } = server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}/${token}`;
  }

  /**
   * Starts a relay for `sourceUrl` and begins reading its head at once, so the connection to S3
   * and the first bytes are on their way while ffprobe starts.
   */
  static async open(sourceUrl: string, options: RelayOptions): Promise<ObjectRelay> {
    const source = new URL(sourceUrl);
    if (source.protocol !== 'https:' && source.protocol !== 'http:')
      throw new Error(`the relay reads http(s) URLs only, not ${source.protocol}`);
    const token = randomBytes(24).toString('hex');
    let relay: ObjectRelay | undefined;
    const server = http.createServer((req, res) => void relay?.serve(req, res, token));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    relay = new ObjectRelay(source, options, server, token);
    server.on('connection', (socket) => {
      relay.sockets.add(socket);
      socket.once('close', () => relay.sockets.delete(socket));
    });
    // The head is read by every probe; a failure here is met again, and reported, by the read that needs it.
    relay.fetch(0, FIRST_WINDOW_BYTES).catch(() => undefined);
    return relay;
  }

  /** The object's bytes [offset, offset + length), fewer at its end: for the faststart check, from the cache when the probe read them. */
  async read(offset: number, length: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let position = offset;
    let window = Math.max(length, FIRST_WINDOW_BYTES);
    while (position < offset + length) {
      const available = await this.bytesAt(position, window);
      if (available.length === 0) break;
      const part = available.subarray(0, offset + length - position);
      parts.push(part);
      position += part.length;
      window = Math.min(window * 2, MAX_WINDOW_BYTES);
    }
    const bytes = Buffer.concat(parts);
    this.stats.servedBytes += bytes.length;
    return bytes;
  }

  /** Stops serving, drops the cache and closes ffprobe's connections; the upstream connection stays with the agent for the next probe. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.spans = [];
    this.cachedBytes = 0;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Answers one of ffprobe's GETs: 206 with the bytes from the range's start on, read window by window as ffprobe takes them. */
  private async serve(req: http.IncomingMessage, res: http.ServerResponse, token: string): Promise<void> {
    if (req.url !== `/${token}` || req.method !== 'GET') {
      res.writeHead(404).end();
      return;
    }
    const range = parseRange(req.headers.range);
    let closed = false;
    res.once('close', () => {
      closed = true;
    });
    try {
      let window = FIRST_WINDOW_BYTES;
      let first: Buffer | undefined = await this.bytesAt(range.start, window);
      const size = this.size ?? 0;
      if (range.start >= size) {
        res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
        return;
      }
      const end = Math.min(range.end ?? size, size);
      res.writeHead(206, {
        'accept-ranges': 'bytes',
        'content-type': 'application/octet-stream',
        'content-range': `bytes ${range.start}-${end - 1}/${size}`,
        'content-length': String(end - range.start),
      });
      let position = range.start;
      const handOver = async (part: Buffer): Promise<boolean> => {
        // A slice at a time, each once the kernel took the one before: ffprobe's pace is the relay's.
        for (let at = 0; at < part.length && !closed; at += WRITE_BYTES) {
          const slice = part.subarray(at, at + WRITE_BYTES);
          // Called on a destroyed connection too, with an error: the loop then ends on `closed`.
          await new Promise<void>((resolve) => res.write(slice, () => resolve()));
          this.stats.servedBytes += slice.length;
        }
        return !closed;
      };
      for (let windows = 0; !closed && position < end; windows++) {
        if (first === undefined && windows >= STREAM_AFTER_WINDOWS && !this.isCached(position)) {
          position += await this.stream(position, end, handOver);
          break;
        }
        const chunk = first ?? (await this.bytesAt(position, window));
        first = undefined;
        if (chunk.length === 0) throw new TransientError('reading the object failed: it ended before the size it was announced with');
        const part = chunk.subarray(0, end - position);
        position += part.length;
        window = Math.min(window * 2, MAX_WINDOW_BYTES);
        await handOver(part);
      }
      res.end();
    } catch (error) {
      this.failure ??= error as Error;
      // ffprobe sees the upstream status where there is one, and a broken connection otherwise; the step reports `failure`.
      if (!res.headersSent) res.writeHead(upstreamStatus(error as Error)).end();
      else res.destroy();
    }
  }

  /** The cached bytes from `position` on (to the end of their span), reading `window` bytes first when none are. */
  private async bytesAt(position: number, window: number): Promise<Buffer> {
    for (;;) {
      if (this.size !== undefined && position >= this.size) return Buffer.alloc(0);
      const span = this.spans.find((s) => s.start <= position && position < s.start + s.data.length);
      if (span) {
        span.lastUsed = performance.now();
        return span.data.subarray(position - span.start);
      }
      const failed = this.failed.find((f) => f.start <= position && position < f.end);
      if (failed) throw failed.error;
      const under = this.pending.find((p) => p.start <= position && position < p.end);
      if (under) {
        await under.done;
        continue;
      }
      // Stop short of bytes already here or on their way.
      const next = Math.min(
        ...this.spans.filter((s) => s.start > position).map((s) => s.start),
        ...this.pending.filter((p) => p.start > position).map((p) => p.start),
        this.size ?? Number.POSITIVE_INFINITY,
      );
      await this.fetch(position, Math.min(window, next - position));
    }
  }

  private isCached(position: number): boolean {
    return this.spans.some((s) => s.start <= position && position < s.start + s.data.length);
  }

  /** One ranged GET of [start, start + length), cached; concurrent reads of the same bytes share it. */
  private fetch(start: number, length: number): Promise<void> {
    const pending: Pending = { start, end: start + length, done: Promise.resolve() };
    pending.done = this.get(start, length)
      .then(
        (data) => {
          if (data.length > 0) this.keep({ start, data, lastUsed: performance.now() });
        },
        (error: Error) => {
          this.failed.push({ start, end: start + length, error });
          throw error;
        },
      )
      .finally(() => {
        this.pending = this.pending.filter((p) => p !== pending);
      });
    this.pending.push(pending);
    return pending.done;
  }

  private keep(span: Span): void {
    this.spans.push(span);
    this.cachedBytes += span.data.length;
    while (this.cachedBytes > CACHE_BYTES && this.spans.length > 1) {
      const oldest = this.spans.reduce((a, b) => (a.lastUsed <= b.lastUsed ? a : b));
      this.spans = this.spans.filter((s) => s !== oldest);
      this.cachedBytes -= oldest.data.length;
    }
  }

  /**
   * Sends a ranged GET of [start, last] and resolves with its answer once the status says bytes
   * follow (206, or 200 from a server that ignored the range), learning the object's size on the
   * way; resolves undefined for 416 (nothing there), and rejects with the named error otherwise.
   */
  private open(
    start: number,
    last: number,
    connection: 'kept' | 'own' = 'kept',
  ): Promise<{ request: http.ClientRequest; response: http.IncomingMessage } | undefined> {
    const client = this.source.protocol === 'https:' ? https : http;
    const headers: Record<string, string> = { range: `bytes=${start}-${last}` };
    if (this.options.ifMatch) headers['if-match'] = this.options.ifMatch;
    this.stats.requests += 1;
    // A connection of its own is made with the kept agent's TLS settings (its CA bundle), and closed with its answer.
    const via = connection === 'kept' ? { agent: this.agent } : { agent: false as const, ca: (this.agent as https.Agent).options?.ca };
    return new Promise((resolve, reject) => {
      const request = client.get(this.source, { ...via, headers, timeout: this.options.timeoutMs }, (response) => {
        const status = response.statusCode ?? 0;
        const total = /\/(\d+)$/.exec(response.headers['content-range'] ?? '');
        if (total) this.size = Number(total[1]);
        if (status === 200) this.size = Number(response.headers['content-length'] ?? Number.NaN);
        if (status === 206 || status === 200) return resolve({ request, response });
        // Drained, so the connection stays reusable.
        response.resume();
        if (status !== 416) return reject(errorForStatus(status));
        this.size ??= start;
        resolve(undefined);
      });
      request.once('socket', () => {
        if (!request.reusedSocket) this.stats.connections += 1;
      });
      request.once('timeout', () =>
        request.destroy(new TransientError(`reading the object failed: no answer within ${this.options.timeoutMs} ms`)),
      );
      request.once('error', (error: NodeJS.ErrnoException) => reject(error instanceof TransientError ? error : errorForConnection(error)));
    });
  }

  /**
   * Hands `end - position` bytes from `position` on to `sink` as they arrive (a reader that went on
   * past its first windows: an MPEG-TS reads megabytes) over one GET, at the sink's pace, keeping
   * them for later reads; the GET is dropped when `sink` says stop. Returns the bytes handed over.
   */
  private async stream(position: number, end: number, sink: (bytes: Buffer) => Promise<boolean>): Promise<number> {
    // On a connection of its own: dropping it when ffprobe hangs up leaves the kept-alive one for seeks and the next probe.
    const opened = await this.open(position, end - 1, 'own');
    if (!opened) return 0;
    const { request, response } = opened;
    const kept: Buffer[] = [];
    let handed = 0;
    try {
      await new Promise<void>((resolve, reject) => {
        let skip = response.statusCode === 200 ? position : 0;
        response.on('data', (chunk: Buffer) => {
          this.stats.bytes += chunk.length;
          const usable = chunk.subarray(Math.min(skip, chunk.length), Math.min(chunk.length, skip + end - position - handed));
          skip = Math.max(0, skip - chunk.length);
          if (usable.length === 0) return;
          kept.push(usable);
          handed += usable.length;
          // Paused while ffprobe takes it: TCP's flow control keeps S3 from sending much further ahead.
          response.pause();
          sink(usable).then((more) => {
            if (!more || handed >= end - position) resolve();
            else response.resume();
          }, reject);
        });
        response.once('end', resolve);
        response.once('error', (error) => reject(errorForConnection(error)));
        response.once('close', () => (response.complete ? resolve() : reject(MID_ANSWER())));
      });
    } finally {
      if (!response.complete) request.destroy();
      if (handed > 0) this.keep({ start: position, data: Buffer.concat(kept), lastUsed: performance.now() });
    }
    return handed;
  }

  /** One GET of [start, start + length), whole: a window. */
  private async get(start: number, length: number): Promise<Buffer> {
    const opened = await this.open(start, start + length - 1);
    if (!opened) return Buffer.alloc(0);
    const { request, response } = opened;
    const skip = response.statusCode === 200 ? start : 0;
    return new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let received = 0;
      const whole = () => Buffer.concat(chunks).subarray(skip, skip + length);
      response.on('data', (chunk: Buffer) => {
        this.stats.bytes += chunk.length;
        chunks.push(chunk);
        received += chunk.length;
        // A server that ignored the range sends the whole object: keep what was asked for, then hang up.
        if (skip > 0 && received >= skip + length) {
          resolve(whole());
          request.destroy();
        }
      });
      response.once('end', () => resolve(whole()));
      response.once('error', (error) => reject(errorForConnection(error)));
      response.once('close', () => (response.complete ? resolve(whole()) : reject(MID_ANSWER())));
    });
  }
}

const MID_ANSWER = () => new TransientError('reading the object failed: the connection closed mid-answer');

/** The status ffprobe is answered with when the relay could not read: S3's own where it gave one. */
function upstreamStatus(error: Error): number {
  if (error instanceof ObjectChangedError) return 412;
  if (error instanceof ObjectNotFoundError) return 404;
  if (error instanceof AccessDeniedError) return 403;
  return 502;
}
