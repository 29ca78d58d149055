/**
 * The object relay over real loopback HTTP: what ffprobe is served for its range requests, what
 * the relay asks upstream (bounded, growing windows over one kept-alive connection, If-Match on
 * each), what it keeps, and the named error for each way the storage can fail.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AccessDeniedError,
  ObjectChangedError,
  ObjectNotFoundError,
  RedirectRefusedError,
  TransientError,
} from '../../functions/lib/errors';
import { FIRST_WINDOW_BYTES, ObjectRelay } from '../../functions/lib/object-relay';

const OBJECT = Buffer.from(Array.from({ length: 6 * 1024 * 1024 }, (_, i) => (i * 7919) % 251));
const ETAG = '"abc123"';

type Behaviour = 'serve' | 'ignore range' | 'redirect' | 'stall' | 'changed' | 404 | 403 | 503;

describe('ObjectRelay', () => {
  let behaviour: Behaviour = 'serve';
  const upstream: Array<{ range?: string; ifMatch?: string; socket: number }> = [];
  const sockets: unknown[] = [];
  const server = http.createServer((req, res) => {
    if (!sockets.includes(req.socket)) sockets.push(req.socket);
    upstream.push({
      range: req.headers.range,
      ifMatch: req.headers['if-match'] as string | undefined,
      socket: sockets.indexOf(req.socket),
    });
    if (behaviour === 'stall') return;
    if (behaviour === 'redirect') return void res.writeHead(307, { location: 'http://127.0.0.1:1/elsewhere' }).end();
    if (behaviour === 'changed') return void res.writeHead(412).end('<Error><Code>PreconditionFailed</Code></Error>');
    if (typeof behaviour === 'number') return void res.writeHead(behaviour).end('<Error/>');
    if (behaviour === 'ignore range') return void res.writeHead(200, { 'content-length': OBJECT.length }).end(OBJECT);
    const [, from, to] = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '') ?? [];
    if (Number(from) >= OBJECT.length) return void res.writeHead(416, { 'content-range': `bytes */${OBJECT.length}` }).end();
    const end = Math.min(Number(to) + 1, OBJECT.length);
    res.writeHead(206, { 'content-range': `bytes ${from}-${end - 1}/${OBJECT.length}` }).end(OBJECT.subarray(Number(from), end));
  });
  let port: number;
  const agent = () => new http.Agent({ keepAlive: true });
  const source = () => `http://127.0.0.1:${port}/movie.mp4?X-Amz-Signature=secret`;
  let relay: ObjectRelay | undefined;

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterEach(async () => {
    await relay?.close();
    relay = undefined;
    server.closeAllConnections();
    upstream.length = 0;
    sockets.length = 0;
    behaviour = 'serve';
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** Waits until no upstream request has started for 50 ms: the relay's read under way, if any, has ended. */
  async function settled(): Promise<void> {
    for (let seen = -1; seen !== upstream.length; ) {
      seen = upstream.length;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** A GET of the relay's URL as ffprobe sends it, read to `take` bytes then hung up on, as ffprobe does on a seek. */
  async function ffprobeGet(url: string, range: string, take = Number.POSITIVE_INFINITY) {
    return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const req = http.get(url, { headers: { range } }, (res) => {
        const chunks: Buffer[] = [];
        let got = 0;
        const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).subarray(0, take) });
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          got += chunk.length;
          if (got >= take) {
            req.destroy();
            done();
          }
        });
        res.on('end', done);
      });
      req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
    });
  }

  it('serves ffprobe 206 answers with the object size: three growing windows, then one GET of its own at its pace; a seek over the kept-alive connection; If-Match on each', async () => {
    relay = await ObjectRelay.open(source(), { ifMatch: ETAG, timeoutMs: 2000, agent: agent() });
    const head = await ffprobeGet(relay.url, 'bytes=0-', 1_500_000);
    expect(head.status).toBe(206);
    expect(head.headers['content-range']).toBe(`bytes 0-${OBJECT.length - 1}/${OBJECT.length}`);
    expect(head.body.equals(OBJECT.subarray(0, 1_500_000))).toBe(true);
    await settled();
    // A seek to the end, as an MP4 with its moov last makes.
    const tail = await ffprobeGet(relay.url, `bytes=${OBJECT.length - 100_000}-`);
    expect(tail.body.equals(OBJECT.subarray(OBJECT.length - 100_000))).toBe(true);

    const w = FIRST_WINDOW_BYTES;
    expect(upstream.map((u) => u.range)).toEqual([
      `bytes=0-${w - 1}`,
      `bytes=${w}-${3 * w - 1}`,
      `bytes=${3 * w}-${7 * w - 1}`,
      `bytes=${7 * w}-${OBJECT.length - 1}`,
      `bytes=${OBJECT.length - 100_000}-${OBJECT.length - 1}`,
    ]);
    expect(upstream.every((u) => u.ifMatch === ETAG)).toBe(true);
    // The windows share the kept-alive connection; the streamed GET had its own, dropped when ffprobe hung up; the seek is back on the kept one.
    expect(upstream.map((u) => u.socket)).toEqual([0, 0, 0, 1, 0]);
    expect(relay.stats).toMatchObject({ requests: 5, connections: 2 });
    // Paced by ffprobe: the dropped GET brought no more than socket buffers hold past what was taken.
    expect(relay.stats.bytes).toBeLessThan(1_500_000 + 100_000 + 4 * 1024 * 1024);
  });

  it('serves what it already read from memory: the second run and the faststart check cost no request', async () => {
    relay = await ObjectRelay.open(source(), { timeoutMs: 2000, agent: agent() });
    await ffprobeGet(relay.url, 'bytes=0-', 50_000);
    await settled();
    const before = upstream.length;
    expect((await relay.read(0, 4096)).equals(OBJECT.subarray(0, 4096))).toBe(true);
    expect((await relay.read(40_000, 10_000)).equals(OBJECT.subarray(40_000, 50_000))).toBe(true);
    expect(upstream.length).toBe(before);
    const again = await ffprobeGet(relay.url, 'bytes=0-', 50_000);
    expect(again.body.equals(OBJECT.subarray(0, 50_000))).toBe(true);
  });

  it('answers a bounded range, and 416 past the end, as S3 would', async () => {
    relay = await ObjectRelay.open(source(), { timeoutMs: 2000, agent: agent() });
    const bounded = await ffprobeGet(relay.url, 'bytes=10-19');
    expect(bounded.headers['content-range']).toBe(`bytes 10-19/${OBJECT.length}`);
    expect(bounded.body.equals(OBJECT.subarray(10, 20))).toBe(true);
    const past = await ffprobeGet(relay.url, `bytes=${OBJECT.length}-`);
    expect(past.status).toBe(416);
  });

  it('serves only its own path: the relay URL is a credential', async () => {
    relay = await ObjectRelay.open(source(), { timeoutMs: 2000, agent: agent() });
    const other = new URL(relay.url);
    other.pathname = '/movie.mp4';
    expect((await ffprobeGet(other.toString(), 'bytes=0-')).status).toBe(404);
    expect(relay.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{48}$/);
  });

  it.each([
    ['changed', 412, ObjectChangedError],
    [404, 404, ObjectNotFoundError],
    [403, 403, AccessDeniedError],
    [503, 502, TransientError],
    ['redirect', 502, RedirectRefusedError],
  ] as const)('names an upstream %s (ffprobe is answered %s)', async (upstreamBehaviour, served, named) => {
    behaviour = upstreamBehaviour;
    relay = await ObjectRelay.open(source(), { ifMatch: ETAG, timeoutMs: 2000, agent: agent() });
    expect((await ffprobeGet(relay.url, 'bytes=0-')).status).toBe(served);
    expect(relay.failure).toBeInstanceOf(named);
    expect(relay.failure?.message).not.toContain('secret');
  });

  it('takes only the window it asked for from a server that ignores the range', async () => {
    behaviour = 'ignore range';
    relay = await ObjectRelay.open(source(), { timeoutMs: 2000, agent: agent() });
    expect((await relay.read(0, 4096)).equals(OBJECT.subarray(0, 4096))).toBe(true);
  });

  it('fails a stalled read as transient at its timeout', async () => {
    behaviour = 'stall';
    relay = await ObjectRelay.open(source(), { timeoutMs: 200, agent: agent() });
    await expect(relay.read(0, 4096)).rejects.toThrow(new TransientError('reading the object failed: no answer within 200 ms'));
    // Only a read ffprobe made is the probe's failure; the faststart check reports its own.
    expect(relay.failure).toBeUndefined();
  });
});
