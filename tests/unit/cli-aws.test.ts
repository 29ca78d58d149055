/** The operator commands' AWS-facing paths, on mocked clients: starting executions, finding the stack, and the errors an operator sees. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { CredentialsProviderError } from '@smithy/core/config';
import { mockClient } from 'aws-sdk-client-mock';
import { explainAwsError, UsageError } from '../../cli/errors';
import { startExecution } from '../../cli/start';
import { resolveTarget } from '../../cli/target';

const sfnMock = mockClient(SFNClient);
const cfnMock = mockClient(CloudFormationClient);

const STATE_MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:media-probe';
const records = [{ dynamodb: { Keys: { movie_id: { N: '7' } } } }, { dynamodb: { Keys: { movie_id: { N: '8' } } } }];

function awsError(name: string, message: string, status: number): Error {
  return Object.assign(new Error(message), { name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });
}

const pauses: number[] = [];
const retry = { attempts: 4, baseDelayMs: 100, maxDelayMs: 1_000, random: () => 1, sleep: async (ms: number) => void pauses.push(ms) };

beforeEach(() => {
  sfnMock.reset();
  cfnMock.reset();
  pauses.length = 0;
  process.env.AWS_REGION = 'eu-west-1';
});

describe('startExecution', () => {
  const sfn = () => new SFNClient({ region: 'eu-west-1' });

  test('retries a throttled start with growing pauses, then returns the started execution', async () => {
    sfnMock
      .on(StartExecutionCommand)
      .rejectsOnce(awsError('ThrottlingException', 'Rate exceeded', 400))
      .rejectsOnce(awsError('ExecutionLimitExceeded', 'Maximum number of running executions', 400))
      .rejectsOnce(awsError('InternalServerError', 'try again', 500))
      .resolves({ executionArn: 'arn:aws:states:eu-west-1:123456789012:express:media-probe:reanalyze-1:abc', startDate: new Date(0) });

    const started = await startExecution(sfn(), STATE_MACHINE, records, 'reanalyze-1', retry);

    expect(started).toEqual({
      executionArn: 'arn:aws:states:eu-west-1:123456789012:express:media-probe:reanalyze-1:abc',
      movieIds: ['7', '8'],
    });
    const calls = sfnMock.commandCalls(StartExecutionCommand);
    expect(calls).toHaveLength(4);
    // Every try sends the same request: the records as the JSON array the pipe would deliver.
    for (const call of calls)
      expect(call.args[0].input).toEqual({ stateMachineArn: STATE_MACHINE, name: 'reanalyze-1', input: JSON.stringify(records) });
    expect(pauses).toEqual([100, 200, 400]);
  });

  test('gives up after the last attempt with a clear error naming the throttling', async () => {
    sfnMock.on(StartExecutionCommand).rejects(awsError('ThrottlingException', 'Rate exceeded', 400));
    const error = (await startExecution(sfn(), STATE_MACHINE, records, 'backfill-1', retry).catch((e: Error) => e)) as Error;
    expect(error.message).toBe(
      `AWS kept throttling StartExecution on ${STATE_MACHINE} after 4 attempts (ThrottlingException: Rate exceeded): try again later, or lower --rate / --concurrency`,
    );
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(4);
  });

  test('does not retry an error that another try cannot fix', async () => {
    sfnMock.on(StartExecutionCommand).rejects(awsError('InvalidExecutionInput', 'the input is too large', 400));
    await expect(startExecution(sfn(), STATE_MACHINE, records, 'backfill-1', retry)).rejects.toThrow(
      `StartExecution on ${STATE_MACHINE} failed: InvalidExecutionInput: the input is too large`,
    );
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(1);
    expect(pauses).toEqual([]);
  });
});

describe('resolveTarget --stack', () => {
  test('reads the table, stream and state machine from the stack outputs', async () => {
    cfnMock.on(DescribeStacksCommand, { StackName: 'media-probe' }).resolves({
      Stacks: [
        {
          StackName: 'media-probe',
          StackStatus: 'UPDATE_COMPLETE',
          CreationTime: new Date(0),
          Outputs: [
            { OutputKey: 'TableName', OutputValue: 'movies' },
            { OutputKey: 'TableStreamArn', OutputValue: 'arn:aws:dynamodb:eu-west-1:123456789012:table/movies/stream/2026' },
            { OutputKey: 'StateMachineArn', OutputValue: STATE_MACHINE },
          ],
        },
      ],
    });
    const target = await resolveTarget({ stack: 'media-probe' });
    target.close();
    expect({
      table: target.tableName,
      stream: target.streamArn,
      machine: target.stateMachineArn,
      region: target.region,
      flags: target.flags,
    }).toEqual({
      table: 'movies',
      stream: 'arn:aws:dynamodb:eu-west-1:123456789012:table/movies/stream/2026',
      machine: STATE_MACHINE,
      region: 'eu-west-1',
      flags: '--stack media-probe',
    });
  });

  test('a stack that does not exist', async () => {
    cfnMock.on(DescribeStacksCommand).rejects(awsError('ValidationError', 'Stack with id nope does not exist', 400));
    await expect(resolveTarget({ stack: 'nope' })).rejects.toThrow(
      /^stack "nope" does not exist in eu-west-1: check the name, and AWS_REGION \/ AWS_PROFILE/,
    );
  });

  test('missing credentials', async () => {
    cfnMock
      .on(DescribeStacksCommand)
      .rejects(new CredentialsProviderError('Could not load credentials from any providers', { tryNextLink: false }));
    await expect(resolveTarget({ stack: 'media-probe' })).rejects.toThrow(
      /^no AWS credentials found while describing stack media-probe in eu-west-1: configure them/,
    );
  });

  test('a stack without the media-probe outputs', async () => {
    cfnMock.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'other',
          StackStatus: 'ROLLBACK_COMPLETE',
          CreationTime: new Date(0),
          Outputs: [{ OutputKey: 'TableName', OutputValue: 't' }],
        },
      ],
    });
    await expect(resolveTarget({ stack: 'other' })).rejects.toThrow(
      'stack "other" (ROLLBACK_COMPLETE) has no output TableStreamArn, StateMachineArn',
    );
  });

  test('throttled beyond the SDK retries', async () => {
    cfnMock
      .on(DescribeStacksCommand)
      .rejects(Object.assign(awsError('Throttling', 'Rate exceeded', 400), { $metadata: { httpStatusCode: 400, attempts: 3 } }));
    await expect(resolveTarget({ stack: 'media-probe' })).rejects.toThrow(
      'AWS kept throttling describing stack media-probe in eu-west-1 after 3 attempts (Throttling: Rate exceeded): try again later, or lower --rate / --concurrency',
    );
  });
});

describe('target options', () => {
  test('exactly one of --stack and --local', async () => {
    await expect(resolveTarget({})).rejects.toThrow(UsageError);
    await expect(resolveTarget({})).rejects.toThrow(/^choose a target/);
    await expect(resolveTarget({ stack: 's', local: true })).rejects.toThrow(UsageError);
    await expect(resolveTarget({ stack: 's', local: true })).rejects.toThrow(/not both/);
    await expect(resolveTarget({ stack: 's', data: 'dir' })).rejects.toMatchObject({ message: '--data only applies to --local' });
  });

  describe('--local', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'ops-target-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    const connection = (pid: number) => ({
      pid,
      region: 'us-east-1',
      endpoints: { dynamodb: 'http://127.0.0.1:1', s3: 'http://127.0.0.1:2', stepfunctions: 'http://127.0.0.1:3' },
      tableName: 'media-probe-local',
      streamArn: 'arn:aws:dynamodb:ddblocal:000000000000:table/media-probe-local/stream/x',
      stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:media-probe-local',
      mediaBucket: 'm',
      resultsBucket: 'r',
    });

    test('no endpoints.json: no local stack is running', async () => {
      await expect(resolveTarget({ local: true, data: dir })).rejects.toThrow(
        `no local stack is running: start \`npx media-probe up\` first (looked for ${path.join(dir, 'endpoints.json')})`,
      );
    });

    test('an endpoints.json whose process is gone is stale', async () => {
      // A pid above the kernel's pid_max cannot belong to a live process.
      writeFileSync(path.join(dir, 'endpoints.json'), JSON.stringify(connection(2 ** 22 + 1)));
      await expect(resolveTarget({ local: true, data: dir })).rejects.toThrow(/^no local stack is running/);
    });

    test('a live one gives the published table, stream and state machine', async () => {
      writeFileSync(path.join(dir, 'endpoints.json'), JSON.stringify(connection(process.pid)));
      const target = await resolveTarget({ local: true, data: dir });
      target.close();
      expect({ table: target.tableName, machine: target.stateMachineArn, local: target.local, flags: target.flags }).toEqual({
        table: 'media-probe-local',
        machine: 'arn:aws:states:us-east-1:000000000000:stateMachine:media-probe-local',
        local: true,
        flags: `--local --data ${dir}`,
      });
    });
  });
});

describe('explainAwsError', () => {
  test('no region configured', () => {
    expect(explainAwsError(new Error('Region is missing'), 'looking up stack s').message).toBe(
      "no AWS region configured while looking up stack s: set AWS_REGION (or AWS_PROFILE with a region) to the stack's region",
    );
  });

  test('expired or rejected credentials, and denied permissions', () => {
    expect(
      explainAwsError(awsError('ExpiredTokenException', 'The security token included in the request is expired', 400), 'scanning table t')
        .message,
    ).toMatch(/^AWS rejected the credentials while scanning table t \(ExpiredTokenException: .*\): refresh them/);
    expect(
      explainAwsError(awsError('AccessDeniedException', 'not authorized to perform: states:StartExecution', 400), 'StartExecution on m')
        .message,
    ).toBe('not allowed: StartExecution on m was denied (AccessDeniedException: not authorized to perform: states:StartExecution)');
  });

  test('an unreachable endpoint', () => {
    expect(
      explainAwsError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'scanning table t').message,
    ).toBe('could not reach the endpoint while scanning table t (ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1)');
  });
});
