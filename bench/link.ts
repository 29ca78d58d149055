/**
 * A realistic link for the benchmark: the local S3 endpoint behind TLS (a CA generated per run,
 * which our probe verifies) and a user-space TCP proxy that shapes every connection like a WAN
 * path — a round-trip time, a bottleneck bandwidth and TCP's slow start — since these machines
 * have no netem qdisc. The proxy counts connections (each one a TCP and TLS set-up) and the bytes
 * that crossed the link each way.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** The CA and the certificate are made with the openssl command line. */
export const OPENSSL = '/usr/bin/openssl';

export interface LinkShape {
  /** Round-trip time, split evenly between the two directions. */
  rttMs: number;
  /** Bottleneck bandwidth, each direction. */
  bytesPerSecond: number;
}

/** What crossed the link since the last reset. */
export interface LinkCounters {
  connections: number;
  bytesDown: number;
  bytesUp: number;
}

/** TCP's initial congestion window (RFC 6928: ten segments of 1,460 bytes). */
const INITIAL_WINDOW_BYTES = 10 * 1460;
/** A connection idle longer than the retransmission timeout (Linux: at least 200 ms) starts slow again (RFC 2861, Linux's default). */
const IDLE_RESTART_MS = 200;
/** What the sender keeps queued beyond its window before its writes block: a socket buffer's worth. */
const SENDER_QUEUE_BYTES = 256 * 1024;

export interface Certificates {
  caFile: string;
  ca: string;
  key: string;
  cert: string;
}

/** A CA and a certificate for `localhost` and 127.0.0.1 signed by it, made with the openssl command line. */
export async function generateCertificates(dir: string): Promise<Certificates> {
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => run(OPENSSL, args);
  await openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=media-probe bench CA',
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.pem'),
  );
  await openssl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-subj',
    '/CN=localhost',
    '-keyout',
    file('server.key'),
    '-out',
    file('server.csr'),
  );
  await writeFile(file('ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n');
  await openssl(
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.pem'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    file('ext.cnf'),
    '-out',
    file('server.pem'),
  );
  return {
    caFile: file('ca.pem'),
    ca: await readFile(file('ca.pem'), 'utf8'),
    key: await readFile(file('server.key'), 'utf8'),
    cert: await readFile(file('server.pem'), 'utf8'),
  };
}

/** One direction of a shaped connection: one-way delay, serialisation at the bandwidth, and a congestion window that doubles every round trip. */
class ShapedDirection {
  private linkFreeAt: number;
  private windowBytes = INITIAL_WINDOW_BYTES;
  private windowStartedAt: number;
  private sentInWindow = 0;
  /** Read from the sender, not yet on the wire. */
  private queue: Buffer[] = [];
  private queued = 0;
  /** On the wire, in order, each with the time it arrives. */
  private inFlight: Array<{ at: number; chunk: Buffer }> = [];
  private windowTimer?: NodeJS.Timeout;
  private deliveryTimer?: NodeJS.Timeout;
  private ended = false;
  private lastSentAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    private readonly shape: LinkShape,
    private readonly count: (bytes: number) => void,
    /** When the first byte may leave: a connection's first data waits for the SYN / SYN-ACK round trip. */
    startAt: number,
  ) {
    this.windowStartedAt = startAt;
    this.linkFreeAt = startAt;
    from.on('data', (chunk: Buffer) => {
      this.queue.push(chunk);
      this.queued += chunk.length;
      if (this.queued > SENDER_QUEUE_BYTES) from.pause();
      this.send();
    });
    from.on('end', () => {
      this.ended = true;
      this.send();
    });
  }

  /** Puts what the window allows on the wire. */
  private send(): void {
    if (this.windowTimer) return;
    const now = performance.now();
    if (this.queue.length > 0 && now - Math.max(this.lastSentAt, this.linkFreeAt) > IDLE_RESTART_MS && this.lastSentAt > 0) {
      this.windowBytes = INITIAL_WINDOW_BYTES;
      this.windowStartedAt = now;
      this.sentInWindow = 0;
    }
    // A window's worth per round trip; once a round trip has passed, the window has been acknowledged and doubles.
    while (now >= this.windowStartedAt + this.shape.rttMs) {
      this.windowStartedAt += this.shape.rttMs;
      if (this.sentInWindow >= this.windowBytes) this.windowBytes *= 2;
      this.sentInWindow = 0;
    }
    while (this.queue.length > 0) {
      const room = this.windowBytes - this.sentInWindow;
      if (room <= 0) {
        this.windowTimer = setTimeout(
          () => {
            this.windowTimer = undefined;
            this.send();
          },
          this.windowStartedAt + this.shape.rttMs - now,
        );
        break;
      }
      let chunk = this.queue[0];
      if (chunk.length > room) {
        this.queue[0] = chunk.subarray(room);
        chunk = chunk.subarray(0, room);
      } else {
        this.queue.shift();
      }
      this.queued -= chunk.length;
      this.sentInWindow += chunk.length;
      this.lastSentAt = now;
      this.linkFreeAt = Math.max(now, this.linkFreeAt) + (chunk.length / this.shape.bytesPerSecond) * 1000;
      this.inFlight.push({ at: this.linkFreeAt + this.shape.rttMs / 2, chunk });
    }
    if (this.queued <= SENDER_QUEUE_BYTES) this.from.resume();
    this.deliver();
  }

  /** Hands over, in order, what has arrived; then waits for the next arrival. */
  private deliver(): void {
    if (this.deliveryTimer) return;
    const now = performance.now();
    while (this.inFlight.length > 0 && this.inFlight[0].at <= now) {
      const { chunk } = this.inFlight.shift()!;
      if (this.to.destroyed) continue;
      this.count(chunk.length);
      this.to.write(chunk);
    }
    if (this.inFlight.length > 0) {
      this.deliveryTimer = setTimeout(() => {
        this.deliveryTimer = undefined;
        this.deliver();
      }, this.inFlight[0].at - now);
    } else if (this.ended && this.queue.length === 0 && !this.to.destroyed) {
      this.to.end();
    }
  }
}

export interface ShapedLink {
  /** `https://127.0.0.1:<port>`: the endpoint to presign for (the certificate names the address). */
  endpoint: string;
  counters: LinkCounters;
  reset(): void;
  /** Changes the shape for connections opened from now on. */
  reshape(shape: LinkShape): void;
  stop(): Promise<void>;
}

/** Serves `targetPort` (plain HTTP on 127.0.0.1) over TLS behind a shaped link. */
export async function startShapedLink(targetPort: number, certificates: Certificates, initial: LinkShape): Promise<ShapedLink> {
  if (!(initial.rttMs > 0 && initial.bytesPerSecond > 0))
    throw new Error('a shaped link needs a round-trip time and a bandwidth above zero');
  let shape = initial;
  const counters: LinkCounters = { connections: 0, bytesDown: 0, bytesUp: 0 };
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    // No Nagle on the proxy's own sockets: with the peer's delayed ACK it would hold a small write for 40 ms, a stall the modelled link does not have.
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  // TLS ends here, in front of the endpoint: the handshake's round trips cross the shaped link.
  const terminator = tls.createServer({ key: certificates.key, cert: certificates.cert }, (clear) => {
    track(clear);
    const endpoint = net.connect(targetPort, '127.0.0.1');
    track(endpoint);
    // Each side's end reaches the other through the pipes, after what it wrote; a reader that hangs up stops the endpoint.
    clear.pipe(endpoint).pipe(clear);
    clear.once('close', () => endpoint.destroy());
  });
  terminator.on('tlsClientError', () => undefined);
  const shaper = net.createServer((client) => {
    track(client);
    counters.connections += 1;
    const connectionShape = shape;
    const server = net.connect((terminator.address() as net.AddressInfo).port, '127.0.0.1');
    track(server);
    const afterHandshake = performance.now() + connectionShape.rttMs;
    new ShapedDirection(client, server, connectionShape, (n) => (counters.bytesUp += n), afterHandshake);
    new ShapedDirection(server, client, connectionShape, (n) => (counters.bytesDown += n), afterHandshake);
    // The server's end reaches the client once what was on the wire has arrived (ShapedDirection); a client that hangs up ends both.
    client.once('close', () => server.destroy());
  });
  for (const listener of [terminator, shaper]) {
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(0, '127.0.0.1', () => resolve());
    });
  }
  return {
    endpoint: `https://127.0.0.1:${(shaper.address() as net.AddressInfo).port}`,
    counters,
    reset() {
      counters.connections = 0;
      counters.bytesDown = 0;
      counters.bytesUp = 0;
    },
    reshape(next) {
      shape = next;
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await Promise.all([terminator, shaper].map((l) => new Promise<void>((resolve) => l.close(() => resolve()))));
    },
  };
}
