/**
 * Verifies AWS Signature Version 4 on incoming S3 requests, both header-signed and presigned, by
 * re-signing the request with the SDK's own signer for the known credentials and comparing in
 * constant time. Follows S3's rules: canonical URI not double-encoded, presigned payload is
 * UNSIGNED-PAYLOAD, every x-amz-* header present must be signed.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Sha256 } from '@smithy/core/checksum';
import { escapeUri } from '@smithy/core/protocols';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { S3Error } from './xml';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export type QueryBag = Record<string, string | string[]>;

export interface SignedRequest {
  method: string;
  /** The path exactly as received, still percent-encoded. */
  rawPath: string;
  /** Decoded query parameters. */
  query: QueryBag;
  headers: IncomingHttpHeaders;
}

export type AuthMode = 'header' | 'presigned';

export interface Verified {
  mode: AuthMode;
  /** The payload hash the signature covers: a hex digest, UNSIGNED-PAYLOAD or a STREAMING-* marker. */
  payloadHash: string;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const CONTENT_SHA256 = 'x-amz-content-sha256';
const MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_PRESIGN_EXPIRES = 7 * 24 * 3600;
const PAYLOAD_HASH = /^([0-9a-f]{64}|UNSIGNED-PAYLOAD|STREAMING-[A-Z0-9-]+)$/;
/**
 * Query-string authentication parameters. Each may appear once: the signer re-signs with one value
 * of each, so a second value (a valid signature beside a junk one, another expiry) would otherwise
 * be ignored rather than verified.
 */
const AUTH_QUERY_PARAMETERS = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
  'X-Amz-Security-Token',
];

/** S3's canonical URI: each segment decoded once and re-encoded by the SigV4 rules, slashes kept. */
export function canonicalPath(rawPath: string): string {
  return rawPath
    .split('/')
    .map((segment) => escapeUri(decodeSegment(segment)))
    .join('/');
}

/** Decode one path segment; a malformed escape is the client's error, as with S3. */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new S3Error(400, 'InvalidURI', "Couldn't parse the specified URI.");
  }
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function queryValue(query: QueryBag, name: string): string | undefined {
  const v = query[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `20240102T030405Z` to a Date, or undefined when malformed. */
function parseAmzDate(value: string | undefined): Date | undefined {
  const m = value ? /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value) : null;
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function sameSignature(expected: string, provided: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(provided);
  return a.length === b.length && timingSafeEqual(a, b);
}

const SIGNATURE_MISMATCH = () =>
  new S3Error(
    403,
    'SignatureDoesNotMatch',
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  );

const UNSUPPORTED_MECHANISM = () =>
  new S3Error(400, 'InvalidRequest', 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.');

export class SigV4Verifier {
  private readonly signer: SignatureV4;

  constructor(
    private readonly credentials: Credentials,
    private readonly region: string,
  ) {
    this.signer = new SignatureV4({
      credentials,
      region,
      service: 's3',
      sha256: Sha256,
      // S3 signs the path as sent, without the double encoding other services use.
      uriEscapePath: false,
      applyChecksum: false,
    });
  }

  /**
   * Verify the request or throw the S3Error S3 would answer with. Requests carrying no
   * signature at all are rejected too: the local buckets are private.
   */
  async verify(request: SignedRequest, now = new Date()): Promise<Verified> {
    const authorization = headerValue(request.headers, 'authorization');
    const presigned = request.query['X-Amz-Algorithm'] !== undefined || request.query['X-Amz-Signature'] !== undefined;
    if (authorization !== undefined && presigned) {
      throw new S3Error(
        400,
        'InvalidArgument',
        'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
      );
    }
    if (authorization !== undefined) return this.verifyHeader(request, authorization, now);
    if (presigned) return this.verifyPresigned(request, now);
    // Query-string SigV2 (e.g. boto3's default presigning without signature_version='s3v4').
    if (request.query.Signature !== undefined && request.query.AWSAccessKeyId !== undefined) throw UNSUPPORTED_MECHANISM();
    throw new S3Error(403, 'AccessDenied', 'Access Denied');
  }

  private checkCredential(credential: string, shortDate: string, errorCode: string, prefix: string): void {
    const [accessKeyId, date, region, service, terminator, ...rest] = credential.split('/');
    if (rest.length > 0 || terminator !== 'aws4_request' || service !== 's3' || !date || !region) {
      throw new S3Error(
        400,
        errorCode,
        `${prefix} the credential is malformed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`,
      );
    }
    if (accessKeyId !== this.credentials.accessKeyId) {
      throw new S3Error(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', {
        AWSAccessKeyId: accessKeyId,
      });
    }
    if (region !== this.region) {
      throw new S3Error(400, errorCode, `${prefix} the region '${region}' is wrong; expecting '${this.region}'`, { Region: this.region });
    }
    if (date !== shortDate) {
      throw new S3Error(400, errorCode, `${prefix} Invalid credential date. Date is not the same as X-Amz-Date.`);
    }
  }

  /** S3 refuses x-amz-* headers that the signature does not cover, and requires `host` to be signed. */
  private checkSignedHeaders(signedHeaders: string[], headers: IncomingHttpHeaders): void {
    const signed = new Set(signedHeaders);
    if (!signed.has('host')) throw SIGNATURE_MISMATCH();
    const unsigned = Object.keys(headers).filter((h) => h.startsWith('x-amz-') && !signed.has(h));
    if (unsigned.length > 0) {
      throw new S3Error(403, 'AccessDenied', 'There were headers present in the request which were not signed', {
        HeadersNotSigned: unsigned.join(', '),
      });
    }
    for (const h of signedHeaders) {
      if (headerValue(headers, h) === undefined) throw SIGNATURE_MISMATCH();
    }
  }

  private async verifyHeader(request: SignedRequest, authorization: string, now: Date): Promise<Verified> {
    const malformed = (why: string) => new S3Error(400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; ${why}`);
    const space = authorization.indexOf(' ');
    const algorithm = space < 0 ? authorization : authorization.slice(0, space);
    if (algorithm !== ALGORITHM) throw UNSUPPORTED_MECHANISM();
    const parts = new Map<string, string>();
    for (const component of authorization.slice(space + 1).split(',')) {
      const eq = component.indexOf('=');
      if (eq <= 0) continue;
      const name = component.slice(0, eq).trim();
      // A second Signature (or Credential...) would silently replace the first instead of being verified.
      if (parts.has(name)) throw malformed(`the ${name} component appears more than once.`);
      parts.set(name, component.slice(eq + 1).trim());
    }
    const credential = parts.get('Credential');
    const signedHeaders = parts.get('SignedHeaders');
    const signature = parts.get('Signature');
    if (!credential || !signedHeaders || !signature) {
      throw malformed('the authorization header requires three components: Credential, SignedHeaders, and Signature.');
    }

    const amzDate = headerValue(request.headers, 'x-amz-date');
    const signingDate = parseAmzDate(amzDate);
    if (!amzDate || !signingDate) throw new S3Error(403, 'AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
    this.checkCredential(credential, amzDate.slice(0, 8), 'AuthorizationHeaderMalformed', 'The authorization header is malformed;');
    if (Math.abs(now.getTime() - signingDate.getTime()) > MAX_SKEW_MS) {
      throw new S3Error(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', {
        RequestTime: amzDate,
        ServerTime: now.toISOString(),
        MaxAllowedSkewMilliseconds: String(MAX_SKEW_MS),
      });
    }

    const payloadHash = headerValue(request.headers, CONTENT_SHA256);
    if (payloadHash === undefined) throw new S3Error(400, 'InvalidRequest', `Missing required header for this request: ${CONTENT_SHA256}`);
    if (!PAYLOAD_HASH.test(payloadHash)) {
      throw new S3Error(400, 'InvalidArgument', `${CONTENT_SHA256} must be UNSIGNED-PAYLOAD, STREAMING-* or a valid sha256 value.`, {
        ArgumentName: CONTENT_SHA256,
        ArgumentValue: payloadHash,
      });
    }

    const names = signedHeaders.split(';');
    this.checkSignedHeaders(names, request.headers);
    const toSign = this.rebuild(request, names, request.query);
    const signed = await this.signer.sign(toSign, { signingDate, signableHeaders: new Set(names) });
    const expected = /SignedHeaders=([^,]*), Signature=([0-9a-f]+)$/.exec(String(signed.headers.authorization));
    if (!expected || expected[1] !== signedHeaders || !sameSignature(expected[2], signature)) throw SIGNATURE_MISMATCH();
    return { mode: 'header', payloadHash };
  }

  private async verifyPresigned(request: SignedRequest, now: Date): Promise<Verified> {
    const q = (name: string) => queryValue(request.query, name);
    const paramError = (message: string) => new S3Error(400, 'AuthorizationQueryParametersError', message);
    const repeated = AUTH_QUERY_PARAMETERS.find((name) => Array.isArray(request.query[name]));
    if (repeated) throw paramError(`${repeated} must be specified only once.`);
    if (q('X-Amz-Algorithm') !== ALGORITHM) throw paramError('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
    const credential = q('X-Amz-Credential');
    const amzDate = q('X-Amz-Date');
    const expires = q('X-Amz-Expires');
    const signedHeaders = q('X-Amz-SignedHeaders');
    const signature = q('X-Amz-Signature');
    if (!credential || !amzDate || !expires || !signedHeaders || !signature) {
      throw paramError(
        'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
      );
    }
    const signingDate = parseAmzDate(amzDate);
    if (!signingDate) throw paramError("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
    if (!/^\d+$/.test(expires)) throw paramError('X-Amz-Expires should be a number');
    const expiresIn = Number(expires);
    if (expiresIn > MAX_PRESIGN_EXPIRES) {
      throw paramError(
        'X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds',
      );
    }
    this.checkCredential(
      credential,
      amzDate.slice(0, 8),
      'AuthorizationQueryParametersError',
      'Error parsing the X-Amz-Credential parameter;',
    );
    const expiry = new Date(signingDate.getTime() + expiresIn * 1000);
    // A URL signed later than now (beyond the clock skew S3 tolerates) is refused until its time
    // comes; S3 reports X-Amz-Date here in epoch milliseconds.
    if (signingDate.getTime() - now.getTime() > MAX_SKEW_MS) {
      throw new S3Error(403, 'AccessDenied', 'Request is not yet valid', {
        'X-Amz-Date': String(signingDate.getTime()),
        Expires: expiry.toISOString(),
        ServerTime: now.toISOString(),
      });
    }
    if (now > expiry) {
      throw new S3Error(403, 'AccessDenied', 'Request has expired', {
        'X-Amz-Expires': expires,
        Expires: expiry.toISOString(),
        ServerTime: now.toISOString(),
      });
    }

    const names = signedHeaders.split(';');
    this.checkSignedHeaders(names, request.headers);
    const query = { ...request.query };
    delete query['X-Amz-Signature'];
    const toSign = this.rebuild(request, names, query);
    // Presigned URLs always sign UNSIGNED-PAYLOAD; feed it through the header the signer reads, keeping
    // that header out of the signed list unless the client really signed it.
    const signsContentHash = names.includes(CONTENT_SHA256);
    if (!signsContentHash) toSign.headers[CONTENT_SHA256] = UNSIGNED_PAYLOAD;
    const presigned = await this.signer.presign(toSign, {
      signingDate,
      expiresIn,
      signableHeaders: new Set(names),
      unsignableHeaders: signsContentHash ? undefined : new Set([CONTENT_SHA256]),
      // Headers stay headers: hoisting them into the query would change what is being verified.
      unhoistableHeaders: new Set(Object.keys(toSign.headers)),
    });
    const expectedSigned = queryValue(presigned.query as QueryBag, 'X-Amz-SignedHeaders');
    const expected = queryValue(presigned.query as QueryBag, 'X-Amz-Signature');
    if (expectedSigned !== signedHeaders || !expected || !sameSignature(expected, signature)) throw SIGNATURE_MISMATCH();
    // checkSignedHeaders has made sure every signed header, a signed x-amz-content-sha256 too, is in the request.
    return { mode: 'presigned', payloadHash: (signsContentHash && headerValue(request.headers, CONTENT_SHA256)) || UNSIGNED_PAYLOAD };
  }

  /** The request as the client signed it: canonical path, the given query and only the signed headers. */
  private rebuild(request: SignedRequest, signedHeaders: string[], query: QueryBag): HttpRequest {
    const headers: Record<string, string> = {};
    for (const name of signedHeaders) headers[name] = headerValue(request.headers, name) ?? '';
    return new HttpRequest({
      method: request.method,
      protocol: 'http:',
      hostname: 'localhost',
      path: canonicalPath(request.rawPath),
      query,
      headers,
    });
  }
}
