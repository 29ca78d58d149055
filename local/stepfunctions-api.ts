/**
 * A loopback endpoint speaking the Step Functions JSON API for the local state machines, so the
 * operator commands use the same client (`@aws-sdk/client-sfn`) against `media-probe up` as
 * against a deployed stack. It serves StartExecution and StartSyncExecution, and for the Standard
 * backfill machine DescribeExecution, ListExecutions, StopExecution, ListMapRuns and DescribeMapRun.
 * Requests are not signature-checked: it listens on 127.0.0.1 only.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExecutionRecord, LocalStateMachine, MapRunRecord } from './state-machine';

export interface StepFunctionsApi {
  endpoint: string;
  /** Executions started and not yet finished. */
  readonly running: number;
  stop(): Promise<void>;
}

/** A Step Functions API error: its HTTP status, its type (`__type`) and its message. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The API's timestamps: seconds since the epoch. */
const seconds = (iso: string | undefined) => (iso === undefined ? undefined : Date.parse(iso) / 1000);

function describeExecution(record: ExecutionRecord) {
  return {
    executionArn: record.executionArn,
    stateMachineArn: record.stateMachineArn,
    name: record.name,
    status: record.status,
    startDate: seconds(record.startDate),
    stopDate: seconds(record.stopDate),
    input: JSON.stringify(record.input),
    ...(record.output === undefined ? {} : { output: JSON.stringify(record.output) }),
    ...(record.error === undefined ? {} : { error: record.error }),
    ...(record.cause === undefined ? {} : { cause: record.cause }),
  };
}

function describeMapRun(mapRun: MapRunRecord) {
  const counts = { ...mapRun.itemCounts, timedOut: 0, resultsWritten: 0, failuresNotRedrivable: 0, pendingRedrive: 0 };
  return {
    mapRunArn: mapRun.mapRunArn,
    executionArn: mapRun.executionArn,
    status: mapRun.status,
    startDate: seconds(mapRun.startDate),
    stopDate: seconds(mapRun.stopDate),
    maxConcurrency: 0,
    toleratedFailurePercentage: 0,
    toleratedFailureCount: 0,
    itemCounts: counts,
    executionCounts: counts,
    redriveCount: 0,
  };
}

interface RequestBody {
  stateMachineArn?: string;
  executionArn?: string;
  mapRunArn?: string;
  name?: string;
  input?: string;
  error?: string;
  cause?: string;
}

export async function startStepFunctionsApi(machines: readonly LocalStateMachine[]): Promise<StepFunctionsApi> {
  const inFlight = new Set<Promise<unknown>>();
  const machineOf = (stateMachineArn: string | undefined) => {
    const machine = machines.find((m) => m.arn === stateMachineArn);
    if (!machine) throw new ApiError(400, 'StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);
    return machine;
  };
  const executionOf = (executionArn: string | undefined) => {
    for (const machine of machines) {
      const record = executionArn === undefined ? undefined : machine.describe(executionArn);
      if (record) return { machine, record };
    }
    throw new ApiError(400, 'ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
  };
  const mapRunOf = (mapRunArn: string | undefined) => {
    for (const machine of machines) {
      for (const record of machine.executions()) {
        const mapRun = record.mapRuns.find((run) => run.mapRunArn === mapRunArn);
        if (mapRun) return mapRun;
      }
    }
    throw new ApiError(400, 'ResourceNotFound', `Map Run Does Not Exist: '${mapRunArn}'`);
  };

  const operations: Record<string, (body: RequestBody) => unknown | Promise<unknown>> = {
    StartExecution(body) {
      const machine = machineOf(body.stateMachineArn);
      const { executionArn, result } = machine.startExecution(inputOf(body), body.name);
      inFlight.add(result);
      void result.finally(() => inFlight.delete(result));
      return { executionArn, startDate: Date.now() / 1000 };
    },
    async StartSyncExecution(body) {
      const machine = machineOf(body.stateMachineArn);
      if (machine.type !== 'EXPRESS')
        throw new ApiError(400, 'StateMachineTypeNotSupported', 'This operation is not supported by this type of state machine');
      const result = await machine.startExecution(inputOf(body), body.name).result;
      return {
        executionArn: result.executionArn,
        stateMachineArn: machine.arn,
        name: result.name,
        status: result.status,
        startDate: seconds(result.startDate),
        stopDate: seconds(result.stopDate),
        input: body.input,
        ...(result.status === 'SUCCEEDED' ? { output: JSON.stringify(result.output) } : { error: result.error, cause: result.cause }),
      };
    },
    DescribeExecution: (body) => describeExecution(executionOf(body.executionArn).record),
    ListExecutions(body) {
      const machine = machineOf(body.stateMachineArn);
      const status = (body as { statusFilter?: string }).statusFilter;
      return {
        executions: machine
          .executions()
          .filter((record) => !status || record.status === status)
          .map((record) => {
            const { executionArn, stateMachineArn, name, status, startDate, stopDate } = describeExecution(record);
            return { executionArn, stateMachineArn, name, status, startDate, stopDate };
          }),
      };
    },
    StopExecution(body) {
      const { machine } = executionOf(body.executionArn);
      const record = machine.stop(body.executionArn as string, body.error, body.cause);
      return { stopDate: seconds(record?.stopDate) ?? Date.now() / 1000 };
    },
    ListMapRuns(body) {
      const { record } = executionOf(body.executionArn);
      return {
        mapRuns: record.mapRuns.map((run) => ({
          executionArn: run.executionArn,
          mapRunArn: run.mapRunArn,
          stateMachineArn: record.stateMachineArn,
          startDate: seconds(run.startDate),
          stopDate: seconds(run.stopDate),
        })),
      };
    },
    DescribeMapRun: (body) => describeMapRun(mapRunOf(body.mapRunArn)),
  };

  function inputOf(body: RequestBody): unknown {
    try {
      return JSON.parse(body.input ?? '{}');
    } catch {
      throw new ApiError(400, 'InvalidExecutionInput', 'the execution input is not JSON');
    }
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const operation = String(req.headers['x-amz-target'] ?? '').replace('AWSStepFunctions.', '');
      try {
        let body: RequestBody;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
        } catch {
          throw new ApiError(400, 'SerializationException', 'the request body is not JSON');
        }
        const handle = operations[operation];
        if (!handle)
          throw new ApiError(
            400,
            'UnknownOperationException',
            `the local Step Functions endpoint does not implement ${operation || 'that operation'}`,
          );
        send(res, 200, await handle(body));
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        send(res, error.status, { __type: `com.amazonaws.swf.service.v2.model#${error.type}`, message: error.message });
      }
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
      // A backfill can run for as long as the table takes: stop it rather than wait for it.
      for (const machine of machines) for (const record of machine.executions()) machine.stop(record.executionArn);
      await Promise.allSettled([...inFlight]);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
