/**
 * The local components on real connections: DynamoDB Local with its stream and persistence, the
 * DynamoDB fault proxy, the SigV4-verifying S3 endpoint, and that nothing outlives its owner.
 */

import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import {
  type _Record,
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Sha256 } from '@smithy/core/checksum';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  type DynamoDbLocal,
  dynamoDbLocalVersion,
  ensureDynamoDbLocal,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type S3Endpoint,
  type S3ObjectEvent,
  startDynamoDbFaultProxy,
  startDynamoDbLocal,
  startS3Endpoint,
} from '../../local/components';
import { ObjectStore } from '../../local/components/s3/store';
import { serverClosesIdleConnection } from './support/keep-alive';

jest.setTimeout(120_000);

const REPO = path.resolve(__dirname, '../..');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'components-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const MiB = 1024 * 1024;
const portOf = (endpoint: string) => Number(new URL(endpoint).port);
/** True while any process (supervisor or JVM) of the DynamoDB Local on `port` exists. */
const dynamoDbLocalRunning = (port: number) => spawnSync('pgrep', ['-f', `component=DynamoDBLocal .* -port ${port} `]).status === 0;

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(100);
  }
  return false;
}

describe('DynamoDB Local', () => {
  const dataDir = path.join(scratch, 'dynamodb');
  const table = 'components-test';
  let ddb: DynamoDbLocal;
  const client = () => new DynamoDBClient({ endpoint: ddb.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });

  // The first run on a machine also downloads DynamoDB Local from Maven Central.
  beforeAll(async () => {
    ddb = await startDynamoDbLocal({ dataDir });
  }, 600_000);
  afterAll(async () => {
    const port = portOf(ddb.endpoint);
    await ddb.stop();
    expect(dynamoDbLocalRunning(port)).toBe(false);
  });

  test('the stream carries INSERT with NewImage, then MODIFY with OldImage and NewImage', async () => {
    const dynamodb = client();
    const created = await dynamodb.send(
      new CreateTableCommand({
        TableName: table,
        KeySchema: [{ AttributeName: 'movie_id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'movie_id', AttributeType: 'N' }],
        BillingMode: 'PAY_PER_REQUEST',
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
      }),
    );
    await waitUntilTableExists({ client: dynamodb, maxWaitTime: 30 }, { TableName: table });
    const streamArn = created.TableDescription!.LatestStreamArn!;
    await dynamodb.send(new PutItemCommand({ TableName: table, Item: { movie_id: { N: '7' }, title: { S: 'first' } } }));
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { movie_id: { N: '7' } },
        UpdateExpression: 'SET title = :t',
        ExpressionAttributeValues: { ':t': { S: 'second' } },
      }),
    );

    const streams = new DynamoDBStreamsClient({ endpoint: ddb.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    expect(StreamDescription?.StreamViewType).toBe('NEW_AND_OLD_IMAGES');
    const shardId = StreamDescription!.Shards![0].ShardId!;
    let iterator = (
      await streams.send(new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }))
    ).ShardIterator;
    const records: _Record[] = [];
    await eventually(async () => {
      const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
      records.push(...(page.Records ?? []));
      iterator = page.NextShardIterator;
      return records.length >= 2;
    });
    expect(records.map((r) => r.eventName)).toEqual(['INSERT', 'MODIFY']);
    expect(records[0].dynamodb?.NewImage).toEqual({ movie_id: { N: '7' }, title: { S: 'first' } });
    expect(records[0].dynamodb?.OldImage).toBeUndefined();
    expect(records[1].dynamodb?.OldImage?.title).toEqual({ S: 'first' });
    expect(records[1].dynamodb?.NewImage?.title).toEqual({ S: 'second' });
    dynamodb.destroy();
    streams.destroy();
  });

  test('tables and items survive a restart on the same dataDir, and the old JVM is gone', async () => {
    const oldPort = portOf(ddb.endpoint);
    await ddb.stop();
    expect(dynamoDbLocalRunning(oldPort)).toBe(false);
    ddb = await startDynamoDbLocal({ dataDir });
    const dynamodb = client();
    const described = await dynamodb.send(new DescribeTableCommand({ TableName: table }));
    expect(described.Table?.StreamSpecification?.StreamEnabled).toBe(true);
    const item = await dynamodb.send(new GetItemCommand({ TableName: table, Key: { movie_id: { N: '7' } } }));
    expect(item.Item?.title).toEqual({ S: 'second' });
    dynamodb.destroy();
  });

  test('the fault proxy keeps an idle keep-alive connection open for its client to reuse', async () => {
    const proxy = await startDynamoDbFaultProxy(ddb.endpoint);
    try {
      proxy.faults.inject({ operation: 'ListTables', error: 'ThrottlingException' });
      const body = '{}';
      const request = `POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n${body}`;
      expect(await serverClosesIdleConnection(proxy.endpoint, request)).toBe(false);
    } finally {
      await proxy.stop();
    }
  });

  test('the fault proxy fails UpdateItem N times in DynamoDB error shapes, then passes through', async () => {
    const proxy = await startDynamoDbFaultProxy(ddb.endpoint);
    const strict = new DynamoDBClient({ endpoint: proxy.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
    const update = (title: string) =>
      new UpdateItemCommand({
        TableName: table,
        Key: { movie_id: { N: '7' } },
        UpdateExpression: 'SET title = :t',
        ExpressionAttributeValues: { ':t': { S: title } },
      });
    try {
      const throttled = proxy.faults.inject({ operation: 'UpdateItem', error: 'ProvisionedThroughputExceededException', times: 2 });
      // Other operations are not affected by an UpdateItem fault.
      await expect(strict.send(new GetItemCommand({ TableName: table, Key: { movie_id: { N: '7' } } }))).resolves.toBeDefined();
      for (let i = 0; i < 2; i++) {
        await expect(strict.send(update('blocked'))).rejects.toMatchObject({
          name: 'ProvisionedThroughputExceededException',
          $metadata: { httpStatusCode: 400 },
        });
      }
      expect(throttled.fired).toBe(2);
      await strict.send(update('third'));
      expect(throttled.remaining).toBe(0);

      const forever = proxy.faults.inject({ operation: 'DynamoDB_20120810.UpdateItem', error: 'ThrottlingException', times: Infinity });
      await expect(strict.send(update('x'))).rejects.toMatchObject({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
      await expect(strict.send(update('x'))).rejects.toMatchObject({ name: 'ThrottlingException' });
      forever.clear();
      await strict.send(update('fourth'));

      proxy.faults.inject({ operation: 'UpdateItem', error: 'InternalServerError' });
      await expect(strict.send(update('x'))).rejects.toMatchObject({ name: 'InternalServerError', $metadata: { httpStatusCode: 500 } });

      // The SDK's standard retries absorb a single throttle, as they would against DynamoDB.
      const retrying = new DynamoDBClient({ endpoint: proxy.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
      proxy.faults.inject({ operation: 'UpdateItem', error: 'ThrottlingException' });
      const out = await retrying.send(update('fifth'));
      expect(out.$metadata.attempts).toBe(2);
      retrying.destroy();
      const item = await strict.send(new GetItemCommand({ TableName: table, Key: { movie_id: { N: '7' } } }));
      expect(item.Item?.title).toEqual({ S: 'fifth' });
    } finally {
      strict.destroy();
      await proxy.stop();
    }
  });
});

describe('local S3 endpoint', () => {
  const dataDir = path.join(scratch, 's3');
  const bucket = 'components-test';
  const oddKey = 'a b/ü+&=?#%.mp4';
  const media = Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 251));
  let s3: S3Endpoint;
  let client: S3Client;
  const config = (extra: Partial<S3ClientConfig> = {}): S3ClientConfig => ({
    endpoint: s3.endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    forcePathStyle: true,
    maxAttempts: 1,
    ...extra,
  });
  const errorCode = async (res: Response) => /<Code>([^<]+)<\/Code>/.exec(await res.text())?.[1];
  const presign = (key: string, options: Parameters<typeof getSignedUrl>[2] = {}, signer = client) =>
    getSignedUrl(signer, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 300, ...options });

  beforeAll(async () => {
    s3 = await startS3Endpoint({ dataDir });
    client = new S3Client(config());
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    await client.send(
      new PutObjectCommand({ Bucket: bucket, Key: oddKey, Body: media, ContentType: 'video/mp4', Metadata: { origin: 'test' } }),
    );
  });
  afterAll(async () => {
    client.destroy();
    await s3.stop();
  });

  test('keeps an idle keep-alive connection open for its client to reuse', async () => {
    const request = 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n';
    expect(await serverClosesIdleConnection(s3.endpoint, request)).toBe(false);
  });

  test('header-signed SDK calls work and keys with special characters round-trip', async () => {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: oddKey }));
    expect(head.ContentLength).toBe(media.length);
    expect(head.ContentType).toBe('video/mp4');
    expect(head.Metadata).toEqual({ origin: 'test' });
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: oddKey }));
    expect(Buffer.from(await got.Body!.transformToByteArray())).toEqual(media);
  });

  test('stream uploads (aws-chunked with a CRC32 trailer) store the decoded bytes', async () => {
    // Several MiB so the body spans many aws-chunked frames and socket reads.
    const big = randomBytes(3 * 1024 * 1024 + 17);
    const file = path.join(scratch, 'upload.bin');
    writeFileSync(file, big);
    await client.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'streamed.bin', Body: createReadStream(file), ContentLength: big.length }),
    );
    const upload = s3.requests.filter((r) => r.key === 'streamed.bin' && r.operation === 'PutObject').map((r) => r.upload);
    expect(upload).toEqual([{ bytes: big.length, encoding: 'aws-chunked' }]);
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'streamed.bin' }));
    expect(got.ContentLength).toBe(big.length);
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(big)).toBe(true);
  });

  test('a presigned GET works; a wrong signature, key, secret or access key gets 403', async () => {
    const url = await presign(oddKey);
    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(Buffer.from(await ok.arrayBuffer())).toEqual(media);

    const flipped = url.replace(
      /X-Amz-Signature=([0-9a-f]+)/,
      (_, sig: string) => `X-Amz-Signature=${sig.slice(0, -1)}${sig.endsWith('0') ? '1' : '0'}`,
    );
    const badSignature = await fetch(flipped);
    expect(badSignature.status).toBe(403);
    expect(await errorCode(badSignature)).toBe('SignatureDoesNotMatch');

    const otherKey = await fetch(url.replace('/a%20b/', '/a%20c/'));
    expect(otherKey.status).toBe(403);
    expect(await errorCode(otherKey)).toBe('SignatureDoesNotMatch');

    const wrongSecret = new S3Client(config({ credentials: { ...LOCAL_CREDENTIALS, secretAccessKey: 'not-the-secret' } }));
    const forged = await fetch(await presign(oddKey, {}, wrongSecret));
    expect(forged.status).toBe(403);
    expect(await errorCode(forged)).toBe('SignatureDoesNotMatch');

    const strangerClient = new S3Client(config({ credentials: { accessKeyId: 'SOMEONEELSE', secretAccessKey: 'x' } }));
    const stranger = await fetch(await presign(oddKey, {}, strangerClient));
    expect(stranger.status).toBe(403);
    expect(await errorCode(stranger)).toBe('InvalidAccessKeyId');

    // Query-string SigV2 is refused outright, as S3 does for buckets that require SigV4.
    const sigV2 = await fetch(
      `${s3.endpoint}/${bucket}/streamed.bin?AWSAccessKeyId=${LOCAL_CREDENTIALS.accessKeyId}&Expires=9999999999&Signature=abc`,
    );
    expect(sigV2.status).toBe(400);
    expect(await errorCode(sigV2)).toBe('InvalidRequest');
  });

  test('a presigned URL with a duplicated X-Amz-* authentication parameter gets 400 AuthorizationQueryParametersError', async () => {
    const url = await presign(oddKey);
    expect((await fetch(url)).status).toBe(200);
    // S3 answers every malformed query-string authentication with this code; its exact message for a
    // repeated parameter is not documented, so only the code and status are checked.
    const paramOf = (name: string) => new URL(url).searchParams.get(name) ?? '';
    const junkSignature = '0'.repeat(64);
    const duplicated: Array<[string, string]> = [
      ['a junk signature after the valid one', `${url}&X-Amz-Signature=${junkSignature}`],
      ['a junk signature before the valid one', url.replace('X-Amz-Signature=', `X-Amz-Signature=${junkSignature}&X-Amz-Signature=`)],
      ['a second X-Amz-Expires', `${url}&X-Amz-Expires=604800`],
      ['a second X-Amz-Date', `${url}&X-Amz-Date=${paramOf('X-Amz-Date')}`],
      ['a second X-Amz-Credential', `${url}&X-Amz-Credential=${encodeURIComponent(paramOf('X-Amz-Credential'))}`],
      ['a second X-Amz-SignedHeaders', `${url}&X-Amz-SignedHeaders=host`],
      ['a second X-Amz-Algorithm', `${url}&X-Amz-Algorithm=AWS4-HMAC-SHA256`],
      ['two X-Amz-Security-Token', `${url}&X-Amz-Security-Token=a&X-Amz-Security-Token=b`],
    ];
    const answers = [];
    for (const [what, tampered] of duplicated) {
      const res = await fetch(tampered);
      answers.push([what, res.status, await errorCode(res)]);
    }
    expect(answers).toEqual(duplicated.map(([what]) => [what, 400, 'AuthorizationQueryParametersError']));
  });

  test('an Authorization header with a duplicated component gets 400 AuthorizationHeaderMalformed', async () => {
    const signer = new SignatureV4({
      credentials: LOCAL_CREDENTIALS,
      region: LOCAL_REGION,
      service: 's3',
      sha256: Sha256,
      uriEscapePath: false,
    });
    const url = new URL(`${s3.endpoint}/${bucket}/${oddKey.split('/').map(encodeURIComponent).join('/')}`);
    const { headers } = await signer.sign(
      new HttpRequest({
        method: 'GET',
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path: url.pathname,
        headers: { host: url.host, 'x-amz-content-sha256': createHash('sha256').update('').digest('hex') },
      }),
    );
    const { host: _host, authorization, ...rest } = headers;
    expect((await fetch(url, { headers: { ...rest, authorization } })).status).toBe(200);
    const valid = /Signature=([0-9a-f]+)$/.exec(authorization)?.[1];
    const twice = authorization.replace(`Signature=${valid}`, `Signature=${'0'.repeat(64)}, Signature=${valid}`);
    const res = await fetch(url, { headers: { ...rest, authorization: twice } });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe('AuthorizationHeaderMalformed');
  });

  test('an expired presigned URL gets 403 "Request has expired"', async () => {
    const signedLongAgo = await presign(oddKey, { expiresIn: 60, signingDate: new Date(Date.now() - 120_000) });
    const res = await fetch(signedLongAgo);
    expect(res.status).toBe(403);
    const body = await res.text();
    expect(body).toContain('<Code>AccessDenied</Code>');
    expect(body).toContain('<Message>Request has expired</Message>');

    const short = await presign(oddKey, { expiresIn: 1 });
    await sleep(2100);
    expect((await fetch(short)).status).toBe(403);
  });

  test('a presigned URL dated in the future beyond the tolerated skew gets 403 "Request is not yet valid"', async () => {
    const fromTheFuture = await presign(oddKey, { expiresIn: 3600, signingDate: new Date(Date.now() + 20 * 60_000) });
    const res = await fetch(fromTheFuture);
    expect(res.status).toBe(403);
    const body = await res.text();
    expect(body).toContain('<Code>AccessDenied</Code>');
    expect(body).toContain('<Message>Request is not yet valid</Message>');
    // A signer's clock a few minutes ahead is within S3's 15 minutes of tolerated skew.
    const slightlyAhead = await presign(oddKey, { expiresIn: 3600, signingDate: new Date(Date.now() + 5 * 60_000) });
    expect((await fetch(slightlyAhead)).status).toBe(200);
  });

  test('Range requests get 206 with Content-Range and exactly those bytes', async () => {
    const url = await presign(oddKey);
    const cases: Array<[string, number, number]> = [
      ['bytes=10-19', 10, 19],
      ['bytes=0-0', 0, 0],
      ['bytes=-5', media.length - 5, media.length - 1],
      ['bytes=4000-', 4000, media.length - 1],
      ['bytes=4090-99999', 4090, media.length - 1],
    ];
    for (const [range, start, end] of cases) {
      const res = await fetch(url, { headers: { Range: range } });
      expect([range, res.status]).toEqual([range, 206]);
      expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/${media.length}`);
      expect(Number(res.headers.get('content-length'))).toBe(end - start + 1);
      expect(Buffer.from(await res.arrayBuffer())).toEqual(media.subarray(start, end + 1));
    }
    const beyond = await fetch(url, { headers: { Range: `bytes=${media.length}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${media.length}`);
    expect(await errorCode(beyond)).toBe('InvalidRange');

    const viaSdk = await client.send(new GetObjectCommand({ Bucket: bucket, Key: oddKey, Range: 'bytes=100-103' }));
    expect(viaSdk.ContentRange).toBe(`bytes 100-103/${media.length}`);
    expect(Buffer.from(await viaSdk.Body!.transformToByteArray())).toEqual(media.subarray(100, 104));

    const headUrl = await getSignedUrl(client, new HeadObjectCommand({ Bucket: bucket, Key: oddKey }), { expiresIn: 60 });
    const head = await fetch(headUrl, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(media.length));
  });

  test('unsigned requests are refused and change nothing', async () => {
    const read = await fetch(`${s3.endpoint}/${bucket}/${encodeURIComponent('streamed.bin')}`);
    expect(read.status).toBe(403);
    expect(await errorCode(read)).toBe('AccessDenied');
    const write = await fetch(`${s3.endpoint}/${bucket}/anonymous.txt`, { method: 'PUT', body: 'x' });
    expect(write.status).toBe(403);
    await expect(client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'anonymous.txt' }))).rejects.toMatchObject({ name: 'NotFound' });

    const wrongSecret = new S3Client(config({ credentials: { ...LOCAL_CREDENTIALS, secretAccessKey: 'not-the-secret' } }));
    await expect(wrongSecret.send(new PutObjectCommand({ Bucket: bucket, Key: 'forged.txt', Body: 'x' }))).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
      $metadata: { httpStatusCode: 403 },
    });
    await expect(client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'forged.txt' }))).rejects.toMatchObject({ name: 'NotFound' });
  });

  test('header signatures cover headers and payload: tampering is caught', async () => {
    const signer = new SignatureV4({
      credentials: LOCAL_CREDENTIALS,
      region: LOCAL_REGION,
      service: 's3',
      sha256: Sha256,
      uriEscapePath: false,
    });
    const url = new URL(`${s3.endpoint}/${bucket}/signed-by-hand.txt`);
    const sign = (body: string, extra: Record<string, string> = {}) =>
      signer.sign(
        new HttpRequest({
          method: 'PUT',
          protocol: 'http:',
          hostname: url.hostname,
          port: Number(url.port),
          path: url.pathname,
          headers: {
            host: url.host,
            'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'),
            'x-amz-meta-a': '1',
            ...extra,
          },
          body,
        }),
      );
    const send = (headers: Record<string, string>, body: string) => {
      const { host: _host, ...rest } = headers;
      return fetch(url, { method: 'PUT', headers: rest, body });
    };

    const signed = (await sign('original')).headers;
    expect((await send(signed, 'original')).status).toBe(200);

    const wrongBody = await send(signed, 'tampered');
    expect(wrongBody.status).toBe(400);
    expect(await errorCode(wrongBody)).toBe('XAmzContentSHA256Mismatch');

    const changedHeader = await send({ ...signed, 'x-amz-meta-a': '2' }, 'original');
    expect(changedHeader.status).toBe(403);
    expect(await errorCode(changedHeader)).toBe('SignatureDoesNotMatch');

    const extraHeader = await send({ ...signed, 'x-amz-meta-b': 'sneaked in' }, 'original');
    expect(extraHeader.status).toBe(403);
    expect(await extraHeader.text()).toContain('<HeadersNotSigned>x-amz-meta-b</HeadersNotSigned>');

    const stored = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'signed-by-hand.txt' }));
    expect(await stored.Body!.transformToString()).toBe('original');
    expect(stored.Metadata).toEqual({ a: '1' });
  });

  test('bucket names are checked on every route: an encoded ../ cannot read or write outside the data directory', async () => {
    // Laid out like a bucket, beside the endpoint's data directory: buckets/../../outside.
    const outside = path.join(scratch, 'outside');
    mkdirSync(path.join(outside, 'objects'), { recursive: true });
    writeFileSync(path.join(outside, 'bucket.json'), JSON.stringify({ name: 'outside', creationDate: new Date().toISOString() }));
    const escaping = '/..%2F..%2Foutside';
    const signer = new SignatureV4({
      credentials: LOCAL_CREDENTIALS,
      region: LOCAL_REGION,
      service: 's3',
      sha256: Sha256,
      uriEscapePath: false,
    });
    const signedFetch = async (method: string, rawPath: string, body = '') => {
      const url = new URL(`${s3.endpoint}${rawPath}`);
      const { headers } = await signer.sign(
        new HttpRequest({
          method,
          protocol: 'http:',
          hostname: url.hostname,
          port: Number(url.port),
          path: rawPath,
          headers: { host: url.host, 'x-amz-content-sha256': createHash('sha256').update(body).digest('hex') },
          body,
        }),
      );
      const { host: _host, ...rest } = headers;
      return fetch(`${s3.endpoint}${rawPath}`, { method, headers: rest, ...(method === 'PUT' && { body }) });
    };

    const write = await signedFetch('PUT', `${escaping}/planted.txt`, 'planted');
    expect(write.status).toBe(400);
    expect(await errorCode(write)).toBe('InvalidBucketName');
    expect(readdirSync(path.join(outside, 'objects'))).toEqual([]);
    const read = await signedFetch('GET', `${escaping}/planted.txt`);
    expect(read.status).toBe(400);
    expect(await errorCode(read)).toBe('InvalidBucketName');
    expect((await signedFetch('HEAD', escaping)).status).toBe(400);
    // The same check holds for a name that is only wrong, not hostile; the bucket itself still answers.
    expect((await signedFetch('HEAD', '/Not_A_Bucket')).status).toBe(400);
    expect((await signedFetch('HEAD', `/${bucket}`)).status).toBe(200);
  });

  test('the object store refuses every path that resolves outside its directory, whatever the endpoint let through', async () => {
    const store = new ObjectStore(path.join(scratch, 'store'));
    await store.init();
    await expect(store.bucketExists('../outside')).rejects.toThrow(/outside the store/);
    await expect(store.createBucket('..')).rejects.toThrow(/outside the store/);
    await expect(store.head('a/../../b', 'key')).rejects.toThrow(/outside the store/);
    // createBucket('..') would have made the store's own directory a bucket.
    expect(readdirSync(path.join(scratch, 'store'))).toEqual(expect.not.arrayContaining(['bucket.json', 'objects']));
  });

  test("multipart upload with the SDK: over 8 MiB in parts (one streamed), listed, completed with S3's ETag, read back byte for byte", async () => {
    const key = 'multipart/big.mov';
    const body = randomBytes(9 * MiB + 123);
    const parts = [body.subarray(0, 5 * MiB), body.subarray(5 * MiB)];
    const secondPartFile = path.join(scratch, 'part-2.bin');
    writeFileSync(secondPartFile, parts[1]);
    const md5 = (data: Buffer) => createHash('md5').update(data).digest();

    const created = await client.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: 'video/quicktime', Metadata: { origin: 'parts' } }),
    );
    expect(created).toMatchObject({ Bucket: bucket, Key: key, UploadId: expect.any(String) });
    const UploadId = created.UploadId!;
    const first = await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: parts[0] }));
    // A stream body goes aws-chunked, as `aws s3 cp` and lib-storage send parts.
    const second = await client.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: key,
        UploadId,
        PartNumber: 2,
        Body: createReadStream(secondPartFile),
        ContentLength: parts[1].length,
      }),
    );
    expect([first.ETag, second.ETag]).toEqual(parts.map((part) => `"${md5(part).toString('hex')}"`));

    const listed = await client.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId }));
    expect(listed.Parts?.map((p) => [p.PartNumber, p.ETag, p.Size])).toEqual([
      [1, first.ETag, parts[0].length],
      [2, second.ETag, parts[1].length],
    ]);
    expect(listed.IsTruncated).toBe(false);
    const firstPage = await client.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId, MaxParts: 1 }));
    expect(firstPage).toMatchObject({ IsTruncated: true, NextPartNumberMarker: '1', Parts: [{ PartNumber: 1 }] });

    const completed = await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: first.ETag },
            { PartNumber: 2, ETag: second.ETag },
          ],
        },
      }),
    );
    const multipartEtag = `"${createHash('md5')
      .update(Buffer.concat(parts.map(md5)))
      .digest('hex')}-2"`;
    expect(completed).toMatchObject({ Bucket: bucket, Key: key, ETag: multipartEtag });

    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    expect(got).toMatchObject({
      ETag: multipartEtag,
      ContentLength: body.length,
      ContentType: 'video/quicktime',
      Metadata: { origin: 'parts' },
    });
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
    // A completed upload is gone; every step was signed and verified like any other request.
    await expect(client.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId }))).rejects.toMatchObject({
      name: 'NoSuchUpload',
      $metadata: { httpStatusCode: 404 },
    });
    expect(s3.requests.filter((r) => r.key === key).map((r) => [r.operation, r.auth, r.status])).toEqual([
      ['CreateMultipartUpload', 'header', 200],
      ['UploadPart', 'header', 200],
      ['UploadPart', 'header', 200],
      ['ListParts', 'header', 200],
      ['ListParts', 'header', 200],
      ['CompleteMultipartUpload', 'header', 200],
      ['GetObject', 'header', 200],
      ['ListParts', 'header', 404],
    ]);
  });

  test("multipart errors are S3's: NoSuchUpload, InvalidPart, InvalidPartOrder, EntityTooSmall, and an aborted upload is gone", async () => {
    const key = 'multipart/refused.bin';
    const start = async () => (await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }))).UploadId!;
    const upload = (UploadId: string, PartNumber: number, Body: Buffer) =>
      client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber, Body }));
    const complete = (UploadId: string, Parts: Array<{ PartNumber: number; ETag?: string }>) =>
      client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts } }));
    const refused = (name: string, status: number) => ({ name, $metadata: { httpStatusCode: status } });

    await expect(upload('0123456789abcdef0123456789abcdef', 1, Buffer.from('x'))).rejects.toMatchObject(refused('NoSuchUpload', 404));
    await expect(upload('../../escape', 1, Buffer.from('x'))).rejects.toMatchObject(refused('NoSuchUpload', 404));
    const UploadId = await start();
    // An upload id belongs to its key.
    await expect(
      client.send(new UploadPartCommand({ Bucket: bucket, Key: 'multipart/other.bin', UploadId, PartNumber: 1, Body: 'x' })),
    ).rejects.toMatchObject(refused('NoSuchUpload', 404));
    await expect(upload(UploadId, 10_001, Buffer.from('x'))).rejects.toMatchObject(refused('InvalidArgument', 400));

    const small = await upload(UploadId, 1, Buffer.alloc(1024, 1));
    const big = await upload(UploadId, 2, Buffer.alloc(5 * MiB, 2));
    const last = await upload(UploadId, 3, Buffer.alloc(10, 3));
    await expect(complete(UploadId, [{ PartNumber: 1, ETag: '"00000000000000000000000000000000"' }])).rejects.toMatchObject(
      refused('InvalidPart', 400),
    );
    await expect(complete(UploadId, [{ PartNumber: 4, ETag: last.ETag }])).rejects.toMatchObject(refused('InvalidPart', 400));
    await expect(
      complete(UploadId, [
        { PartNumber: 3, ETag: last.ETag },
        { PartNumber: 2, ETag: big.ETag },
      ]),
    ).rejects.toMatchObject(refused('InvalidPartOrder', 400));
    await expect(
      complete(UploadId, [
        { PartNumber: 1, ETag: small.ETag },
        { PartNumber: 3, ETag: last.ETag },
      ]),
    ).rejects.toMatchObject(refused('EntityTooSmall', 400));
    await expect(client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).rejects.toMatchObject({ name: 'NotFound' });
    // Only a part that is not the last must reach 5 MiB; parts left out of the list are dropped.
    const done = await complete(UploadId, [
      { PartNumber: 2, ETag: big.ETag },
      { PartNumber: 3, ETag: last.ETag },
    ]);
    expect(done.ETag).toMatch(/^"[0-9a-f]{32}-2"$/);
    expect((await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ContentLength).toBe(5 * MiB + 10);

    const aborted = await start();
    await upload(aborted, 1, Buffer.from('x'));
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: aborted }));
    await expect(upload(aborted, 2, Buffer.from('x'))).rejects.toMatchObject(refused('NoSuchUpload', 404));
    await expect(complete(aborted, [{ PartNumber: 1, ETag: '"x"' }])).rejects.toMatchObject(refused('NoSuchUpload', 404));
    await expect(client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: aborted }))).rejects.toMatchObject(
      refused('NoSuchUpload', 404),
    );
    // Unsigned multipart requests are refused like any other.
    const unsigned = await fetch(`${s3.endpoint}/${bucket}/${key}?uploads`, { method: 'POST' });
    expect(unsigned.status).toBe(403);
  });

  test('faults fail the next N matching requests with S3 errors, then requests succeed', async () => {
    const slow = s3.faults.inject({ method: 'GET', key: oddKey, code: 'SlowDown', times: 2 });
    // A request that does not match is unaffected.
    await expect(client.send(new HeadObjectCommand({ Bucket: bucket, Key: oddKey }))).resolves.toBeDefined();
    for (let i = 0; i < 2; i++) {
      await expect(client.send(new GetObjectCommand({ Bucket: bucket, Key: oddKey }))).rejects.toMatchObject({
        name: 'SlowDown',
        $metadata: { httpStatusCode: 503 },
      });
    }
    expect(slow.fired).toBe(2);
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: oddKey }));
    expect(got.ContentLength).toBe(media.length);

    s3.faults.inject({ operation: 'PutObject', code: 'InternalError' });
    await expect(client.send(new PutObjectCommand({ Bucket: bucket, Key: 'later.txt', Body: 'x' }))).rejects.toMatchObject({
      name: 'InternalError',
      $metadata: { httpStatusCode: 500 },
    });
    // With the SDK's default retries one fault is absorbed, and the request log shows both attempts.
    const retrying = new S3Client(config({ maxAttempts: 3 }));
    s3.faults.inject({ operation: 'PutObject', key: 'later.txt', code: 'InternalError' });
    const put = await retrying.send(new PutObjectCommand({ Bucket: bucket, Key: 'later.txt', Body: 'x' }));
    expect(put.$metadata.attempts).toBe(2);
    retrying.destroy();
    const attempts = s3.requests.filter((r) => r.key === 'later.txt' && r.operation === 'PutObject').map((r) => r.status);
    expect(attempts).toEqual([500, 500, 200]);
    // The request log never holds URLs: a presigned one is a credential.
    expect(JSON.stringify(s3.requests)).not.toMatch(/X-Amz-Signature|X-Amz-Credential/i);
  });

  test('a Stall fault accepts matching requests and never answers them until it is cleared; others are served', async () => {
    const stall = s3.faults.inject({ operation: 'GetObject', key: oddKey, code: 'Stall', times: Infinity });
    // Without throwOnRequestTimeout this SDK only logs a warning when requestTimeout passes, and keeps waiting.
    const impatient = new S3Client(config({ requestHandler: { requestTimeout: 500, throwOnRequestTimeout: true } }));
    const started = Date.now();
    await expect(impatient.send(new GetObjectCommand({ Bucket: bucket, Key: oddKey }))).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    await expect(impatient.send(new HeadObjectCommand({ Bucket: bucket, Key: oddKey }))).resolves.toBeDefined();
    await impatient.send(new PutObjectCommand({ Bucket: bucket, Key: 'not-stalled.txt', Body: 'served' }));
    const other = await impatient.send(new GetObjectCommand({ Bucket: bucket, Key: 'not-stalled.txt' }));
    expect(await other.Body!.transformToString()).toBe('served');
    expect(stall.fired).toBe(1);

    // A request still waiting when the fault is cleared is then served as usual.
    const waiting = fetch(await presign(oddKey));
    expect(await eventually(() => stall.fired === 2)).toBe(true);
    expect(await Promise.race([waiting.then(() => 'answered'), sleep(300).then(() => 'waiting')])).toBe('waiting');
    stall.clear();
    const res = await waiting;
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(media);
    // A spent one-time stall still holds its request until every fault is cleared.
    s3.faults.inject({ operation: 'HeadObject', code: 'Stall' });
    const held = fetch(await getSignedUrl(client, new HeadObjectCommand({ Bucket: bucket, Key: oddKey }), { expiresIn: 60 }), {
      method: 'HEAD',
    });
    expect(await eventually(() => s3.requests.at(-1)?.operation === 'HeadObject')).toBe(true);
    s3.faults.clear();
    expect((await held).status).toBe(200);
    impatient.destroy();
  });

  test('stopping the endpoint does not wait for stalled requests', async () => {
    const own = await startS3Endpoint({});
    const ownClient = new S3Client(config({ endpoint: own.endpoint }));
    try {
      await ownClient.send(new CreateBucketCommand({ Bucket: 'stalled' }));
      own.faults.inject({ operation: 'PutObject', code: 'Stall' });
      const put = ownClient.send(new PutObjectCommand({ Bucket: 'stalled', Key: 'never.txt', Body: 'x' })).then(
        () => 'answered',
        (err: Error) => err.name,
      );
      expect(await eventually(() => own.requests.some((r) => r.operation === 'PutObject'))).toBe(true);
      const started = Date.now();
      await own.stop();
      expect(Date.now() - started).toBeLessThan(2000);
      expect(await put).not.toBe('answered');
      // Never answered: the request log keeps status 0.
      expect(own.requests.filter((r) => r.operation === 'PutObject').map((r) => r.status)).toEqual([0]);
    } finally {
      ownClient.destroy();
      await own.stop();
    }
  });

  test('DeleteObject removes an object, and each creation or removal is an S3 EventBridge event', async () => {
    const events: S3ObjectEvent[] = [];
    const own = await startS3Endpoint({ onObjectEvent: (event) => events.push(event), account: '111122223333' });
    const ownClient = new S3Client(config({ endpoint: own.endpoint }));
    try {
      await ownClient.send(new CreateBucketCommand({ Bucket: 'watched' }));
      const put = await ownClient.send(new PutObjectCommand({ Bucket: 'watched', Key: 'a b/c.mov', Body: 'first' }));
      await ownClient.send(new DeleteObjectCommand({ Bucket: 'watched', Key: 'a b/c.mov' }));
      // S3 answers a missing key with 204 too; nothing was removed, so nothing is told.
      await ownClient.send(new DeleteObjectCommand({ Bucket: 'watched', Key: 'a b/c.mov' }));
      await expect(ownClient.send(new HeadObjectCommand({ Bucket: 'watched', Key: 'a b/c.mov' }))).rejects.toMatchObject({
        name: 'NotFound',
      });
      expect(events.map((e) => [e['detail-type'], e.detail.object.key, e.detail.reason])).toEqual([
        ['Object Created', 'a b/c.mov', 'PutObject'],
        ['Object Deleted', 'a b/c.mov', 'DeleteObject'],
      ]);
      expect(events[0]).toMatchObject({
        source: 'aws.s3',
        account: '111122223333',
        resources: ['arn:aws:s3:::watched'],
        detail: { bucket: { name: 'watched' }, object: { size: 5, etag: put.ETag?.replace(/"/g, '') } },
      });
      expect(events[1].detail['deletion-type']).toBe('Permanently Deleted');
      expect(events[1].detail.object.sequencer > events[0].detail.object.sequencer).toBe(true);
    } finally {
      ownClient.destroy();
      await own.stop();
    }
  });

  test('operations the endpoint does not implement get 501 NotImplemented naming them, and change nothing', async () => {
    const refused = (operation: string) => ({
      name: 'NotImplemented',
      message: expect.stringContaining(`does not implement ${operation};`),
      $metadata: { httpStatusCode: 501 },
    });
    await expect(client.send(new ListBucketsCommand({}))).rejects.toMatchObject(refused('ListBuckets'));
    await expect(client.send(new ListObjectsV2Command({ Bucket: bucket }))).rejects.toMatchObject(refused('ListObjectsV2'));
    await expect(client.send(new DeleteBucketCommand({ Bucket: bucket }))).rejects.toMatchObject(refused('DeleteBucket'));
    await expect(
      client.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy.mp4', CopySource: `${bucket}/${encodeURIComponent(oddKey)}` })),
    ).rejects.toMatchObject(refused('CopyObject'));
    await expect(
      client.send(new GetObjectCommand({ Bucket: bucket, Key: oddKey, ResponseContentType: 'text/plain' })),
    ).rejects.toMatchObject(refused('GET on an object with ?response-content-type'));
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: oddKey }));
    expect(head.ContentLength).toBe(media.length);
    await expect(client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'copy.mp4' }))).rejects.toMatchObject({ name: 'NotFound' });
  });

  test('a read with If-Match is served while the ETag matches and refused with 412 once the object changed; a PUT with If-Match is still refused', async () => {
    const { ETag } = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: oddKey }));
    const ranged = await client.send(new GetObjectCommand({ Bucket: bucket, Key: oddKey, IfMatch: ETag, Range: 'bytes=0-3' }));
    expect((await ranged.Body?.transformToByteArray())?.length).toBe(4);
    await expect(client.send(new HeadObjectCommand({ Bucket: bucket, Key: oddKey, IfMatch: '"0123"' }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 412 },
    });
    await expect(client.send(new GetObjectCommand({ Bucket: bucket, Key: oddKey, IfMatch: '"0123"' }))).rejects.toMatchObject({
      name: 'PreconditionFailed',
      $metadata: { httpStatusCode: 412 },
    });
    await expect(client.send(new PutObjectCommand({ Bucket: bucket, Key: oddKey, Body: 'x', IfMatch: ETag }))).rejects.toMatchObject({
      name: 'NotImplemented',
      $metadata: { httpStatusCode: 501 },
    });
  });

  test('conditional requests are refused with 501 NotImplemented naming the header, and change nothing', async () => {
    await expect(client.send(new GetObjectCommand({ Bucket: bucket, Key: oddKey, IfNoneMatch: '"0"' }))).rejects.toMatchObject({
      name: 'NotImplemented',
      message: expect.stringContaining('If-None-Match'),
      $metadata: { httpStatusCode: 501 },
    });
    await expect(client.send(new PutObjectCommand({ Bucket: bucket, Key: oddKey, Body: 'x', IfNoneMatch: '*' }))).rejects.toMatchObject({
      name: 'NotImplemented',
      $metadata: { httpStatusCode: 501 },
    });
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: oddKey }));
    expect(head.ContentLength).toBe(media.length);
  });

  test('a multipart upload in progress survives a restart on the same dataDir', async () => {
    const key = 'multipart/across-restart.bin';
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    const part = await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: 'before' }));
    await s3.stop();
    s3 = await startS3Endpoint({ dataDir });
    client.destroy();
    client = new S3Client(config());
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    expect(await got.Body!.transformToString()).toBe('before');
  });

  test('objects survive a restart on the same dataDir', async () => {
    await s3.stop();
    s3 = await startS3Endpoint({ dataDir });
    client.destroy();
    client = new S3Client(config());
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: oddKey }));
    expect(Buffer.from(await got.Body!.transformToByteArray())).toEqual(media);
  });
});

describe('installation', () => {
  test('ensureDynamoDbLocal installs the pinned version from Maven into the cache once, then finds it there', async () => {
    const cacheDir = path.join(scratch, 'cache');
    const lines: string[] = [];
    const dir = await ensureDynamoDbLocal((l) => lines.push(l), { cacheDir });
    const version = await dynamoDbLocalVersion();
    expect(dir).toBe(path.join(cacheDir, version));
    expect(lines.join('\n')).toMatch(new RegExp(`Installing DynamoDB Local ${version.replace(/\./g, '\\.')}`));
    const jars = readdirSync(path.join(dir, 'lib'));
    expect(jars).toContain(`DynamoDBLocal-${version}.jar`);
    // Its own jar carries the sqlite4java natives, so the per-platform ones are not downloaded.
    expect(jars.filter((j) => /\.(so|dll|dylib)$/.test(j))).toEqual([]);
    expect(readdirSync(cacheDir)).toEqual([version]);

    // A fresh module instance (as in a new process) finds the install on disk and says nothing.
    const again: string[] = [];
    await jest.isolateModulesAsync(async () => {
      const fresh = await import('../../local/components/dynamodb-local');
      expect(await fresh.ensureDynamoDbLocal((l) => again.push(l), { cacheDir })).toBe(dir);
    });
    expect(again).toEqual([]);
  });
});

describe('lifecycle', () => {
  /** A separate Node process that starts both components and reports their endpoints. */
  function startOwner() {
    const script = `
      require('tsx/cjs/api').register();
      const c = require(${JSON.stringify(path.join(REPO, 'local/components'))});
      (async () => {
        const ddb = await c.startDynamoDbLocal();
        const s3 = await c.startS3Endpoint({ dataDir: ${JSON.stringify(path.join(scratch, 'owner-s3'))} });
        process.stdout.write(JSON.stringify({ ddb: ddb.endpoint, s3: s3.endpoint }) + '\\n');
        setInterval(() => undefined, 1000);
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
    const endpoints = new Promise<{ ddb: string; s3: string }>((resolve, reject) => {
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]));
      });
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      void exited.then(() => reject(new Error(`owner exited early: ${err}`)));
    });
    return { child, exited, endpoints };
  }

  const answers = async (endpoint: string) => {
    try {
      await fetch(endpoint, { signal: AbortSignal.timeout(1000) });
      return true;
    } catch {
      return false;
    }
  };

  test('SIGTERM to the owner stops DynamoDB Local and the S3 endpoint, and the owner still dies of SIGTERM', async () => {
    const owner = startOwner();
    const { ddb, s3 } = await owner.endpoints;
    expect(dynamoDbLocalRunning(portOf(ddb))).toBe(true);
    expect(await answers(s3)).toBe(true);
    owner.child.kill('SIGTERM');
    expect(await owner.exited).toBe('SIGTERM');
    expect(dynamoDbLocalRunning(portOf(ddb))).toBe(false);
    expect(await answers(s3)).toBe(false);
  });

  test('even SIGKILL of the owner leaves no DynamoDB Local behind', async () => {
    const owner = startOwner();
    const { ddb } = await owner.endpoints;
    expect(dynamoDbLocalRunning(portOf(ddb))).toBe(true);
    owner.child.kill('SIGKILL');
    await owner.exited;
    expect(await eventually(() => !dynamoDbLocalRunning(portOf(ddb)))).toBe(true);
  });
});
