/**
 * A local S3 endpoint (path-style, file-system backed) that authenticates every request with
 * SigV4 like S3 does, serves Range GETs, and can be told to fail requests with S3's 5xx errors.
 * It implements what media-probe and its clients use: CreateBucket, HeadBucket, PutObject, DeleteObject,
 * GetObject and HeadObject, header-signed or presigned, and the multipart upload that
 * `aws s3 cp` uses for large files (CreateMultipartUpload, UploadPart, ListParts,
 * CompleteMultipartUpload, AbortMultipartUpload). Anything else is refused with S3's
 * NotImplemented error, naming the operation, rather than faked.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../constants';
import { type FaultHandle, FaultInjector, type TakenFault } from '../faults';
import { track } from '../lifecycle';
import {
  checksumElements,
  compositeChecksums,
  multipartEtag,
  noSuchUpload,
  parseCompletion,
  partNumberOf,
  partsToComplete,
} from './multipart';
import { receiveBody } from './payload';
import { type AuthMode, type Credentials, decodeSegment, type QueryBag, SigV4Verifier } from './sigv4';
import { ObjectStore, type Representation, type UploadInfo } from './store';
import { S3Error, s3Document, xmlElement } from './xml';

/** The faults that answer with an S3 error: SlowDown (503), InternalError (500), ServiceUnavailable (503). */
type S3ErrorFault = 'SlowDown' | 'InternalError' | 'ServiceUnavailable';

/**
 * What a fault does to a matching request: answer with that S3 error, or `Stall`: accept the
 * request (its body left unread) and never answer, so that a client's timeouts can be tested. A
 * stalled request waits until its fault is cleared (by the handle or by `faults.clear()`; it is
 * then served as usual), until the client gives up, or until the endpoint stops. `times` counts
 * the requests stalled, and a stalled request is recorded with status 0.
 */
export type S3FaultCode = S3ErrorFault | 'Stall';

export interface S3FaultRule {
  code: S3FaultCode;
  /** HTTP method to match (GET, HEAD, PUT); any when omitted. */
  method?: string;
  /**
   * Operation name to match (GetObject, PutObject, HeadObject, CreateBucket, HeadBucket,
   * CreateMultipartUpload, UploadPart, ListParts, CompleteMultipartUpload, AbortMultipartUpload).
   */
  operation?: string;
  bucket?: string;
  /** Exact key, or a pattern tested against the key. */
  key?: string | RegExp;
  /** How many matching requests fail (default 1); Infinity fails them until cleared. */
  times?: number;
}

export interface S3RequestRecord {
  time: string;
  method: string;
  operation: string;
  bucket?: string;
  key?: string;
  auth: AuthMode | 'none';
  /** The status answered; 0 while unanswered (a stalled request), and for good when the connection closed first. */
  status: number;
  range?: string;
  /** For uploads: decoded body size and whether it came aws-chunked (the SDK's framing for stream bodies). */
  upload?: { bytes: number; encoding: 'aws-chunked' | 'plain' };
}

export interface S3EndpointOptions {
  /** Buckets and objects persist here; without it they live in a temporary directory removed on stop(). */
  dataDir?: string;
  credentials?: Credentials;
  region?: string;
  /** Loopback port; a free one when omitted. */
  port?: number;
  /** Where unexpected internal errors are reported (never request URLs); stderr by default. */
  log?: (line: string) => void;
  /** Told of every object created or deleted, as S3 tells EventBridge once a bucket's EventBridge notifications are on. */
  onObjectEvent?: (event: S3ObjectEvent) => void;
  /** The account the events name (the bucket owner). */
  account?: string;
}

/** An "Object Created" / "Object Deleted" event as S3 sends it to EventBridge (the fields media-probe and most rules read). */
export interface S3ObjectEvent {
  version: '0';
  id: string;
  'detail-type': 'Object Created' | 'Object Deleted';
  source: 'aws.s3';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: {
    version: '0';
    bucket: { name: string };
    object: { key: string; size?: number; etag?: string; sequencer: string };
    'request-id': string;
    requester: string;
    reason: string;
    'deletion-type'?: 'Permanently Deleted';
  };
}

export interface S3Endpoint {
  endpoint: string;
  region: string;
  faults: S3Faults;
  /** The most recent requests (up to MAX_RECORDS), oldest first; URLs are left out as presigned ones are credentials. */
  requests: readonly S3RequestRecord[];
  stop(): Promise<void>;
}

interface FaultView {
  method: string;
  operation: string;
  bucket?: string;
  key?: string;
}

const FAULTS: Record<S3ErrorFault, { status: number; message: string }> = {
  SlowDown: { status: 503, message: 'Please reduce your request rate.' },
  InternalError: { status: 500, message: 'We encountered an internal error. Please try again.' },
  ServiceUnavailable: { status: 503, message: 'Service is unable to handle request.' },
};

/** Faults for the S3 endpoint, matched on method, operation, bucket and key. */
export class S3Faults {
  private readonly injector = new FaultInjector<FaultView, S3FaultCode>();

  inject(rule: S3FaultRule): FaultHandle {
    if (!(rule.code in FAULTS) && rule.code !== 'Stall') throw new Error(`unknown S3 fault ${String(rule.code)}`);
    const { method, operation, bucket, key } = rule;
    return this.injector.arm(
      (r) =>
        (method === undefined || method.toUpperCase() === r.method) &&
        (operation === undefined || operation === r.operation) &&
        (bucket === undefined || bucket === r.bucket) &&
        (key === undefined || (r.key !== undefined && (typeof key === 'string' ? key === r.key : key.test(r.key)))),
      rule.code,
      rule.times,
    );
  }

  clear(): void {
    this.injector.clear();
  }

  /** Consume the fault for one request, if armed (used by the endpoint). */
  take(view: FaultView): TakenFault<S3FaultCode> | undefined {
    return this.injector.take(view);
  }
}

const MAX_RECORDS = 1000;
/** Request documents (CompleteMultipartUpload's list of up to 10,000 parts) are read into memory up to this size. */
const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;
/** Representation headers kept from PutObject (or CreateMultipartUpload) and returned on Get/HeadObject. */
const STORED_HEADERS = ['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires'];
/**
 * Conditional request headers the endpoint does not evaluate. Ignoring one would answer 200 where
 * S3 answers 304 or 412, or overwrite an object the client meant to keep, so they are refused.
 */
const CONDITIONAL_HEADERS = ['If-Match', 'If-None-Match', 'If-Modified-Since', 'If-Unmodified-Since'];

type Target = 'service' | 'bucket' | 'object';

/**
 * S3 operations by method, what the path names, and the sub-resource query parameter that selects
 * them (none: the request has no sub-resource parameter). Only those with a handler are served;
 * the others are listed so that the refusal names what a client tried (`aws s3 ls` is
 * ListObjectsV2, a large `aws s3 cp` is CreateMultipartUpload).
 */
const OPERATIONS: ReadonlyArray<{ method: string; target: Target; param?: string; operation: string }> = [
  { method: 'PUT', target: 'bucket', operation: 'CreateBucket' },
  { method: 'HEAD', target: 'bucket', operation: 'HeadBucket' },
  { method: 'PUT', target: 'object', operation: 'PutObject' },
  { method: 'GET', target: 'object', operation: 'GetObject' },
  { method: 'HEAD', target: 'object', operation: 'HeadObject' },
  { method: 'GET', target: 'service', operation: 'ListBuckets' },
  { method: 'GET', target: 'bucket', param: 'list-type', operation: 'ListObjectsV2' },
  { method: 'GET', target: 'bucket', operation: 'ListObjects' },
  { method: 'DELETE', target: 'bucket', operation: 'DeleteBucket' },
  { method: 'POST', target: 'bucket', param: 'delete', operation: 'DeleteObjects' },
  { method: 'DELETE', target: 'object', operation: 'DeleteObject' },
  { method: 'POST', target: 'object', param: 'uploads', operation: 'CreateMultipartUpload' },
  { method: 'PUT', target: 'object', param: 'uploadId', operation: 'UploadPart' },
  { method: 'GET', target: 'object', param: 'uploadId', operation: 'ListParts' },
  { method: 'POST', target: 'object', param: 'uploadId', operation: 'CompleteMultipartUpload' },
  { method: 'DELETE', target: 'object', param: 'uploadId', operation: 'AbortMultipartUpload' },
  { method: 'GET', target: 'bucket', param: 'uploads', operation: 'ListMultipartUploads' },
];

interface Route {
  /** S3's name for the request (see OPERATIONS), or a description of it when that table has none. */
  operation: string;
  bucket?: string;
  key?: string;
}

interface Context {
  req: IncomingMessage;
  res: ServerResponse;
  route: Route;
  query: QueryBag;
  payloadHash: string;
  record: S3RequestRecord;
}

/** Start the endpoint on 127.0.0.1 and resolve once it accepts connections. */
export async function startS3Endpoint(options: S3EndpointOptions): Promise<S3Endpoint> {
  const credentials = options.credentials ?? LOCAL_CREDENTIALS;
  const region = options.region ?? LOCAL_REGION;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const scratch = options.dataDir ? undefined : await fs.mkdtemp(path.join(os.tmpdir(), 'media-probe-s3-'));
  const store = new ObjectStore(options.dataDir ?? scratch ?? '');
  await store.init();
  const verifier = new SigV4Verifier(credentials, region);
  const faults = new S3Faults();
  const requests: S3RequestRecord[] = [];

  const handlers: Partial<Record<string, (ctx: Context) => Promise<void>>> = {
    CreateBucket: async ({ req, res, route }) => {
      await drain(req);
      const bucket = bucketOf(route);
      const created = await store.createBucket(bucket);
      // us-east-1 answers 200 to re-creating your own bucket; every other region says 409.
      if (!created && region !== 'us-east-1') {
        throw new S3Error(
          409,
          'BucketAlreadyOwnedByYou',
          'Your previous request to create the named bucket succeeded and you already own it.',
          { BucketName: bucket },
        );
      }
      res.writeHead(200, { Location: `/${bucket}`, 'Content-Length': 0 }).end();
    },
    HeadBucket: async ({ res, route }) => {
      await requireBucket(bucketOf(route));
      res.writeHead(200, { 'x-amz-bucket-region': region, 'Content-Length': 0 }).end();
    },
    PutObject: putObject,
    DeleteObject: async ({ req, res, route }) => {
      await drain(req);
      const { bucket, key } = objectOf(route);
      await requireBucket(bucket);
      // S3 answers 204 whether or not there was an object; only a removal is an event.
      if (await store.remove(bucket, key)) notify('Object Deleted', bucket, key, 'DeleteObject');
      res.writeHead(204).end();
    },
    GetObject: getObject,
    HeadObject: getObject,
    CreateMultipartUpload: async ({ req, res, route }) => {
      await drain(req);
      const { bucket, key } = objectOf(route);
      await requireBucket(bucket);
      checkKeyLength(key);
      const upload = await store.createUpload({ bucket, key, representation: representationOf(req) });
      sendXml(
        res,
        s3Document('InitiateMultipartUploadResult', [
          xmlElement('Bucket', bucket),
          xmlElement('Key', key),
          xmlElement('UploadId', upload.uploadId),
        ]),
      );
    },
    UploadPart: async ({ req, res, route, query, payloadHash, record }) => {
      const partNumber = partNumberOf(firstValue(query, 'partNumber'));
      const upload = await uploadOf(route, query);
      // Parts go to disk as they arrive, like objects: a 5 GiB part never sits in memory.
      const temp = store.tempFile();
      try {
        const body = await receiveBody(req, payloadHash, temp);
        record.upload = { bytes: body.size, encoding: payloadHash.startsWith('STREAMING-') ? 'aws-chunked' : 'plain' };
        const part = await store.commitPart(upload.uploadId, partNumber, temp, {
          size: body.size,
          etag: `"${body.md5Hex}"`,
          lastModified: wholeSecondsNow(),
          checksums: body.checksums,
        });
        if (!part) throw noSuchUpload(upload.uploadId);
        res.writeHead(200, { ETag: part.etag, 'Content-Length': 0, ...checksumHeaders(part.checksums) }).end();
      } finally {
        await fs.rm(temp, { force: true });
      }
    },
    ListParts: async ({ req, res, route, query }) => {
      await drain(req);
      const upload = await uploadOf(route, query);
      const marker = integerParameter(query, 'part-number-marker', 0);
      const maxParts = Math.min(integerParameter(query, 'max-parts', 1000), 1000);
      const following = (await store.parts(upload.uploadId)).filter((part) => part.partNumber > marker);
      const page = following.slice(0, maxParts);
      sendXml(
        res,
        s3Document('ListPartsResult', [
          xmlElement('Bucket', upload.bucket),
          xmlElement('Key', upload.key),
          xmlElement('UploadId', upload.uploadId),
          xmlElement('PartNumberMarker', marker),
          xmlElement('NextPartNumberMarker', page.at(-1)?.partNumber ?? marker),
          xmlElement('MaxParts', maxParts),
          xmlElement('IsTruncated', following.length > page.length),
          ...page.map((part) =>
            xmlElement('Part', [
              xmlElement('PartNumber', part.partNumber),
              xmlElement('LastModified', part.lastModified),
              xmlElement('ETag', part.etag),
              xmlElement('Size', part.size),
              ...checksumElements(part.checksums),
            ]),
          ),
          xmlElement('StorageClass', 'STANDARD'),
        ]),
      );
    },
    CompleteMultipartUpload: async ({ req, res, route, query, payloadHash }) => {
      const upload = await uploadOf(route, query);
      const listed = parseCompletion(await receiveDocument(req, payloadHash));
      const parts = partsToComplete(upload.uploadId, listed, await store.parts(upload.uploadId));
      const checksums = compositeChecksums(parts);
      const object = await store.completeUpload(upload, parts, {
        size: parts.reduce((total, part) => total + part.size, 0),
        etag: multipartEtag(parts),
        lastModified: wholeSecondsNow(),
        ...upload.representation,
        checksums,
      });
      if (!object) throw noSuchUpload(upload.uploadId);
      notify('Object Created', upload.bucket, upload.key, 'CompleteMultipartUpload', object);
      const location = `http://${req.headers.host}/${upload.bucket}/${upload.key.split('/').map(encodeURIComponent).join('/')}`;
      sendXml(
        res,
        s3Document('CompleteMultipartUploadResult', [
          xmlElement('Location', location),
          xmlElement('Bucket', upload.bucket),
          xmlElement('Key', upload.key),
          xmlElement('ETag', object.etag),
          ...checksumElements(checksums),
          ...(Object.keys(checksums).length > 0 ? [xmlElement('ChecksumType', 'COMPOSITE')] : []),
        ]),
      );
    },
    AbortMultipartUpload: async ({ req, res, route, query }) => {
      await drain(req);
      const upload = await uploadOf(route, query);
      if (!(await store.abortUpload(upload.uploadId))) throw noSuchUpload(upload.uploadId);
      res.writeHead(204).end();
    },
  };

  async function requireBucket(bucket: string): Promise<void> {
    if (!(await store.bucketExists(bucket))) throw noSuchBucket(bucket);
  }

  /** The upload in progress that the uploadId parameter names, for the bucket and key of the request. */
  async function uploadOf(route: Route, query: QueryBag): Promise<UploadInfo> {
    const { bucket, key } = objectOf(route);
    await requireBucket(bucket);
    const uploadId = firstValue(query, 'uploadId') ?? '';
    const upload = await store.upload(uploadId);
    if (!upload || upload.bucket !== bucket || upload.key !== key) throw noSuchUpload(uploadId);
    return upload;
  }

  /** A request document, checked like any upload body (signed hash, Content-MD5, checksums), up to MAX_DOCUMENT_BYTES. */
  async function receiveDocument(req: IncomingMessage, payloadHash: string): Promise<string> {
    const temp = store.tempFile();
    try {
      const body = await receiveBody(req, payloadHash, temp);
      if (body.size > MAX_DOCUMENT_BYTES) throw new S3Error(400, 'MaxMessageLengthExceeded', 'Your request was too big.');
      return await fs.readFile(temp, 'utf8');
    } finally {
      await fs.rm(temp, { force: true });
    }
  }

  async function putObject({ req, res, route, payloadHash, record }: Context): Promise<void> {
    const { bucket, key } = objectOf(route);
    await requireBucket(bucket);
    checkKeyLength(key);
    const temp = store.tempFile();
    try {
      const body = await receiveBody(req, payloadHash, temp);
      record.upload = { bytes: body.size, encoding: payloadHash.startsWith('STREAMING-') ? 'aws-chunked' : 'plain' };
      const meta = await store.commit(bucket, key, temp, {
        size: body.size,
        etag: `"${body.md5Hex}"`,
        lastModified: wholeSecondsNow(),
        ...representationOf(req),
        checksums: body.checksums,
      });
      res.writeHead(200, { ETag: meta.etag, 'Content-Length': 0, ...checksumHeaders(meta.checksums) }).end();
      notify('Object Created', bucket, key, 'PutObject', meta);
    } finally {
      await fs.rm(temp, { force: true });
    }
  }

  let sequence = 0;
  function notify(
    type: S3ObjectEvent['detail-type'],
    bucket: string,
    key: string,
    reason: string,
    meta?: { size: number; etag: string },
  ): void {
    if (!options.onObjectEvent) return;
    sequence += 1;
    options.onObjectEvent({
      version: '0',
      id: randomUUID(),
      'detail-type': type,
      source: 'aws.s3',
      account: options.account ?? '000000000000',
      time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      region,
      resources: [`arn:aws:s3:::${bucket}`],
      detail: {
        version: '0',
        bucket: { name: bucket },
        object: {
          key,
          ...(meta ? { size: meta.size, etag: meta.etag.replace(/"/g, '') } : {}),
          sequencer: sequence.toString(16).padStart(18, '0'),
        },
        'request-id': randomUUID(),
        requester: options.account ?? '000000000000',
        reason,
        ...(type === 'Object Deleted' ? { 'deletion-type': 'Permanently Deleted' as const } : {}),
      },
    });
  }

  async function getObject({ req, res, route, query }: Context): Promise<void> {
    const { bucket, key } = objectOf(route);
    await requireBucket(bucket);
    const head = await store.head(bucket, key);
    if (!head) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
    const ifMatch = singleHeader(req, 'if-match');
    if (ifMatch !== undefined && !etagMatches(ifMatch, head.etag)) {
      throw new S3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
        Condition: 'If-Match',
      });
    }
    const requested = singleHeader(req, 'range');
    const range = parseRange(requested, head.size);
    if (range === 'unsatisfiable') {
      res.setHeader('Content-Range', `bytes */${head.size}`);
      throw new S3Error(416, 'InvalidRange', 'The requested range is not satisfiable', {
        RangeRequested: requested ?? '',
        ActualObjectSize: String(head.size),
      });
    }
    const opened = req.method === 'HEAD' ? { meta: head, stream: undefined } : await store.open(bucket, key, range);
    if (!opened) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
    const { meta, stream } = opened;
    const headers: Record<string, string | number> = {
      'Content-Type': meta.contentType,
      'Content-Length': range ? range.end - range.start + 1 : meta.size,
      ETag: meta.etag,
      'Last-Modified': new Date(meta.lastModified).toUTCString(),
      'Accept-Ranges': 'bytes',
      ...meta.headers,
    };
    for (const [name, value] of Object.entries(meta.userMetadata)) headers[`x-amz-meta-${name}`] = value;
    const checksumMode = singleHeader(req, 'x-amz-checksum-mode') ?? firstValue(query, 'x-amz-checksum-mode');
    // S3 only returns full-object checksums, and only when asked; the SDK then validates the body against them.
    if (checksumMode === 'ENABLED' && !range) {
      Object.assign(headers, checksumHeaders(meta.checksums));
      // A multipart object's checksums are composite, `<checksum of the part checksums>-<parts>`: base64 has no '-'.
      const values = Object.values(meta.checksums);
      if (values.length > 0) headers['x-amz-checksum-type'] = values.some((v) => v.includes('-')) ? 'COMPOSITE' : 'FULL_OBJECT';
    }
    if (range) headers['Content-Range'] = `bytes ${range.start}-${range.end}/${meta.size}`;
    res.writeHead(range ? 206 : 200, headers);
    if (!stream) {
      res.end();
      return;
    }
    await pipeline(stream, res);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    res.setHeader('x-amz-request-id', requestId);
    res.setHeader('x-amz-id-2', randomBytes(24).toString('base64'));
    res.setHeader('Server', 'AmazonS3');
    const method = req.method ?? 'GET';
    const record: S3RequestRecord = { time: new Date().toISOString(), method, operation: 'Unknown', auth: 'none', status: 0 };
    const range = singleHeader(req, 'range');
    if (range !== undefined) record.range = range;
    requests.push(record);
    if (requests.length > MAX_RECORDS) requests.splice(0, requests.length - MAX_RECORDS);
    res.on('finish', () => (record.status = res.statusCode));

    try {
      const target = req.url ?? '/';
      const q = target.indexOf('?');
      const rawPath = q < 0 ? target : target.slice(0, q);
      const query = parseQuery(q < 0 ? '' : target.slice(q + 1));
      const route = resolveRoute(method, rawPath, query, req.headers);
      Object.assign(record, route);
      const verified = await verifier.verify({ method, rawPath, query, headers: req.headers });
      record.auth = verified.mode;
      const handler = handlers[route.operation];
      if (!handler) {
        throw new S3Error(
          501,
          'NotImplemented',
          `The local S3 endpoint does not implement ${route.operation}; it implements ${Object.keys(handlers).join(', ')}.`,
        );
      }
      // If-Match is evaluated on reads (GetObject, HeadObject), as the probe relies on it; every other conditional is refused.
      const evaluated = route.operation === 'GetObject' || route.operation === 'HeadObject' ? ['If-Match'] : [];
      const conditional = CONDITIONAL_HEADERS.find((h) => !evaluated.includes(h) && req.headers[h.toLowerCase()] !== undefined);
      if (conditional) {
        throw new S3Error(
          501,
          'NotImplemented',
          `A header you provided implies functionality that is not implemented: the local S3 endpoint does not evaluate ${conditional}.`,
          {
            Header: conditional,
          },
        );
      }
      const taken = faults.take({ method, ...route });
      if (taken) {
        const { fault, cleared } = taken;
        if (fault !== 'Stall') throw new S3Error(FAULTS[fault].status, fault, FAULTS[fault].message);
        if (!(await stalled(res, cleared))) return;
      }
      await handler({ req, res, route, query, payloadHash: verified.payloadHash, record });
    } catch (err) {
      sendError(req, res, err, requestId, log);
    }
  }

  const server = http.createServer((req, res) => void handle(req, res));
  // Idle connections stay open until the client closes them: a server that closes them races the
  // SDK's keep-alive agent, which may reuse one just then (ECONNRESET where S3 would not fail).
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  let stopping: Promise<void> | undefined;
  const resource = {
    stop(): Promise<void> {
      stopping ??= (async () => {
        untrack();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        if (scratch) await fs.rm(scratch, { recursive: true, force: true });
      })();
      return stopping;
    },
    stopSync(): void {
      server.closeAllConnections();
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    },
  };
  const untrack = track(resource);

  return { endpoint: `http://127.0.0.1:${port}`, region, faults, requests, stop: resource.stop };
}

/** Map a path-style request to the S3 operation it asks for (see OPERATIONS). */
function resolveRoute(method: string, rawPath: string, query: QueryBag, headers: IncomingHttpHeaders): Route {
  const slash = rawPath.indexOf('/', 1);
  const rawBucket = slash < 0 ? rawPath.slice(1) : rawPath.slice(1, slash);
  const rawKey = slash < 0 ? '' : rawPath.slice(slash + 1);
  const bucket = rawBucket ? decodeSegment(rawBucket) : undefined;
  // Every route, not only CreateBucket: the name becomes a directory, and a decoded `..%2F` would leave the store.
  if (bucket !== undefined && !validBucketName(bucket)) {
    throw new S3Error(400, 'InvalidBucketName', 'The specified bucket is not valid.', { BucketName: bucket });
  }
  const key = rawKey ? decodeSegment(rawKey) : undefined;
  // Authentication parameters and the SDK's x-id=<operation> marker do not select an operation.
  const params = Object.keys(query).filter((p) => !p.startsWith('X-Amz-') && !p.startsWith('x-amz-') && p !== 'x-id');
  const target: Target = key !== undefined ? 'object' : bucket !== undefined ? 'bucket' : 'service';
  const known = OPERATIONS.find(
    (o) => o.method === method && o.target === target && (o.param === undefined ? params.length === 0 : params.includes(o.param)),
  );
  let operation =
    known?.operation ??
    `${method} on ${target === 'object' ? 'an object' : `the ${target}`}${params.length > 0 ? ` with ?${params.join('&')}` : ''}`;
  // CopyObject is a PutObject whose body comes from another object, UploadPartCopy such an UploadPart.
  if (headers['x-amz-copy-source'] !== undefined) {
    if (operation === 'PutObject') operation = 'CopyObject';
    if (operation === 'UploadPart') operation = 'UploadPartCopy';
  }
  return { operation, ...(bucket !== undefined && { bucket }), ...(key !== undefined && { key }) };
}

/** The bucket a bucket or object operation names: the route table sends only those operations to handlers that ask. */
function bucketOf(route: Route): string {
  if (route.bucket === undefined) throw new S3Error(400, 'InvalidRequest', `${route.operation} needs a bucket in the path`);
  return route.bucket;
}

/** The bucket and key an object operation names. */
function objectOf(route: Route): { bucket: string; key: string } {
  if (route.key === undefined) throw new S3Error(400, 'InvalidRequest', `${route.operation} needs an object key in the path`);
  return { bucket: bucketOf(route), key: route.key };
}

function parseQuery(raw: string): QueryBag {
  const query: QueryBag = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    const existing = query[k];
    if (existing === undefined) query[k] = v;
    else query[k] = Array.isArray(existing) ? [...existing, v] : [existing, v];
  }
  return query;
}

/** The representation an upload gives its object: content type, the STORED_HEADERS and x-amz-meta-* user metadata. */
function representationOf(req: IncomingMessage): Representation {
  const headers: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    const value = singleHeader(req, name);
    if (value !== undefined) headers[name] = value;
  }
  // aws-chunked is transfer framing, not part of the object's representation.
  const encoding = headers['content-encoding']
    ?.split(',')
    .map((v) => v.trim())
    .filter((v) => v && v !== 'aws-chunked')
    .join(', ');
  if (encoding) headers['content-encoding'] = encoding;
  else delete headers['content-encoding'];
  const userMetadata: Record<string, string> = {};
  for (const name of Object.keys(req.headers)) {
    const value = singleHeader(req, name);
    if (name.startsWith('x-amz-meta-') && value !== undefined) userMetadata[name.slice('x-amz-meta-'.length)] = value;
  }
  return { contentType: singleHeader(req, 'content-type') ?? 'binary/octet-stream', headers, userMetadata };
}

function checkKeyLength(key: string): void {
  if (Buffer.byteLength(key) > 1024) throw new S3Error(400, 'KeyTooLongError', 'Your key is too long');
}

/** S3 keeps whole seconds, and the Last-Modified header carries no more. */
/** If-Match as S3 evaluates it: `*`, or one of the listed entity tags equal to the object's. */
function etagMatches(header: string, etag: string): boolean {
  return header
    .split(',')
    .map((tag) => tag.trim())
    .some((tag) => tag === '*' || tag === etag);
}

function wholeSecondsNow(): string {
  return new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
}

function checksumHeaders(checksums: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(checksums).map(([algorithm, value]) => [`x-amz-checksum-${algorithm}`, value]));
}

/** A non-negative integer query parameter, `fallback` when absent. */
function integerParameter(query: QueryBag, name: string, fallback: number): number {
  const value = firstValue(query, name);
  if (value === undefined) return fallback;
  if (!/^\d{1,9}$/.test(value)) {
    throw new S3Error(400, 'InvalidArgument', `Provided ${name} not an integer or within integer range`, {
      ArgumentName: name,
      ArgumentValue: value,
    });
  }
  return Number(value);
}

function sendXml(res: ServerResponse, document: string): void {
  const body = Buffer.from(document);
  res.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Length': body.length }).end(body);
}

function firstValue(query: QueryBag, name: string): string | undefined {
  const v = query[name];
  return Array.isArray(v) ? v[0] : v;
}

function singleHeader(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function noSuchBucket(bucket: string): S3Error {
  return new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
}

function validBucketName(name: string): boolean {
  return /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) && !name.includes('..') && !/^\d+\.\d+\.\d+\.\d+$/.test(name);
}

/** Inclusive byte range for a single-range `Range` header; undefined means serve the whole object. */
function parseRange(value: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = value ? /^bytes=(\d*)-(\d*)$/.exec(value.trim()) : null;
  // Malformed and multi-range headers are ignored, as S3 does.
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  if (m[2] !== '' && Number(m[2]) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end: m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1) };
}

/**
 * Hold a request until its Stall fault is cleared: true, serve it now. False when the connection
 * closed first, because the client gave up or the endpoint stopped (stop() closes every
 * connection, so a stalled request never keeps it waiting).
 */
async function stalled(res: ServerResponse, cleared: AbortSignal): Promise<boolean> {
  const closed = new AbortController();
  res.once('close', () => closed.abort());
  const released = AbortSignal.any([cleared, closed.signal]);
  if (!released.aborted) await once(released, 'abort');
  return !closed.signal.aborted;
}

/** Answer with S3's error shape (no body for HEAD), after draining any unread request body. */
function sendError(req: IncomingMessage, res: ServerResponse, err: unknown, requestId: string, log: (line: string) => void): void {
  if (res.headersSent) {
    // Mid-body failures are mostly readers hanging up early (ffprobe does after probing); nothing left to tell them.
    res.destroy();
    return;
  }
  const error = err instanceof S3Error ? err : new S3Error(500, 'InternalError', 'We encountered an internal error. Please try again.');
  if (!(err instanceof S3Error))
    log(`local S3 endpoint: ${req.method} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  req.resume();
  if (req.method === 'HEAD') {
    res.writeHead(error.status, { 'Content-Length': 0 }).end();
    return;
  }
  const body = Buffer.from(error.toXml(requestId));
  res.writeHead(error.status, { 'Content-Type': 'application/xml', 'Content-Length': body.length }).end(body);
}

async function drain(req: IncomingMessage): Promise<void> {
  for await (const chunk of req.iterator({ destroyOnReturn: false })) void chunk;
}
