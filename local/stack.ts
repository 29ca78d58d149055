/**
 * Starts the whole pipeline on real local components: DynamoDB Local with its stream (behind a
 * fault proxy), the signature-verifying S3 endpoint, the real handlers, the real ASL, and the pipe
 * with its event-ruler filter.
 * One stack per process: the handlers read their configuration from the environment once.
 */

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  type TableDescription,
  UpdateTableCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { attOf, refOf } from './cfn';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './components/constants';
import { type DynamoDbFaults, startDynamoDbFaultProxy } from './components/dynamodb-fault-proxy';
import { startDynamoDbLocal } from './components/dynamodb-local';
import { type S3Faults, type S3ObjectEvent, type S3RequestRecord, startS3Endpoint } from './components/s3';
import { LocalEventBus } from './event-bus';
import { hostFfprobe } from './ffprobe-binary';
import { LocalFunction } from './lambda';
import { ObjectEventDelivery } from './object-events';
import { DeadLetterStore } from './pipe/dead-letter';
import { EventFilter } from './pipe/event-filter';
import { LocalPipe } from './pipe/local-pipe';
import { LocalStateMachine } from './state-machine';
import { startStepFunctionsApi } from './stepfunctions-api';
import { localTemplate, type MachineSettings, type TableSettings, type TemplateFunction } from './template';

export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_TABLE = 'media-probe-local';
export const LOCAL_MEDIA_BUCKET = 'media-probe-local-media';
export const LOCAL_RESULTS_BUCKET = 'media-probe-local-results';
/** The local bus's events, one JSON object a line, in the data directory. */
export const LOCAL_EVENT_LOG = 'events.jsonl';

export interface LocalStackOptions {
  repositoryRoot: string;
  /** Keep tables, objects, checkpoints and dead letters here; everything is in memory when omitted. */
  dataDir?: string;
  /** Start the pipe (default true); without it, inserts wait until a backfill or a restart with the pipe. */
  withPipe?: boolean;
  /** Scale Retry and pipe back-off pauses; tests use a small factor. */
  retryIntervalScale?: number;
  log?: (line: string) => void;
}

export interface LocalStack {
  endpoints: { dynamodb: string; s3: string; stepfunctions: string };
  tableName: string;
  mediaBucket: string;
  resultsBucket: string;
  streamArn: string;
  dynamodb: DynamoDBClient;
  s3: S3Client;
  functions: Record<string, LocalFunction>;
  stateMachine: LocalStateMachine;
  /** The backfill state machine (Standard, with its Distributed Map run inline by the interpreter). */
  backfillMachine: LocalStateMachine;
  /** The bus the outcome events land on (and, with a data directory, its events.jsonl). */
  eventBus: LocalEventBus;
  /** S3's object events of the media bucket on their way to the object-event function. */
  objectEvents: ObjectEventDelivery;
  pipe?: LocalPipe;
  deadLetters: DeadLetterStore;
  faults: { dynamodb: DynamoDbFaults; s3: S3Faults };
  /** The local S3 endpoint's most recent requests (operation, key, range, status; never a URL): what a step read. */
  s3Requests: readonly S3RequestRecord[];
  /** Resolves once the pipe has nothing buffered or in flight and the stream has no new records. */
  waitUntilIdle(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** What the stack's resources are called locally, by the reference the template makes to them. */
const LOCAL_RESOURCES: Record<string, string> = {
  '<Ref MoviesTable>': LOCAL_TABLE,
  '<Ref ResultsBucket>': LOCAL_RESULTS_BUCKET,
};

/**
 * A function's environment as the template deploys it, with local stand-ins for the stack's
 * resources and for the layer's mount point; a variable the template does not give the function
 * is not there locally either.
 */
export function localEnvironment(
  fn: TemplateFunction,
  ffprobePath: string,
  runtimeResources: Record<string, string> = {},
): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const [name, value] of Object.entries(fn.environment)) {
    if (name === 'NODE_OPTIONS') continue;
    if (value.startsWith('<')) {
      const local = LOCAL_RESOURCES[value] ?? runtimeResources[value];
      if (!local) throw new Error(`${fn.logicalId}'s ${name} refers to ${value}, which the local run has no stand-in for`);
      environment[name] = local;
    } else {
      environment[name] = value === '/opt/bin/ffprobe' ? ffprobePath : value;
    }
  }
  environment.LOG_LEVEL = process.env.MEDIA_PROBE_LOG_LEVEL ?? 'SILENT';
  // As Lambda sets it: the ffprobe step's memory budget follows the template's MemorySize.
  environment.AWS_LAMBDA_FUNCTION_MEMORY_SIZE = String(fn.memoryMb);
  return environment;
}

/** Creates the bucket unless it exists. */
export async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  }
}

/** A table kept in a data directory from before an index was added to the template gets it now, as an update of the stack would. */
async function addMissingIndexes(dynamodb: DynamoDBClient, table: TableSettings, existing: TableDescription | undefined): Promise<void> {
  const present = new Set((existing?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
  for (const index of table.globalSecondaryIndexes.filter((i) => !present.has(i.IndexName))) {
    const attributes = new Set(index.KeySchema?.map((k) => k.AttributeName));
    await dynamodb.send(
      new UpdateTableCommand({
        TableName: LOCAL_TABLE,
        AttributeDefinitions: table.attributeDefinitions.filter((a) => attributes.has(a.AttributeName)),
        GlobalSecondaryIndexUpdates: [{ Create: index }],
      }),
    );
  }
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const log = options.log ?? (() => undefined);
  const root = options.repositoryRoot;
  const templatePath = path.join(root, 'template.yaml');
  const settings = localTemplate(templatePath);
  const ffprobePath = hostFfprobe(root, log);
  const dataDir = options.dataDir ? path.resolve(options.dataDir) : undefined;
  if (dataDir) mkdirSync(dataDir, { recursive: true });

  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const withPipe = options.withPipe ?? true;
    log(withPipe ? 'starting DynamoDB Local and the pipe filter…' : 'starting DynamoDB Local…');
    // Two JVMs: started side by side, so the filter's startup hides behind DynamoDB Local's.
    const [ddbStarted, filterStarted] = await Promise.allSettled([
      startDynamoDbLocal({ dataDir: dataDir && path.join(dataDir, 'dynamodb'), log }),
      withPipe ? EventFilter.start({ patterns: settings.pipe.filterPatterns, log }) : undefined,
    ]);
    const filter = filterStarted.status === 'fulfilled' ? filterStarted.value : undefined;
    if (ddbStarted.status === 'fulfilled') stops.push(() => ddbStarted.value.stop());
    if (filter) stops.push(() => filter.stop());
    if (ddbStarted.status === 'rejected') throw ddbStarted.reason;
    if (filterStarted.status === 'rejected') throw filterStarted.reason;
    const ddbLocal = ddbStarted.value;
    const proxy = await startDynamoDbFaultProxy(ddbLocal.endpoint);
    stops.push(() => proxy.stop());
    // S3's object events reach the object-event function once it exists (below), as a rule on the media bucket would deliver them.
    let deliverObjectEvent: (event: S3ObjectEvent) => void = () => undefined;
    const s3Endpoint = await startS3Endpoint({
      dataDir: dataDir ? path.join(dataDir, 's3') : undefined,
      credentials: LOCAL_CREDENTIALS,
      region: LOCAL_REGION,
      account: LOCAL_ACCOUNT,
      onObjectEvent: (event) => deliverObjectEvent(event),
    });
    stops.push(() => s3Endpoint.stop());

    // What every function shares: the local endpoints and credentials. Each function's own variables
    // come from its template Environment (see localEnvironment) and are set only while it loads.
    Object.assign(process.env, {
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: proxy.endpoint,
      AWS_ENDPOINT_URL_S3: s3Endpoint.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      POWERTOOLS_TRACE_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: process.env.MEDIA_PROBE_LOG_LEVEL ?? 'SILENT',
      // The update function's metrics are EMF lines on stdout: shown with the functions' logs (--verbose), not otherwise.
      POWERTOOLS_METRICS_DISABLED: process.env.MEDIA_PROBE_LOG_LEVEL ? 'false' : 'true',
    });
    delete process.env.AWS_PROFILE;
    delete process.env.AWS_SESSION_TOKEN;

    const clientConfig = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
    const dynamodb = new DynamoDBClient({ ...clientConfig, endpoint: ddbLocal.endpoint });
    const s3 = new S3Client({ ...clientConfig, endpoint: s3Endpoint.endpoint, forcePathStyle: true });
    const streams = new DynamoDBStreamsClient({ ...clientConfig, endpoint: ddbLocal.endpoint });

    try {
      await dynamodb.send(new DescribeTableCommand({ TableName: LOCAL_TABLE }));
    } catch {
      await dynamodb.send(
        new CreateTableCommand({
          TableName: LOCAL_TABLE,
          KeySchema: settings.table.keySchema,
          AttributeDefinitions: settings.table.attributeDefinitions,
          BillingMode: 'PAY_PER_REQUEST',
          StreamSpecification: { StreamEnabled: true, StreamViewType: settings.table.streamViewType },
          ...(settings.table.globalSecondaryIndexes.length ? { GlobalSecondaryIndexes: settings.table.globalSecondaryIndexes } : {}),
        }),
      );
      await waitUntilTableExists({ client: dynamodb, maxWaitTime: 30 }, { TableName: LOCAL_TABLE });
    }
    const table = await dynamodb.send(new DescribeTableCommand({ TableName: LOCAL_TABLE }));
    await addMissingIndexes(dynamodb, settings.table, table.Table);
    const streamArn = table.Table?.LatestStreamArn;
    if (!streamArn) throw new Error(`table ${LOCAL_TABLE} has no stream`);
    await ensureBucket(s3, LOCAL_MEDIA_BUCKET);
    await ensureBucket(s3, LOCAL_RESULTS_BUCKET);

    const functions: Record<string, LocalFunction> = {};
    // Resources only known once the components run, by the reference the template makes to them.
    const runtimeResources = { [attOf(settings.table.logicalId, 'StreamArn')]: streamArn };
    const bind = (machine: MachineSettings) => {
      const byPlaceholder: Record<string, LocalFunction> = {};
      for (const [placeholder, fn] of Object.entries(machine.substitutions)) {
        functions[fn.logicalId] ??= new LocalFunction(
          fn,
          root,
          LOCAL_REGION,
          LOCAL_ACCOUNT,
          localEnvironment(fn, ffprobePath, runtimeResources),
        );
        byPlaceholder[placeholder] = functions[fn.logicalId];
      }
      return byPlaceholder;
    };
    const eventBus = new LocalEventBus({
      region: LOCAL_REGION,
      account: LOCAL_ACCOUNT,
      file: dataDir && path.join(dataDir, LOCAL_EVENT_LOG),
    });
    const common = { region: LOCAL_REGION, account: LOCAL_ACCOUNT, retryIntervalScale: options.retryIntervalScale, eventBus };
    const stateMachine = new LocalStateMachine({
      ...common,
      name: LOCAL_TABLE,
      type: settings.analysis.type,
      definitionPath: path.join(root, settings.analysis.definitionPath),
      functions: bind(settings.analysis),
      values: settings.analysis.values,
    });
    const machinesByLogicalId: Record<string, LocalStateMachine> = { [settings.analysis.logicalId]: stateMachine };
    const backfillMachine = new LocalStateMachine({
      ...common,
      name: `${LOCAL_TABLE}-backfill`,
      type: settings.backfill.type,
      definitionPath: path.join(root, settings.backfill.definitionPath),
      functions: bind(settings.backfill),
      machines: Object.fromEntries(
        Object.entries(settings.backfill.machineSubstitutions).map(([placeholder, logicalId]) => {
          const machine = machinesByLogicalId[logicalId];
          if (!machine)
            throw new Error(
              `${settings.backfill.logicalId} substitutes ${placeholder} with ${logicalId}, which the local run has no stand-in for`,
            );
          return [placeholder, machine];
        }),
      ),
      values: settings.backfill.values,
    });
    const stepFunctionsApi = await startStepFunctionsApi([stateMachine, backfillMachine]);
    stops.push(() => stepFunctionsApi.stop());
    process.env.AWS_ENDPOINT_URL_SFN = stepFunctionsApi.endpoint;
    const objectEvents = new ObjectEventDelivery(
      new LocalFunction(
        settings.objectEvent,
        root,
        LOCAL_REGION,
        LOCAL_ACCOUNT,
        localEnvironment(settings.objectEvent, ffprobePath, {
          ...runtimeResources,
          [refOf(settings.analysis.logicalId)]: stateMachine.arn,
        }),
      ),
      LOCAL_MEDIA_BUCKET,
      log,
    );
    functions[settings.objectEvent.logicalId] = objectEvents.target;
    deliverObjectEvent = (event) => objectEvents.deliver(event);
    stops.push(() => objectEvents.drain());
    const deadLetters = new DeadLetterStore(dataDir && path.join(dataDir, 'dead-letter.jsonl'));
    const checkpointFile = dataDir && path.join(dataDir, 'pipe-checkpoints.json');
    let pipe: LocalPipe | undefined;
    if (filter) {
      pipe = new LocalPipe({
        streams,
        streamArn,
        settings: settings.pipe,
        filter,
        target: (records) => stateMachine.startSyncExecution(records),
        deadLetter: deadLetters,
        checkpointFile,
        retryIntervalScale: options.retryIntervalScale,
      });
      const started = pipe;
      started.start();
      stops.push(() => started.stop());
    }

    return {
      endpoints: { dynamodb: proxy.endpoint, s3: s3Endpoint.endpoint, stepfunctions: stepFunctionsApi.endpoint },
      tableName: LOCAL_TABLE,
      mediaBucket: LOCAL_MEDIA_BUCKET,
      resultsBucket: LOCAL_RESULTS_BUCKET,
      streamArn,
      dynamodb,
      s3,
      functions,
      stateMachine,
      backfillMachine,
      eventBus,
      objectEvents,
      pipe,
      deadLetters,
      faults: { dynamodb: proxy.faults, s3: s3Endpoint.faults },
      s3Requests: s3Endpoint.requests,
      async waitUntilIdle(timeoutMs = 120_000) {
        if (!pipe) return;
        const deadline = Date.now() + timeoutMs;
        let idleSince = 0;
        while (Date.now() < deadline) {
          if (pipe.idle) {
            idleSince ||= Date.now();
            if (Date.now() - idleSince > 600) return;
          } else idleSince = 0;
          await sleep(100);
        }
        throw new Error(`the local pipe was still busy after ${Math.round(timeoutMs / 1000)} s`);
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
