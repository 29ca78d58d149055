/** `media-probe up`: keeps the local stack running until Ctrl-C, and tells the --local commands where it listens. */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command, Option } from '@commander-js/extra-typings';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/components/constants';
import { LOCAL_CONNECTION_FILE, type LocalConnection } from '../../local/connection';
import type { BusEvent } from '../../local/event-bus';
import { LOCAL_EVENT_LOG, startLocalStack } from '../../local/stack';
import { log, REPOSITORY_ROOT } from '../local-run';
import { DEFAULT_DATA_DIR } from '../target';

/** "event  Media Analysis Failed  movie_id 7  media/a.mov  presign ObjectNotFoundError": one line per outcome event. */
export function eventLine(event: BusEvent): string {
  const detail = (event.detail ?? {}) as {
    movie_id?: unknown;
    bucket?: string;
    key?: string;
    error?: { step?: string; type?: string };
    summary?: { container?: string; duration_s?: number };
  };
  const what = detail.error
    ? `${detail.error.step} ${detail.error.type}`
    : [detail.summary?.container, detail.summary?.duration_s === undefined ? undefined : `${detail.summary.duration_s} s`]
        .filter(Boolean)
        .join(', ');
  return `event  ${event['detail-type']}  movie_id ${detail.movie_id}  ${detail.bucket ?? '?'}/${detail.key ?? '?'}  ${what}`.trimEnd();
}

export async function up(options: { data: string; pipe: boolean }): Promise<number> {
  const stack = await startLocalStack({ repositoryRoot: REPOSITORY_ROOT, dataDir: options.data, withPipe: options.pipe, log });
  const dataDir = path.resolve(options.data);
  const connection: LocalConnection = {
    pid: process.pid,
    region: LOCAL_REGION,
    endpoints: stack.endpoints,
    tableName: stack.tableName,
    streamArn: stack.streamArn,
    stateMachineArn: stack.stateMachine.arn,
    backfillStateMachineArn: stack.backfillMachine.arn,
    mediaBucket: stack.mediaBucket,
    resultsBucket: stack.resultsBucket,
  };
  writeFileSync(path.join(dataDir, LOCAL_CONNECTION_FILE), `${JSON.stringify(connection, null, 2)}\n`);
  // What the AWS CLI and SDKs read from the environment; AWS_DEFAULT_REGION too, the only one AWS CLI v1 and boto3 read.
  const environment = {
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_REGION: LOCAL_REGION,
    AWS_DEFAULT_REGION: LOCAL_REGION,
    AWS_ENDPOINT_URL_S3: stack.endpoints.s3,
    AWS_ENDPOINT_URL_DYNAMODB: stack.endpoints.dynamodb,
  };
  process.stdout.write(
    [
      'media-probe local stack is up (Ctrl-C to stop); other commands reach it with --local',
      `  DynamoDB endpoint  ${stack.endpoints.dynamodb}`,
      `  S3 endpoint        ${stack.endpoints.s3}`,
      `  Step Functions     ${stack.endpoints.stepfunctions}`,
      `    analysis         ${stack.stateMachine.arn}`,
      `    backfill         ${stack.backfillMachine.arn}`,
      `  table              ${stack.tableName}`,
      `  media bucket       ${stack.mediaBucket}`,
      `  results bucket     ${stack.resultsBucket}`,
      `  pipe               ${stack.pipe ? 'running' : 'paused (--no-pipe)'}`,
      `  outcome events     shown below as they are published, and kept in ${path.join(dataDir, LOCAL_EVENT_LOG)}`,
      `  data               ${dataDir}`,
      // Fixed and not secret (local/components/constants.ts): the local S3 endpoint checks signatures against them.
      `  credentials        access key ${LOCAL_CREDENTIALS.accessKeyId}, secret ${LOCAL_CREDENTIALS.secretAccessKey}, region ${LOCAL_REGION}`,
      '',
      `The AWS CLI and SDKs reach the local stack with these (e.g. aws s3 cp big.mov s3://${stack.mediaBucket}/):`,
      `export ${Object.entries(environment)
        .map(([name, value]) => `${name}=${value}`)
        .join(' ')}`,
      '',
    ].join('\n'),
  );
  const unsubscribe = stack.eventBus.subscribe((event) => process.stdout.write(`${eventLine(event)}\n`));
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  log('stopping…');
  unsubscribe();
  rmSync(path.join(dataDir, LOCAL_CONNECTION_FILE), { force: true });
  await stack.stop();
  return 0;
}

export const upCommand = () =>
  new Command('up')
    .description('run the local stack until Ctrl-C, keeping tables, objects, checkpoints and dead letters in --data')
    .addOption(new Option('--data <dir>', 'where the local stack keeps its state').default(DEFAULT_DATA_DIR))
    .option('--no-pipe', 'do not start the pipe: inserts wait until a backfill or a restart with the pipe')
    .action(async (options) => {
      process.exitCode = await up(options);
    });
