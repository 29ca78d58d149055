/**
 * HTTP proxy in front of DynamoDB Local that can fail chosen operations the way DynamoDB does
 * (AWS JSON 1.0 error bodies), so retry and error paths can be exercised against the real emulator.
 */

import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { crc32 } from 'node:zlib';
import { type FaultHandle, FaultInjector } from './faults';
import { track } from './lifecycle';

export type DynamoDbFaultError = 'ProvisionedThroughputExceededException' | 'ThrottlingException' | 'InternalServerError';

/** An error DynamoDB answers with, or `Stall`: the request is read and never answered (until the proxy stops). */
export type DynamoDbFault = DynamoDbFaultError | 'Stall';

export interface DynamoDbFaultRule {
  /** Operation name (`UpdateItem`) or full X-Amz-Target (`DynamoDB_20120810.UpdateItem`). */
  operation: string;
  error: DynamoDbFault;
  /** How many matching calls fail (default 1); Infinity fails them until cleared. */
  times?: number;
}

const ERRORS: Record<DynamoDbFaultError, { status: number; type: string; message: string }> = {
  ProvisionedThroughputExceededException: {
    status: 400,
    type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
    message:
      'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
  },
  ThrottlingException: {
    status: 400,
    type: 'com.amazon.coral.availability#ThrottlingException',
    message: 'Rate of requests exceeds the allowed throughput.',
  },
  InternalServerError: {
    status: 500,
    type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
    message: 'Internal server error',
  },
};

/** How long an upstream connection may idle in the proxy's pool: well under any server's keep-alive timeout. */
const IDLE_UPSTREAM_MS = 2_000;

/** Faults for the DynamoDB proxy, matched on the X-Amz-Target operation. */
export class DynamoDbFaults {
  private readonly injector = new FaultInjector<string, DynamoDbFault>();

  inject(rule: DynamoDbFaultRule): FaultHandle {
    if (rule.error !== 'Stall' && !(rule.error in ERRORS)) throw new Error(`unknown DynamoDB fault ${String(rule.error)}`);
    const { operation } = rule;
    const matches = operation.includes('.')
      ? (target: string) => target === operation
      : (target: string) => target.slice(target.indexOf('.') + 1) === operation;
    return this.injector.arm(matches, rule.error, rule.times);
  }

  clear(): void {
    this.injector.clear();
  }

  /** Consume the fault for one call, if armed (used by the proxy). */
  take(target: string): DynamoDbFault | undefined {
    return this.injector.take(target)?.fault;
  }
}

export interface DynamoDbFaultProxy {
  endpoint: string;
  faults: DynamoDbFaults;
  stop(): Promise<void>;
}

/** Start the proxy on a free loopback port, forwarding everything not failed to `upstreamEndpoint`. */
export async function startDynamoDbFaultProxy(upstreamEndpoint: string): Promise<DynamoDbFaultProxy> {
  const upstream = new URL(upstreamEndpoint);
  const faults = new DynamoDbFaults();
  // The proxy drops an idle upstream connection itself, before DynamoDB Local could close it under a request.
  const agent = new http.Agent({ keepAlive: true, timeout: IDLE_UPSTREAM_MS });

  const server = http.createServer((req, res) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const fault = target ? faults.take(target) : undefined;
    if (fault) {
      // Drain the body so the client's keep-alive connection stays usable; a stall never answers.
      req.resume();
      if (fault !== 'Stall') req.on('end', () => sendError(res, fault));
      return;
    }
    const forward = http.request(
      {
        protocol: upstream.protocol,
        hostname: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
      },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    forward.on('error', (err) => {
      if (res.headersSent) res.destroy(err);
      else sendJson(res, 500, { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: `proxy: ${err.message}` });
    });
    req.pipe(forward);
  });

  // Idle connections stay open until the client closes them: a server that closes them races
  // the SDK's keep-alive agent, which may reuse one just then (ECONNRESET, a failed call locally
  // where the service would not have failed it).
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  let stopping: Promise<void> | undefined;
  const resource = {
    stop(): Promise<void> {
      stopping ??= new Promise<void>((resolve) => {
        untrack();
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      });
      return stopping;
    },
    stopSync(): void {
      server.closeAllConnections();
    },
  };
  const untrack = track(resource);

  return { endpoint: `http://127.0.0.1:${port}`, faults, stop: resource.stop };
}

function sendError(res: http.ServerResponse, fault: DynamoDbFaultError): void {
  const { status, type, message } = ERRORS[fault];
  sendJson(res, status, { __type: type, message });
}

function sendJson(res: http.ServerResponse, status: number, body: object): void {
  const payload = Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    'Content-Type': 'application/x-amz-json-1.0',
    'Content-Length': payload.length,
    'x-amzn-RequestId': randomUUID(),
    // DynamoDB sends a CRC32 of every body; some SDKs check it.
    'x-amz-crc32': String(crc32(payload)),
  });
  res.end(payload);
}
