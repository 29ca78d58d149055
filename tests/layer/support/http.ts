/** Static file server on 127.0.0.1 that honours Range requests and records every request, as S3 would for a presigned GET; it can also answer a path with a redirect. */
import { createReadStream, promises as fs } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

export interface RecordedRequest {
  method: string;
  path: string;
  range?: string;
}

export interface MediaServer {
  port: number;
  /** Every request received so far, in order. */
  requests: RecordedRequest[];
  url(name: string): string;
  /** Answers every later request for `name` with `status` and `Location: location` instead of the file. */
  redirect(name: string, status: number, location: string): void;
  close(): Promise<void>;
}

export interface TlsOptions {
  key: string;
  cert: string;
  /** Host name used in URLs (resolved to 127.0.0.1 by the test's /etc/hosts). */
  host: string;
}

type ByteRange = { start: number; end: number } | 'unsatisfiable' | undefined;

/** Parses a single "bytes=" range (the only form ffmpeg sends); multi-range is answered in full. */
function parseRange(header: string | undefined, size: number): ByteRange {
  const m = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

/** Serves the files of `root` (no directory traversal) over HTTP, or HTTPS when `tls` is given. */
export async function serveDirectory(root: string, tls?: TlsOptions): Promise<MediaServer> {
  const requests: RecordedRequest[] = [];
  const redirects = new Map<string, { status: number; location: string }>();
  const handler: http.RequestListener = (req, res) => {
    void (async () => {
      const urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      requests.push({ method: req.method ?? '', path: urlPath, range: req.headers.range });
      const redirect = redirects.get(urlPath);
      if (redirect) {
        res.writeHead(redirect.status, { Location: redirect.location, 'Content-Length': '0' }).end();
        return;
      }
      const file = path.join(root, path.normalize(urlPath));
      const stat = file.startsWith(root + path.sep) ? await fs.stat(file).catch(() => undefined) : undefined;
      if (!stat?.isFile()) {
        res.writeHead(404).end();
        return;
      }
      const range = parseRange(req.headers.range, stat.size);
      if (range === 'unsatisfiable') {
        res.writeHead(416, { 'Content-Range': `bytes */${stat.size}` }).end();
        return;
      }
      const { start, end } = range ?? { start: 0, end: stat.size - 1 };
      res.writeHead(range ? 206 : 200, {
        'Accept-Ranges': 'bytes',
        'Content-Length': String(end - start + 1),
        'Content-Type': 'application/octet-stream',
        ...(range ? { 'Content-Range': `bytes ${start}-${end}/${stat.size}` } : {}),
      });
      if (req.method === 'HEAD' || stat.size === 0) {
        res.end();
        return;
      }
      createReadStream(file, { start, end })
        .on('error', () => res.destroy())
        .pipe(res);
    })();
  };
  const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `${tls ? 'https' : 'http'}://${tls ? tls.host : '127.0.0.1'}:${port}`;
  return {
    port,
    requests,
    url: (name) => `${origin}/${name}`,
    redirect: (name, status, location) => redirects.set(`/${name}`, { status, location }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
