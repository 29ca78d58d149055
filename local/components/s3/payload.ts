/**
 * Receives an upload body into a file while checking it the way S3 does: x-amz-content-sha256,
 * Content-MD5, x-amz-checksum-* (header or aws-chunked trailer), and the declared length. The
 * AWS SDK for JavaScript v3 sends stream bodies as aws-chunked with a checksum trailer
 * (STREAMING-UNSIGNED-PAYLOAD-TRAILER), so that encoding is decoded here.
 */
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import { S3Error } from './xml';

export interface ReceivedBody {
  size: number;
  md5Hex: string;
  /** Checksums the client supplied, by algorithm (`crc32`, `sha256`...), base64 as S3 returns them. */
  checksums: Record<string, string>;
}

const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
const CHECKSUM_PREFIX = 'x-amz-checksum-';
/** Line length limit while looking for a chunk header, so garbage cannot grow the buffer unbounded. */
const MAX_CHUNK_HEADER = 4096;

/** Incremental checksum for the algorithms S3 supports that Node can compute without extra packages. */
export interface Digest {
  update(data: Buffer): void;
  base64(): string;
}

export function digestFor(algorithm: string): Digest | undefined {
  if (algorithm === 'crc32') {
    let value = 0;
    return {
      update: (data) => (value = crc32(data, value)),
      base64: () => {
        const out = Buffer.alloc(4);
        out.writeUInt32BE(value >>> 0);
        return out.toString('base64');
      },
    };
  }
  if (algorithm === 'sha1' || algorithm === 'sha256') {
    const hash: Hash = createHash(algorithm);
    return { update: (data) => hash.update(data), base64: () => hash.digest('base64') };
  }
  // crc32c and crc64nvme need code Node does not ship; they are stored as given, unverified.
  return undefined;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** Stream `req`'s body into `file`; throws the S3Error S3 would return when the body does not check out. */
export async function receiveBody(req: IncomingMessage, payloadHash: string, file: string): Promise<ReceivedBody> {
  const chunked = payloadHash.startsWith('STREAMING-');
  if (chunked && payloadHash !== STREAMING_UNSIGNED_TRAILER) {
    throw new S3Error(
      501,
      'NotImplemented',
      `The local S3 endpoint does not implement ${payloadHash} uploads (the AWS SDK for JavaScript v3 uses ${STREAMING_UNSIGNED_TRAILER}).`,
    );
  }
  const declared = header(req, chunked ? 'x-amz-decoded-content-length' : 'content-length');
  if (declared === undefined || !/^\d+$/.test(declared)) {
    throw new S3Error(411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.');
  }

  const trailers = new Map<string, string>();
  const announced = chunked ? (header(req, 'x-amz-trailer') ?? '').split(',').map((t) => t.trim().toLowerCase()) : Object.keys(req.headers);
  const algorithms = announced
    .filter((h) => h.startsWith(CHECKSUM_PREFIX) && h !== `${CHECKSUM_PREFIX}type`)
    .map((h) => h.slice(CHECKSUM_PREFIX.length));
  const digests = new Map<string, Digest | undefined>(algorithms.map((a) => [a, digestFor(a)]));
  const md5 = createHash('md5');
  const sha256 = /^[0-9a-f]{64}$/.test(payloadHash) ? createHash('sha256') : undefined;
  let size = 0;

  async function* observed(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      size += chunk.length;
      md5.update(chunk);
      sha256?.update(chunk);
      for (const d of digests.values()) d?.update(chunk);
      yield chunk;
    }
  }

  // A rejected body must not destroy the request: the client should still get S3's error response.
  const source = req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>;
  const body = chunked ? decodeAwsChunked(source, trailers) : source;
  await pipeline(Readable.from(observed(body)), createWriteStream(file));

  if (size !== Number(declared)) {
    throw new S3Error(400, 'IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header');
  }
  if (sha256) {
    const computed = sha256.digest('hex');
    if (computed !== payloadHash) {
      throw new S3Error(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", {
        ClientComputedContentSHA256: payloadHash,
        S3ComputedContentSHA256: computed,
      });
    }
  }
  const md5Digest = md5.digest();
  const contentMd5 = header(req, 'content-md5');
  if (contentMd5 !== undefined && contentMd5 !== md5Digest.toString('base64')) {
    throw new S3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
  }
  const checksums: Record<string, string> = {};
  for (const [algorithm, digest] of digests) {
    const name = `${CHECKSUM_PREFIX}${algorithm}`;
    const given = chunked ? trailers.get(name) : header(req, name);
    if (given === undefined) throw new S3Error(400, 'InvalidRequest', `The ${name} trailer announced in x-amz-trailer was not sent.`);
    if (digest && digest.base64() !== given) {
      throw new S3Error(400, 'BadDigest', `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`);
    }
    checksums[algorithm] = given;
  }
  return { size, md5Hex: md5Digest.toString('hex'), checksums };
}

/** Decode `aws-chunked` framing: `<hex size>[;ext]\r\n<data>\r\n` ... `0\r\n<trailer lines>\r\n`. */
async function* decodeAwsChunked(source: AsyncIterable<Buffer>, trailers: Map<string, string>): AsyncGenerator<Buffer> {
  const malformed = () => new S3Error(400, 'InvalidRequest', 'The aws-chunked body is malformed.');
  let buf: Buffer = Buffer.alloc(0);
  let state = 'size' as 'size' | 'data' | 'crlf' | 'trailer' | 'done';
  let remaining = 0;

  const takeLine = (): string | undefined => {
    const end = buf.indexOf('\r\n');
    if (end < 0) {
      if (buf.length > MAX_CHUNK_HEADER) throw malformed();
      return undefined;
    }
    const line = buf.subarray(0, end).toString('latin1');
    buf = buf.subarray(end + 2);
    return line;
  };

  for await (const chunk of source) {
    buf = buf.length > 0 ? Buffer.concat([buf, chunk]) : chunk;
    for (;;) {
      if (state === 'size') {
        const line = takeLine();
        if (line === undefined) break;
        const hex = line.split(';')[0].trim();
        if (!/^[0-9a-fA-F]{1,16}$/.test(hex)) throw malformed();
        remaining = parseInt(hex, 16);
        state = remaining === 0 ? 'trailer' : 'data';
      } else if (state === 'data') {
        if (buf.length === 0) break;
        const n = Math.min(remaining, buf.length);
        yield buf.subarray(0, n);
        buf = buf.subarray(n);
        remaining -= n;
        if (remaining === 0) state = 'crlf';
      } else if (state === 'crlf') {
        if (buf.length < 2) break;
        if (buf[0] !== 0x0d || buf[1] !== 0x0a) throw malformed();
        buf = buf.subarray(2);
        state = 'size';
      } else if (state === 'trailer') {
        const line = takeLine();
        if (line === undefined) break;
        if (line === '') {
          state = 'done';
        } else {
          const colon = line.indexOf(':');
          if (colon <= 0) throw malformed();
          trailers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
        }
      } else {
        break;
      }
    }
  }
  if (state !== 'done') throw new S3Error(400, 'IncompleteBody', 'The aws-chunked body ended early.');
}
