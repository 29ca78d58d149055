/**
 * Which media-probe the operator commands act on: a deployed stack (--stack NAME: its CloudFormation
 * outputs, credentials and region from the SDK's default chain) or the stack `media-probe up` runs
 * (--local: its endpoints.json and the fixed local credentials).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { LOCAL_CREDENTIALS } from '../local/components/constants';
import { LOCAL_CONNECTION_FILE, type LocalConnection } from '../local/connection';
import { explainAwsError, OperatorError, UsageError } from './errors';

export const DEFAULT_DATA_DIR = '.media-probe';

export interface TargetValues {
  stack?: string;
  local?: boolean;
  data?: string;
}

export interface Target {
  /** "stack media-probe (eu-west-1)" or "the local stack (.media-probe)": for messages. */
  label: string;
  /** The flags that select this target again, for hints such as "run reanalyze --id 7 --local". */
  flags: string;
  local: boolean;
  region: string;
  tableName: string;
  streamArn: string;
  stateMachineArn: string;
  /** The backfill state machine (the stack output BackfillStateMachineArn); absent on stacks deployed before it. */
  backfillStateMachineArn?: string;
  dynamodb: DynamoDBClient;
  /** Without SDK retries: StartExecution is retried by the caller, with its own pacing. */
  sfn: SFNClient;
  /** The bucket holding ffprobe outputs too large for their rows (the stack output ResultsBucketName). */
  resultsBucket?: string;
  /** For reading those outputs back. */
  s3: S3Client;
  close(): void;
}

/** The stack outputs the operator commands need (template.yaml, Outputs). */
const REQUIRED_OUTPUTS = ['TableName', 'TableStreamArn', 'StateMachineArn'] as const;

/** Reads across throttling on large scans: more tries than the SDK's default of 3. */
const DYNAMODB_MAX_ATTEMPTS = 6;

/** Checks that exactly one target was chosen; a usage error otherwise. */
function checkTargetValues(values: TargetValues): void {
  if (values.stack !== undefined && values.local) throw new UsageError('choose one target: --stack NAME or --local, not both');
  if (values.stack === undefined && !values.local)
    throw new UsageError('choose a target: --stack NAME (a deployed stack) or --local (the stack `media-probe up` runs)');
  if (values.stack !== undefined && !values.stack.trim()) throw new UsageError('--stack needs the stack name');
  if (values.data !== undefined && !values.local) throw new UsageError('--data only applies to --local');
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The connection `media-probe up` published under `dataDir`, if its process is still alive. */
function readLocalConnection(dataDir: string): LocalConnection {
  const file = path.resolve(dataDir, LOCAL_CONNECTION_FILE);
  const notRunning = () => new OperatorError(`no local stack is running: start \`npx media-probe up\` first (looked for ${file})`);
  let connection: LocalConnection;
  try {
    connection = JSON.parse(readFileSync(file, 'utf8')) as LocalConnection;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notRunning();
    throw new OperatorError(`${file} is not a readable endpoints file: ${(error as Error).message}`);
  }
  if (!Number.isInteger(connection?.pid) || !connection.endpoints?.dynamodb || !connection.endpoints?.stepfunctions) {
    throw new OperatorError(`${file} is not an endpoints file written by \`media-probe up\``);
  }
  if (!processAlive(connection.pid)) throw notRunning();
  return connection;
}

function localTarget(dataDir: string): Target {
  const connection = readLocalConnection(dataDir);
  const common = { region: connection.region, credentials: LOCAL_CREDENTIALS };
  const dynamodb = new DynamoDBClient({ ...common, endpoint: connection.endpoints.dynamodb, maxAttempts: DYNAMODB_MAX_ATTEMPTS });
  const sfn = new SFNClient({ ...common, endpoint: connection.endpoints.stepfunctions, maxAttempts: 1 });
  const s3 = new S3Client({ ...common, endpoint: connection.endpoints.s3, forcePathStyle: true });
  const dataFlag = path.resolve(dataDir) === path.resolve(DEFAULT_DATA_DIR) ? '' : ` --data ${dataDir}`;
  return {
    label: `the local stack (${dataDir})`,
    flags: `--local${dataFlag}`,
    local: true,
    region: connection.region,
    tableName: connection.tableName,
    streamArn: connection.streamArn,
    stateMachineArn: connection.stateMachineArn,
    backfillStateMachineArn: connection.backfillStateMachineArn,
    resultsBucket: connection.resultsBucket,
    dynamodb,
    sfn,
    s3,
    close() {
      dynamodb.destroy();
      sfn.destroy();
      s3.destroy();
    },
  };
}

async function stackTarget(stackName: string): Promise<Target> {
  const cloudformation = new CloudFormationClient({});
  try {
    let region: string;
    try {
      region = await cloudformation.config.region();
    } catch (error) {
      throw explainAwsError(error, `looking up stack ${stackName}`);
    }
    let stack: Stack | undefined;
    try {
      stack = (await cloudformation.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
    } catch (error) {
      const e = error as { name?: string; message?: string };
      if (e.name === 'ValidationError' && /does not exist/i.test(e.message ?? '')) {
        throw new OperatorError(
          `stack "${stackName}" does not exist in ${region}: check the name, and AWS_REGION / AWS_PROFILE (the stack is looked up in the SDK's configured region)`,
          {
            cause: error,
          },
        );
      }
      throw explainAwsError(error, `describing stack ${stackName} in ${region}`);
    }
    if (!stack) throw new OperatorError(`stack "${stackName}" does not exist in ${region}`);
    const outputs = Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
    const missing = REQUIRED_OUTPUTS.filter((name) => !outputs[name]);
    if (missing.length) {
      throw new OperatorError(
        `stack "${stackName}" (${stack.StackStatus ?? 'status unknown'}) has no output ${missing.join(', ')}: is it a media-probe stack, and did its deployment complete?`,
      );
    }
    const dynamodb = new DynamoDBClient({ region, maxAttempts: DYNAMODB_MAX_ATTEMPTS });
    const sfn = new SFNClient({ region, maxAttempts: 1 });
    const s3 = new S3Client({ region });
    return {
      label: `stack ${stackName} (${region})`,
      flags: `--stack ${stackName}`,
      local: false,
      region,
      tableName: outputs.TableName,
      streamArn: outputs.TableStreamArn,
      stateMachineArn: outputs.StateMachineArn,
      backfillStateMachineArn: outputs.BackfillStateMachineArn || undefined,
      resultsBucket: outputs.ResultsBucketName || undefined,
      dynamodb,
      sfn,
      s3,
      close() {
        dynamodb.destroy();
        sfn.destroy();
        s3.destroy();
      },
    };
  } finally {
    cloudformation.destroy();
  }
}

/** Resolves the target the options name: a usage error unless exactly one was chosen. */
export async function resolveTarget(values: TargetValues): Promise<Target> {
  checkTargetValues(values);
  return values.local ? localTarget(values.data ?? DEFAULT_DATA_DIR) : stackTarget(values.stack as string);
}

/** Resolves the target, runs `body`, and releases the clients' sockets whatever happens. */
export async function withTarget<T>(values: TargetValues, body: (target: Target) => Promise<T>): Promise<T> {
  const target = await resolveTarget(values);
  try {
    return await body(target);
  } finally {
    target.close();
  }
}
