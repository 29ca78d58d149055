/**
 * A loopback endpoint speaking the Step Functions JSON API for the local state machine, so the
 * operator commands use the same client (`@aws-sdk/client-sfn`) against `media-probe up` as
 * against a deployed stack. It serves StartExecution (asynchronous, as for Express workflows)
 * and StartSyncExecution. Requests are not signature-checked: it listens on 127.0.0.1 only.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LocalStateMachine } from './state-machine';

export interface StepFunctionsApi {
  endpoint: string;
  /** Executions started and not yet finished. */
  readonly running: number;
  stop(): Promise<void>;
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function error(res: http.ServerResponse, status: number, type: string, message: string): void {
  send(res, status, { __type: `com.amazonaws.swf.service.v2.model#${type}`, message });
}

export async function startStepFunctionsApi(machine: LocalStateMachine): Promise<StepFunctionsApi> {
  const inFlight = new Set<Promise<unknown>>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const operation = String(req.headers['x-amz-target'] ?? '').replace('AWSStepFunctions.', '');
      let body: { stateMachineArn?: string; name?: string; input?: string };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      } catch {
        return error(res, 400, 'SerializationException', 'the request body is not JSON');
      }
      if (operation !== 'StartExecution' && operation !== 'StartSyncExecution') {
        return error(
          res,
          400,
          'UnknownOperationException',
          `the local Step Functions endpoint does not implement ${operation || 'that operation'}`,
        );
      }
      if (body.stateMachineArn !== machine.arn)
        return error(res, 400, 'StateMachineDoesNotExist', `State Machine Does Not Exist: '${body.stateMachineArn}'`);
      let input: unknown;
      try {
        input = JSON.parse(body.input ?? '{}');
      } catch {
        return error(res, 400, 'InvalidExecutionInput', 'the execution input is not JSON');
      }
      const { executionArn, result: execution } = machine.startExecution(input, body.name);
      if (operation === 'StartExecution') {
        inFlight.add(execution);
        void execution.finally(() => inFlight.delete(execution));
        return send(res, 200, { executionArn, startDate: Date.now() / 1000 });
      }
      void execution.then((result) =>
        send(res, 200, {
          executionArn: result.executionArn,
          stateMachineArn: machine.arn,
          name: result.name,
          status: result.status,
          startDate: Date.parse(result.startDate) / 1000,
          stopDate: Date.parse(result.stopDate) / 1000,
          input: body.input,
          ...(result.status === 'SUCCEEDED' ? { output: JSON.stringify(result.output) } : { error: result.error, cause: result.cause }),
        }),
      );
    });
  });
  // Idle connections stay open until the client closes them (see the DynamoDB fault proxy for why).
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get running() {
      return inFlight.size;
    },
    async stop() {
      await Promise.allSettled([...inFlight]);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
