/**
 * Structural checks of template.yaml that matter to users: what the pipe forwards and how it
 * fails, what each role may do, how the table and buckets are protected, and that the state
 * machine definition and the template agree. The intrinsic functions are evaluated for concrete
 * parameter values rather than compared as text.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ffprobeMemoryBudgetMiB } from '../../functions/lib/ffprobe-command';
import { OBJECT_INDEX_NAME, OBJECT_URI } from '../../functions/lib/object-index';
import { ANALYSES_METRIC } from '../../functions/lib/outcome-metrics';
import { attOf, type Deployment, Evaluator, type Json, loadTemplate, refOf, repoRoot } from './support';

const template = loadTemplate();
const resources = template.Resources as Record<string, Json>;

const deploy = (deployment: Deployment = {}) => new Evaluator(template, deployment);
const props = (logicalId: string, deployment: Deployment = {}): Json => deploy(deployment).evaluate(resources[logicalId].Properties);

/** All policy statements a SAM function or state machine gets from its `Policies`, flattened. */
function statementsOf(logicalId: string, deployment: Deployment = {}): Json[] {
  const policies = (props(logicalId, deployment).Policies ?? []) as Json[];
  return policies.flatMap((p) => (p.Statement ? p.Statement : [p]));
}

/** The policy resources attached to the pipe's role. */
const pipeRolePolicies = (): Array<[string, Json]> =>
  Object.entries(resources).filter(
    ([, r]) => ['AWS::IAM::RolePolicy', 'AWS::IAM::Policy'].includes(r.Type) && JSON.stringify(r.Properties).includes('{"Ref":"PipeRole"}'),
  );

/** The logical ids a resource refers to, through Ref, Fn::GetAtt or Fn::Sub, wherever it does. */
function resourcesReferenced(resource: Json): string[] {
  const found = new Set<string>();
  const walk = (value: Json): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      for (const [key, inner] of Object.entries<Json>(value)) {
        if (key === 'Ref' && typeof inner === 'string' && inner in resources) found.add(inner);
        else if (key === 'Fn::GetAtt') found.add([inner].flat()[0]);
        else if (key === 'Fn::Sub')
          for (const m of JSON.stringify(inner).matchAll(/\$\{(\w+)[.}]/g)) if (m[1] in resources) found.add(m[1]);
        walk(inner);
      }
    }
  };
  walk(resource);
  return [...found];
}

const actionsOf = (statement: Json): string[] => [statement.Action].flat();
const resourcesOf = (statement: Json): string[] => [statement.Resource].flat();

describe('parameters', () => {
  const parameters = template.Parameters as Record<string, Json>;

  it('defaults to arm64 and offers only the two Lambda architectures', () => {
    expect(parameters.Architecture.Default).toBe('arm64');
    expect([...parameters.Architecture.AllowedValues].sort()).toEqual(['arm64', 'x86_64']);
  });

  it('keeps the presigned URL short-lived by default and bounded', () => {
    expect(parameters.PresignExpirySeconds.Default).toBeLessThanOrEqual(300);
    expect(parameters.PresignExpirySeconds.MaxValue).toBeLessThanOrEqual(3600);
    // That a retried probe is done before the shortest lifetime ends is derived from the ASL's
    // retries and the functions' timeouts in tests/unit/retry-budget.test.ts.
  });

  it('does not log execution data (the presigned URL) unless asked to', () => {
    expect(parameters.LogExecutionData.Default).toBe('false');
    const machine = (d: Deployment) => props('MediaProbeStateMachine', d).Logging.IncludeExecutionData;
    expect(machine({})).toBe(false);
    expect(machine({ parameters: { LogExecutionData: 'true' } })).toBe(true);
  });

  it('documents every parameter', () => {
    for (const [name, p] of Object.entries(parameters)) {
      expect({ name, description: typeof p.Description === 'string' && p.Description.length > 20 }).toEqual({ name, description: true });
    }
  });
});

describe('functions', () => {
  const globals = template.Globals.Function as Json;
  /** The one statement that lets the presign function sign the PUT of a large ffprobe output. */
  const OUTPUT_UPLOADS = {
    Sid: 'PresignFfprobeOutputUploads',
    Effect: 'Allow',
    Action: 's3:PutObject',
    Resource: `${attOf('ResultsBucket', 'Arn')}/ffprobe-output/*`,
  };

  it('run on Node 22 with the chosen architecture, tracing as the Tracing parameter says and the shared log settings', () => {
    expect(globals.Runtime).toBe('nodejs22.x');
    expect(globals.Architectures).toEqual([{ Ref: 'Architecture' }]);
    expect(deploy().evaluate(globals.Tracing)).toBe('Active');
    expect(deploy({ parameters: { Tracing: 'false' } }).evaluate(globals.Tracing)).toBe('PassThrough');
    expect(Object.keys(globals.Environment.Variables)).toEqual(expect.arrayContaining(['LOG_LEVEL', 'POWERTOOLS_SERVICE_NAME']));
    expect(deploy({ parameters: { LogLevel: 'DEBUG' } }).evaluate(globals.Environment.Variables.LOG_LEVEL)).toBe('DEBUG');
  });

  it.each([
    ['PresignFunction', 'presign/index.ts'],
    ['FfprobeFunction', 'ffprobe/index.ts'],
    ['UpdateFunction', 'update/index.ts'],
    ['SelectFunction', 'select/index.ts'],
    ['ObjectEventFunction', 'object-event/index.ts'],
  ])('%s is bundled with esbuild from functions/%s and gets its own role', (logicalId, entry) => {
    const resource = resources[logicalId];
    expect(resource.Metadata.BuildMethod).toBe('esbuild');
    expect(resource.Metadata.BuildProperties.EntryPoints).toEqual([entry]);
    expect(resource.Metadata.BuildProperties.Target).toBe('es2023');
    const codeUri = resource.Properties.CodeUri ?? globals.CodeUri;
    expect(readFileSync(path.join(repoRoot, codeUri, entry), 'utf8')).toMatch(/export\s+(const|async function|function)\s+handler\b/);
    // A Role property would replace the per-function role SAM generates from Policies.
    expect(resource.Properties.Role).toBeUndefined();
  });

  it('presign may only read objects in the configured media buckets', () => {
    const statements = statementsOf('PresignFunction', { parameters: { MediaBucketNames: ['media-a', 'library.b'] } });
    expect(statements).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:GetObjectVersion'],
        Resource: ['arn:*:s3:::media-a/*', 'arn:*:s3:::library.b/*'],
      }),
      OUTPUT_UPLOADS,
    ]);
  });

  it('presign may read only buckets this account owns, unless other owners are named', () => {
    const own = statementsOf('PresignFunction', { parameters: { MediaBucketNames: ['media-a'] } });
    expect(own[0].Condition).toEqual({ StringEquals: { 's3:ResourceAccount': ['123456789012'] } });
    const shared = statementsOf('PresignFunction', {
      parameters: { MediaBucketNames: ['media-a'], MediaBucketOwnerAccounts: ['210987654321', '111122223333'] },
    });
    expect(shared[0].Condition).toEqual({ StringEquals: { 's3:ResourceAccount': ['123456789012', '210987654321', '111122223333'] } });
  });

  it('MediaBucketNames takes bucket names only: no wildcard, no ARN, no key prefix', () => {
    const parameter = template.Parameters.MediaBucketNames;
    // CloudFormation applies a CommaDelimitedList's AllowedPattern to each value of the list.
    const pattern = new RegExp(parameter.AllowedPattern);
    for (const name of ['', 'my-media', 'library.b', 'Legacy_Bucket_2009'])
      expect({ name, ok: pattern.test(name) }).toEqual({ name, ok: true });
    for (const name of ['*', 'media-*', 'med?a', 'arn:aws:s3:::*/*', 'arn:aws:s3:::media', 'media/prefix', ' media', 'a', '-media']) {
      expect({ name, ok: pattern.test(name) }).toEqual({ name, ok: false });
    }
    expect(parameter.ConstraintDescription).toMatch(/bucket names/);
  });

  it('MediaBucketOwnerAccounts takes account ids only', () => {
    const pattern = new RegExp(template.Parameters.MediaBucketOwnerAccounts.AllowedPattern);
    for (const id of ['', '210987654321']) expect({ id, ok: pattern.test(id) }).toEqual({ id, ok: true });
    for (const id of ['*', '21098765432', 'arn:aws:iam::210987654321:root'])
      expect({ id, ok: pattern.test(id) }).toEqual({ id, ok: false });
  });

  it('rejects a blank entry among bucket names or owner accounts (a stray comma), but not an empty list', () => {
    for (const [rule, parameter] of [
      ['MediaBucketNamesHaveNoBlankEntry', 'MediaBucketNames'],
      ['MediaBucketOwnerAccountsHaveNoBlankEntry', 'MediaBucketOwnerAccounts'],
    ]) {
      const assertion = template.Rules[rule].Assertions[0].Assert;
      const holds = (value: string[]) => deploy({ parameters: { [parameter]: value } }).evaluate(assertion);
      expect({ rule, empty: holds(['']), one: holds(['a1b']), two: holds(['a1b', 'c2d']) }).toEqual({
        rule,
        empty: true,
        one: true,
        two: true,
      });
      expect({ rule, trailing: holds(['a1b', '']), inner: holds(['a1b', '', 'c2d']) }).toEqual({ rule, trailing: false, inner: false });
    }
  });

  it('presign gets no media access at all when no bucket is configured', () => {
    expect(statementsOf('PresignFunction', { parameters: { MediaBucketNames: '' } })).toEqual([OUTPUT_UPLOADS]);
  });

  it('presign may decrypt with the media KMS key only through S3, and only when a key is given', () => {
    const key = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const statements = statementsOf('PresignFunction', { parameters: { MediaBucketNames: ['m'], MediaKmsKeyArn: key } });
    expect(statements).toHaveLength(3);
    expect(statements[1]).toEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: key,
        Condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } },
      }),
    );
    expect(statementsOf('PresignFunction', { parameters: { MediaBucketNames: ['m'] } }).flatMap(actionsOf)).not.toContain('kms:Decrypt');
  });

  it('presign may sign PUTs into the results bucket only under ffprobe-output/', () => {
    expect(statementsOf('PresignFunction').at(-1)).toEqual(OUTPUT_UPLOADS);
    expect(props('PresignFunction').Environment.Variables.RESULTS_BUCKET).toBe(refOf('ResultsBucket'));
  });

  it('probe, which runs ffprobe on untrusted bytes, holds no data permission at all', () => {
    expect(statementsOf('FfprobeFunction')).toEqual([]);
    expect(props('FfprobeFunction').Environment.Variables.RESULTS_BUCKET).toBeUndefined();
  });

  it('probe uses the layer binary and outlives its own ffprobe timeout', () => {
    const allowed = template.Parameters.FfprobeTimeoutSeconds.AllowedValues as number[];
    for (const ffprobeTimeout of allowed) {
      const p = props('FfprobeFunction', { parameters: { FfprobeTimeoutSeconds: ffprobeTimeout } });
      expect(p.Layers).toEqual([refOf('FfprobeLayer')]);
      // FfprobeMemorySize: the size the cost model chose by default (BENCHMARKS.md); every allowed size leaves ffprobe a memory budget.
      expect(p.MemorySize).toBe(384);
      expect(ffprobeMemoryBudgetMiB(p.MemorySize)).toBe(128);
      expect(ffprobeMemoryBudgetMiB(template.Parameters.FfprobeMemorySize.MinValue as number)).toBeGreaterThanOrEqual(128);
      expect(props('FfprobeFunction', { parameters: { FfprobeMemorySize: 2048 } }).MemorySize).toBe(2048);
      expect(p.Environment.Variables).toEqual({
        FFPROBE_PATH: '/opt/bin/ffprobe',
        FFPROBE_TIMEOUT_SECONDS: ffprobeTimeout,
      });
      // The retries' fit in the 5-minute Express limit is tests/unit/retry-budget.test.ts's to check.
      expect(p.Timeout).toBeGreaterThanOrEqual(ffprobeTimeout + 15);
    }
  });

  it('update may only UpdateItem on the movie table, created or attached', () => {
    const created = statementsOf('UpdateFunction');
    expect(created).toEqual([
      expect.objectContaining({ Effect: 'Allow', Action: 'dynamodb:UpdateItem', Resource: attOf('MoviesTable', 'Arn') }),
    ]);
    const attached = statementsOf('UpdateFunction', {
      parameters: {
        ExistingTableName: 'movies',
        ExistingTableStreamArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/movies/stream/2024-01-01T00:00:00.000',
      },
    });
    expect(attached).toEqual([
      expect.objectContaining({ Action: 'dynamodb:UpdateItem', Resource: 'arn:aws:dynamodb:eu-west-1:123456789012:table/movies' }),
    ]);
    expect(
      props('UpdateFunction', {
        parameters: {
          ExistingTableName: 'movies',
          ExistingTableStreamArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/movies/stream/x',
        },
      }).Environment.Variables.TABLE_NAME,
    ).toBe('movies');
  });

  it('select (the backfill) may only Scan the movie table, created or attached, and knows its stream', () => {
    expect(statementsOf('SelectFunction')).toEqual([
      expect.objectContaining({ Effect: 'Allow', Action: 'dynamodb:Scan', Resource: attOf('MoviesTable', 'Arn') }),
    ]);
    expect(props('SelectFunction').Environment.Variables).toEqual({
      TABLE_NAME: refOf('MoviesTable'),
      STREAM_ARN: attOf('MoviesTable', 'StreamArn'),
    });
    const attached = {
      parameters: {
        ExistingTableName: 'movies',
        ExistingTableStreamArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/movies/stream/x',
      },
    };
    expect(statementsOf('SelectFunction', attached)).toEqual([
      expect.objectContaining({ Action: 'dynamodb:Scan', Resource: 'arn:aws:dynamodb:eu-west-1:123456789012:table/movies' }),
    ]);
    expect(props('SelectFunction', attached).Environment.Variables).toEqual({
      TABLE_NAME: 'movies',
      STREAM_ARN: 'arn:aws:dynamodb:eu-west-1:123456789012:table/movies/stream/x',
    });
  });

  it('each function logs to its own group with the configured retention', () => {
    for (const [fn, group] of [
      ['PresignFunction', 'PresignLogGroup'],
      ['FfprobeFunction', 'ProbeLogGroup'],
      ['UpdateFunction', 'UpdateLogGroup'],
      ['SelectFunction', 'SelectLogGroup'],
    ]) {
      expect(props(fn).LoggingConfig.LogGroup).toBe(refOf(group));
      expect(props(group, { parameters: { LogRetentionDays: 90 } }).RetentionInDays).toBe(90);
    }
  });

  it.each(['PresignFunction', 'FfprobeFunction', 'UpdateFunction', 'SelectFunction', 'ObjectEventFunction'])(
    "%s logs JSON at LogLevel (WARN by default), and Lambda's own START/END/REPORT lines only at PlatformLogLevel INFO or below (WARN by default)",
    (fn) => {
      expect(props(fn).LoggingConfig).toMatchObject({ LogFormat: 'JSON', ApplicationLogLevel: 'WARN', SystemLogLevel: 'WARN' });
      expect(props(fn, { parameters: { LogLevel: 'INFO', PlatformLogLevel: 'INFO' } }).LoggingConfig).toMatchObject({
        ApplicationLogLevel: 'INFO',
        SystemLogLevel: 'INFO',
      });
    },
  );
});

describe('ffprobe layer', () => {
  it('is built by the layer Makefile for the chosen architecture', () => {
    const layer = resources.FfprobeLayer;
    expect(layer.Type).toBe('AWS::Serverless::LayerVersion');
    expect(layer.Metadata.BuildMethod).toBe('makefile');
    expect(layer.Properties.ContentUri).toBe('layers/ffprobe');
    const x86 = deploy({ parameters: { Architecture: 'x86_64' } });
    expect(x86.evaluate(layer.Metadata.BuildArchitecture)).toBe('x86_64');
    expect(x86.evaluate(layer.Properties.CompatibleArchitectures)).toEqual(['x86_64']);
    expect(layer.Properties.RetentionPolicy).toBeDefined();
  });

  it('is built by default for the architecture the functions are deployed on', () => {
    // make never learns the template's architecture (it reads FFPROBE_ARCH), so a plain
    // `sam build && sam deploy` is only consistent if all three defaults agree.
    const makefile = readFileSync(path.join(repoRoot, 'layers', 'ffprobe', 'Makefile'), 'utf8');
    const samconfig = readFileSync(path.join(repoRoot, 'samconfig.toml'), 'utf8');
    const makeDefault = /^FFPROBE_ARCH\s*\?=\s*(\S+)\s*$/m.exec(makefile)?.[1];
    const samconfigValue = /"Architecture=([A-Za-z0-9_]+)"/.exec(samconfig)?.[1];
    expect({ makeDefault, samconfigValue }).toEqual({
      makeDefault: template.Parameters.Architecture.Default,
      samconfigValue: template.Parameters.Architecture.Default,
    });
  });
});

describe('movie table', () => {
  const table = resources.MoviesTable;

  it('is keyed by the numeric movie_id and streams new and old images', () => {
    expect(table.Properties.KeySchema).toEqual([{ AttributeName: 'movie_id', KeyType: 'HASH' }]);
    expect(table.Properties.AttributeDefinitions).toEqual([
      { AttributeName: 'movie_id', AttributeType: 'N' },
      { AttributeName: 'object_uri', AttributeType: 'S' },
    ]);
    expect(table.Properties.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
  });

  it('has a sparse keys-only index on object_uri, the attribute the pipeline writes (a user attribute is never a key)', () => {
    expect(table.Properties.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: OBJECT_INDEX_NAME,
        KeySchema: [{ AttributeName: OBJECT_URI, KeyType: 'HASH' }],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
    ]);
  });

  it('is protected: point-in-time recovery, encryption, on-demand, and kept when the stack goes', () => {
    expect(table.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(table.Properties.SSESpecification.SSEEnabled).toBe(true);
    expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
    // Kept on stack deletion and replacement, but not left behind by a first create that rolls back.
    expect(table.DeletionPolicy).toBe('RetainExceptOnCreate');
    expect(table.UpdateReplacePolicy).toBe('Retain');
  });

  it('is created only when no existing table is attached, and the pipe follows the choice', () => {
    expect(deploy().exists('MoviesTable')).toBe(true);
    const streamArn = 'arn:aws:dynamodb:eu-west-1:123456789012:table/movies/stream/2024-01-01T00:00:00.000';
    const attached = { parameters: { ExistingTableName: 'movies', ExistingTableStreamArn: streamArn } };
    expect(deploy(attached).exists('MoviesTable')).toBe(false);
    expect(props('MediaProbePipe', attached).Source).toBe(streamArn);
    expect(props('MediaProbePipe').Source).toBe(attOf('MoviesTable', 'StreamArn'));
  });

  it('rejects attaching a table without its stream (or the reverse)', () => {
    const assertion = template.Rules.ExistingTableNeedsBothValues.Assertions[0].Assert;
    const holds = (parameters: Record<string, string>) => deploy({ parameters }).evaluate(assertion);
    expect(holds({})).toBe(true);
    expect(
      holds({ ExistingTableName: 'movies', ExistingTableStreamArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/movies/stream/x' }),
    ).toBe(true);
    expect(holds({ ExistingTableName: 'movies' })).toBe(false);
    expect(holds({ ExistingTableStreamArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/movies/stream/x' })).toBe(false);
  });
});

describe('pipe', () => {
  const pipe = () => props('MediaProbePipe');

  it('forwards INSERT events, and MODIFY events of rows with S3 attributes and no analysis, with literal filter patterns', () => {
    const filters = resources.MediaProbePipe.Properties.SourceParameters.FilterCriteria.Filters as Json[];
    expect(filters.every((filter) => typeof filter.Pattern === 'string')).toBe(true);
    expect(filters.map((filter) => JSON.parse(filter.Pattern))).toEqual([
      { eventName: ['INSERT'] },
      {
        eventName: ['MODIFY'],
        dynamodb: {
          NewImage: {
            S3_bucket: { S: [{ exists: true }] },
            S3_object: { S: [{ exists: true }] },
            analysis: { M: { status: { S: [{ exists: false }] } } },
          },
        },
      },
    ]);
    // Pipes' own limits: at most 5 filters, 4096 characters a pattern.
    expect(filters.length).toBeLessThanOrEqual(5);
    for (const filter of filters) expect(filter.Pattern.length).toBeLessThanOrEqual(4096);
  });

  it('starts the Express state machine synchronously so a failed execution is retried', () => {
    expect(pipe().Target).toBe(refOf('MediaProbeStateMachine'));
    expect(pipe().TargetParameters.StepFunctionStateMachineParameters).toEqual({ InvocationType: 'REQUEST_RESPONSE' });
  });

  it("hands the state machine only each record's identity, key and S3 attributes, never the rest of the row", () => {
    const inputTemplate = pipe().TargetParameters.InputTemplate as string;
    const paths = [...inputTemplate.matchAll(/<([^<>]+)>/g)].map((m) => m[1]).sort();
    expect(paths).toEqual(
      [
        '$.eventID',
        '$.eventName',
        '$.dynamodb.Keys',
        '$.dynamodb.SequenceNumber',
        '$.dynamodb.NewImage.S3_bucket',
        '$.dynamodb.NewImage.S3_object',
      ].sort(),
    );
    // Pipes' own limit on the template (PipeTargetParameters.InputTemplate).
    expect(inputTemplate.length).toBeLessThanOrEqual(8192);
  });

  it('reads new records in parameterised batches, bisects failures and dead-letters what still fails', () => {
    const stream = pipe().SourceParameters.DynamoDBStreamParameters;
    expect(stream.StartingPosition).toBe('LATEST');
    expect(stream.BatchSize).toBe(template.Parameters.PipeBatchSize.Default);
    expect(resources.MediaProbePipe.Properties.SourceParameters.DynamoDBStreamParameters.BatchSize).toEqual({ Ref: 'PipeBatchSize' });
    expect(stream.OnPartialBatchItemFailure).toBe('AUTOMATIC_BISECT');
    expect(stream.MaximumRetryAttempts).toBeGreaterThanOrEqual(0);
    // Records are dead-lettered while the stream (24 h retention) still holds them.
    expect(stream.MaximumRecordAgeInSeconds).toBeGreaterThan(0);
    expect(stream.MaximumRecordAgeInSeconds).toBeLessThan(24 * 3600);
    expect(stream.DeadLetterConfig).toEqual({ Arn: attOf('DeadLetterQueue', 'Arn') });
    expect(stream.MaximumBatchingWindowInSeconds).toBeGreaterThanOrEqual(0);
  });

  it('has a role that can read the stream, run the state machine and dead-letter, nothing else', () => {
    const role = props('PipeRole');
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      expect.objectContaining({
        Principal: { Service: 'pipes.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
      }),
    ]);
    const statements = [...((role.Policies ?? []) as Json[]), ...pipeRolePolicies().map(([id]) => props(id))].flatMap(
      (p: Json) => p.PolicyDocument.Statement,
    ) as Json[];
    const grants = Object.fromEntries(statements.map((s) => [actionsOf(s).sort().join(' '), resourcesOf(s)]));
    expect(grants).toEqual({
      'dynamodb:DescribeStream dynamodb:GetRecords dynamodb:GetShardIterator': [attOf('MoviesTable', 'StreamArn')],
      'dynamodb:ListStreams': ['*'],
      'states:StartSyncExecution': [refOf('MediaProbeStateMachine')],
      'sqs:SendMessage': [attOf('DeadLetterQueue', 'Arn')],
      'logs:CreateLogStream logs:PutLogEvents': [attOf('PipeLogGroup', 'Arn')],
    });
    expect(statements.every((s) => s.Effect === 'Allow')).toBe(true);
  });

  it('is created only once every policy of its role is in place (Pipes checks the role while it creates the pipe)', () => {
    const policies = pipeRolePolicies().map(([id]) => id);
    expect(props('PipeRole').Policies).toBeUndefined();
    expect(policies.length).toBeGreaterThan(0);
    expect([resources.MediaProbePipe.DependsOn ?? []].flat().sort()).toEqual(policies.sort());
  });

  it('has its stream and dead-letter grants attached early: they wait for neither the functions nor the state machine', () => {
    const [, early] = pipeRolePolicies().find(([, r]) => JSON.stringify(r.Properties.PolicyDocument).includes('dynamodb:GetRecords')) as [
      string,
      Json,
    ];
    expect(JSON.stringify(early.Properties.PolicyDocument)).toContain('sqs:SendMessage');
    expect(resourcesReferenced(early).sort()).toEqual(['DeadLetterQueue', 'MoviesTable', 'PipeLogGroup', 'PipeRole']);
  });
});

describe('dead-letter queue', () => {
  it('is encrypted and keeps messages for the maximum 14 days', () => {
    expect(props('DeadLetterQueue')).toEqual(
      expect.objectContaining({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 }),
    );
  });

  it('raises an alarm as soon as a message is visible, notifying the topic only if one is given', () => {
    const alarm = props('DeadLetterQueueAlarm');
    expect(alarm).toEqual(
      expect.objectContaining({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      }),
    );
    expect(alarm.Dimensions).toEqual([{ Name: 'QueueName', Value: attOf('DeadLetterQueue', 'QueueName') }]);
    expect(alarm.AlarmActions).toBeUndefined();
    const topic = 'arn:aws:sns:eu-west-1:123456789012:media-alerts';
    expect(props('DeadLetterQueueAlarm', { parameters: { AlarmTopicArn: topic } }).AlarmActions).toEqual([topic]);
  });
});

describe('failed-analysis alarm', () => {
  const alarm = () => props('FailedAnalysesAlarm');
  const queries = () => Object.fromEntries((alarm().Metrics as Json[]).map((m) => [m.Id, m]));

  it('watches the share of FAILED among the analyses the update function records, in its namespace and service', () => {
    const updateEnv = props('UpdateFunction').Environment.Variables;
    const service = deploy().evaluate(template.Globals.Function.Environment.Variables.POWERTOOLS_SERVICE_NAME);
    expect(updateEnv.POWERTOOLS_METRICS_NAMESPACE).toBe('media-probe/media-probe');
    for (const [id, status] of [
      ['failed', 'FAILED'],
      ['succeeded', 'SUCCEEDED'],
    ]) {
      expect(queries()[id]).toEqual({
        Id: id,
        ReturnData: false,
        MetricStat: {
          Metric: {
            Namespace: updateEnv.POWERTOOLS_METRICS_NAMESPACE,
            MetricName: ANALYSES_METRIC,
            Dimensions: [
              { Name: 'service', Value: service },
              { Name: 'status', Value: status },
            ],
          },
          Period: expect.any(Number),
          Stat: 'Sum',
        },
      });
    }
    const returned = (alarm().Metrics as Json[]).filter((m) => m.ReturnData !== false);
    expect(returned).toHaveLength(1);
    expect(returned[0].Expression).toMatch(/100 \* FILL\(failed, 0\) \/ \(FILL\(failed, 0\) \+ FILL\(succeeded, 0\)\)/);
  });

  it('alarms above the threshold parameter, notifying the topic only if one is given, and is quiet without analyses', () => {
    expect(template.Parameters.FailedAnalysesAlarmPercent).toMatchObject({ Type: 'Number', MinValue: 1, MaxValue: 100 });
    expect(alarm()).toMatchObject({
      Threshold: template.Parameters.FailedAnalysesAlarmPercent.Default,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(props('FailedAnalysesAlarm', { parameters: { FailedAnalysesAlarmPercent: 60 } }).Threshold).toBe(60);
    expect(alarm().AlarmActions).toBeUndefined();
    const topic = 'arn:aws:sns:eu-west-1:123456789012:media-alerts';
    const notifying = props('FailedAnalysesAlarm', { parameters: { AlarmTopicArn: topic } });
    expect({ alarm: notifying.AlarmActions, ok: notifying.OKActions }).toEqual({ alarm: [topic], ok: [topic] });
  });
});

describe('results bucket', () => {
  it('outlives the stack like the table whose rows point into it, but not a first create that rolls back', () => {
    expect(resources.ResultsBucket.DeletionPolicy).toBe('RetainExceptOnCreate');
    expect(resources.ResultsBucket.UpdateReplacePolicy).toBe('Retain');
  });

  it('is private and encrypted', () => {
    const bucket = props('ResultsBucket');
    expect(bucket.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBeDefined();
    expect(bucket.OwnershipControls.Rules).toEqual([{ ObjectOwnership: 'BucketOwnerEnforced' }]);
  });

  it('denies every request made without TLS, on the bucket and its objects', () => {
    const policy = props('ResultsBucketPolicy');
    expect(policy.Bucket).toBe(refOf('ResultsBucket'));
    expect(policy.PolicyDocument.Statement).toContainEqual({
      Sid: expect.any(String),
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:*',
      Resource: [attOf('ResultsBucket', 'Arn'), `${attOf('ResultsBucket', 'Arn')}/*`],
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
  });
});

describe('state machine', () => {
  const machine = resources.MediaProbeStateMachine;
  const definitionPath = path.join(repoRoot, machine.Properties.DefinitionUri);

  it('is an Express workflow, traced, logging failed executions (every one at StateMachineLogLevel ALL) to a group with retention', () => {
    const p = props('MediaProbeStateMachine');
    expect(p.Type).toBe('EXPRESS');
    expect(p.Tracing).toEqual({ Enabled: true });
    expect(props('MediaProbeStateMachine', { parameters: { Tracing: 'false' } }).Tracing).toEqual({ Enabled: false });
    expect(p.Logging.Level).toBe('ERROR');
    expect(props('MediaProbeStateMachine', { parameters: { StateMachineLogLevel: 'ALL' } }).Logging.Level).toBe('ALL');
    expect(p.Logging.Destinations).toEqual([{ CloudWatchLogsLogGroup: { LogGroupArn: attOf('StateMachineLogGroup', 'Arn') } }]);
    expect(props('StateMachineLogGroup').RetentionInDays).toBe(template.Parameters.LogRetentionDays.Default);
  });

  it('may invoke the three functions, publish its two outcome events on the bus named, and set up its log delivery, nothing else', () => {
    const [invokePresign, invokeProbe, invokeUpdate, publish, ...rest] = props('MediaProbeStateMachine', {
      parameters: { OutcomeEventBusName: 'media-events' },
    }).Policies as Json[];
    expect([invokePresign, invokeProbe, invokeUpdate]).toEqual([
      { LambdaInvokePolicy: { FunctionName: refOf('PresignFunction') } },
      { LambdaInvokePolicy: { FunctionName: refOf('FfprobeFunction') } },
      { LambdaInvokePolicy: { FunctionName: refOf('UpdateFunction') } },
    ]);
    expect(publish.Statement).toEqual([
      {
        Sid: 'PublishOutcomes',
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: 'arn:aws:events:eu-west-1:123456789012:event-bus/media-events',
        Condition: {
          StringEquals: { 'events:source': 'media-probe', 'events:detail-type': ['Media Analysis Succeeded', 'Media Analysis Failed'] },
        },
      },
    ]);
    const statements = rest.flatMap((p) => p.Statement) as Json[];
    expect(statements).toHaveLength(1);
    expect(statements[0].Effect).toBe('Allow');
    // Only CloudWatch Logs delivery management: none of these reads or writes log data.
    expect(actionsOf(statements[0]).sort()).toEqual(
      [
        'logs:CreateLogDelivery',
        'logs:DeleteLogDelivery',
        'logs:DescribeLogGroups',
        'logs:DescribeResourcePolicies',
        'logs:GetLogDelivery',
        'logs:ListLogDeliveries',
        'logs:PutResourcePolicy',
        'logs:UpdateLogDelivery',
      ].sort(),
    );
  });

  it('has a definition that parses, and a substitution for every placeholder in it (and no other)', () => {
    const text = readFileSync(definitionPath, 'utf8');
    const definition = JSON.parse(text);
    expect(definition.StartAt).toBeDefined();
    const placeholders = new Set([...text.matchAll(/\$\{([^}]+)\}/g)].map((m) => m[1]));
    expect([...placeholders].sort()).toEqual(Object.keys(machine.Properties.DefinitionSubstitutions).sort());
    expect(props('MediaProbeStateMachine').DefinitionSubstitutions).toEqual({
      Partition: 'aws',
      PresignFunctionArn: attOf('PresignFunction', 'Arn'),
      FfprobeFunctionArn: attOf('FfprobeFunction', 'Arn'),
      UpdateFunctionArn: attOf('UpdateFunction', 'Arn'),
      OutcomeEventBusName: 'default',
    });
  });
});

describe('re-analysis when a media object changes', () => {
  const attached = {
    ExistingTableName: 'movies',
    ExistingTableStreamArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/movies/stream/x',
  };

  it('is on when there are media buckets and an object index: the created table, or an attached one that names its index', () => {
    const on = (parameters: Record<string, string | number | string[]>) => deploy({ parameters }).condition('WatchesObjects');
    expect(on({})).toBe(false);
    expect(on({ MediaBucketNames: ['media-a'] })).toBe(true);
    expect(on({ MediaBucketNames: ['media-a'], ...attached })).toBe(false);
    expect(on({ MediaBucketNames: ['media-a'], ...attached, ExistingTableObjectIndexName: 'by-object' })).toBe(true);
    for (const id of ['ObjectEventFunction', 'ObjectEventLogGroup', 'DeadLetterQueueObjectEventsPolicy'])
      expect(resources[id].Condition).toBe('WatchesObjects');
  });

  it('listens to Object Created and Object Deleted of the media buckets, retries for a day, then dead-letters', () => {
    const event = props('ObjectEventFunction', { parameters: { MediaBucketNames: ['media-a', 'media-b'] } }).Events.ObjectChanges;
    expect(event.Type).toBe('EventBridgeRule');
    expect(event.Properties.Pattern).toEqual({
      source: ['aws.s3'],
      'detail-type': ['Object Created', 'Object Deleted'],
      detail: { bucket: { name: ['media-a', 'media-b'] } },
    });
    expect(event.Properties.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 });
    expect(event.Properties.DeadLetterConfig).toEqual({ Arn: attOf('DeadLetterQueue', 'Arn') });
    // A delivery Lambda refuses is the rule's to retry; an event the handler fails on is Lambda's (async invocation).
    const fn = props('ObjectEventFunction', { parameters: { MediaBucketNames: ['media-a'] } });
    expect(fn.DeadLetterQueue).toEqual({ Type: 'SQS', TargetArn: attOf('DeadLetterQueue', 'Arn') });
    expect(fn.EventInvokeConfig).toEqual({ MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 21600 });
    expect(props('DeadLetterQueueObjectEventsPolicy').PolicyDocument.Statement).toEqual([
      expect.objectContaining({
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Condition: { ArnEquals: { 'aws:SourceArn': attOf('ObjectEventFunctionObjectChanges', 'Arn') } },
      }),
    ]);
  });

  it('may query the index, read and mark rows of the table and start analyses, nothing else, created or attached', () => {
    const grants = (parameters: Record<string, string | number | string[]>) =>
      statementsOf('ObjectEventFunction', { parameters }).map((st) => ({ actions: actionsOf(st).sort(), resource: st.Resource }));
    expect(grants({})).toEqual([
      { actions: ['dynamodb:Query'], resource: `${attOf('MoviesTable', 'Arn')}/index/media-probe-object` },
      { actions: ['dynamodb:BatchGetItem', 'dynamodb:UpdateItem'], resource: attOf('MoviesTable', 'Arn') },
      { actions: ['states:StartExecution'], resource: refOf('MediaProbeStateMachine') },
    ]);
    expect(grants({ ...attached, ExistingTableObjectIndexName: 'by-object' }).slice(0, 2)).toEqual([
      { actions: ['dynamodb:Query'], resource: 'arn:aws:dynamodb:eu-west-1:123456789012:table/movies/index/by-object' },
      { actions: ['dynamodb:BatchGetItem', 'dynamodb:UpdateItem'], resource: 'arn:aws:dynamodb:eu-west-1:123456789012:table/movies' },
    ]);
    expect(
      props('ObjectEventFunction', { parameters: { ...attached, ExistingTableObjectIndexName: 'by-object' } }).Environment.Variables,
    ).toMatchObject({
      TABLE_NAME: 'movies',
      OBJECT_INDEX_NAME: 'by-object',
    });
  });
});

describe('backfill state machine', () => {
  const machine = resources.BackfillStateMachine;
  const definitionPath = path.join(repoRoot, machine.Properties.DefinitionUri);
  const stateMachineArn = 'arn:aws:states:eu-west-1:123456789012:stateMachine:media-probe-backfill';

  it('is a named Standard workflow, traced, logging errors without execution data', () => {
    const p = props('BackfillStateMachine');
    expect(p.Type).toBe('STANDARD');
    expect(p.Name).toBe('media-probe-backfill');
    expect(p.Tracing).toEqual({ Enabled: true });
    expect(props('BackfillStateMachine', { parameters: { Tracing: 'false' } }).Tracing).toEqual({ Enabled: false });
    expect(p.Logging).toMatchObject({ Level: 'ERROR', IncludeExecutionData: false });
    expect(p.Logging.Destinations).toEqual([{ CloudWatchLogsLogGroup: { LogGroupArn: attOf('BackfillLogGroup', 'Arn') } }]);
  });

  it('may invoke select, run and follow analyses, run its own Map children, and set up log delivery, nothing else', () => {
    const [invokeSelect, ...rest] = props('BackfillStateMachine').Policies as Json[];
    expect(invokeSelect).toEqual({ LambdaInvokePolicy: { FunctionName: refOf('SelectFunction') } });
    const statements = rest.flatMap((p) => p.Statement) as Json[];
    const grants = statements
      .filter((st) => !actionsOf(st)[0].startsWith('logs:'))
      .map((st) => ({ actions: actionsOf(st).sort(), resource: st.Resource }));
    expect(grants).toEqual([
      { actions: ['states:StartExecution'], resource: refOf('MediaProbeStateMachine') },
      {
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        resource: 'arn:aws:states:eu-west-1:123456789012:express:<GetAtt MediaProbeStateMachine.Name>:*',
      },
      {
        actions: ['events:DescribeRule', 'events:PutRule', 'events:PutTargets'],
        resource: 'arn:aws:events:eu-west-1:123456789012:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule',
      },
      { actions: ['states:StartExecution'], resource: stateMachineArn },
      {
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        resource: 'arn:aws:states:eu-west-1:123456789012:execution:media-probe-backfill/*',
      },
      { actions: ['states:RedriveExecution'], resource: 'arn:aws:states:eu-west-1:123456789012:mapRun:media-probe-backfill/*' },
    ]);
    expect(statements.every((st) => st.Effect === 'Allow')).toBe(true);
  });

  it('has a definition that parses, and a substitution for every placeholder in it (and no other)', () => {
    const text = readFileSync(definitionPath, 'utf8');
    expect(JSON.parse(text).StartAt).toBeDefined();
    const placeholders = new Set([...text.matchAll(/\$\{([^}]+)\}/g)].map((m) => m[1]));
    expect([...placeholders].sort()).toEqual(Object.keys(machine.Properties.DefinitionSubstitutions).sort());
    expect(
      props('BackfillStateMachine', { parameters: { BackfillConcurrency: 25, BackfillToleratedFailurePercentage: 2 } })
        .DefinitionSubstitutions,
    ).toEqual({
      Partition: 'aws',
      SelectFunctionArn: attOf('SelectFunction', 'Arn'),
      AnalysisStateMachineArn: refOf('MediaProbeStateMachine'),
      BackfillConcurrency: 25,
      BackfillToleratedFailurePercentage: 2,
    });
  });

  it('runs a Distributed Map of Standard children, at the concurrency and failure tolerance its input or the parameters set', () => {
    const definition = JSON.parse(readFileSync(definitionPath, 'utf8'));
    const map = definition.States['backfill segments'];
    expect(map.ItemProcessor.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
    expect(map.MaxConcurrencyPath).toBe('$.concurrency');
    expect(map.ToleratedFailurePercentagePath).toBe('$.tolerated_failure_percentage');
    const analysis = map.ItemProcessor.States['analyse page'].ItemProcessor.States.analysis;
    expect(analysis.Resource).toBe(`arn:\${Partition}:states:::states:startExecution.sync:2`);
    expect(analysis.Parameters).toEqual({ StateMachineArn: `\${AnalysisStateMachineArn}`, 'Input.$': '$' });
    const parameter = template.Parameters.BackfillConcurrency;
    expect([parameter.MinValue, parameter.MaxValue]).toEqual([1, 1000]);
  });
});

describe('partitions', () => {
  const partitions = ['aws', 'aws-cn', 'aws-us-gov', 'aws-iso-b'];
  /** The partitions of every ARN in a text that are not the deployment's own. */
  const foreign = (text: string, partition: string) =>
    [...text.matchAll(/arn:(aws[a-z-]*):[^"]*/g)].filter((m) => m[1] !== partition).map((m) => m[0]);

  it.each(partitions)('every ARN the template builds is in the partition it is deployed to (%s)', (partition) => {
    const d = deploy({ partition, parameters: { MediaBucketNames: ['media-a', 'media-b'] } });
    const built = JSON.stringify([d.evaluate(template.Resources), d.outputs()]);
    expect(foreign(built, partition)).toEqual([]);
  });

  it.each(partitions)('every ARN in the state machine definitions is in the partition it is deployed to (%s)', (partition) => {
    for (const [logicalId, integration] of [
      ['MediaProbeStateMachine', 'events:putEvents'],
      ['BackfillStateMachine', 'states:startExecution.sync:2'],
    ]) {
      const machine = resources[logicalId];
      const substitutions = deploy({ partition }).evaluate(machine.Properties.DefinitionSubstitutions) as Record<string, string>;
      const definition = readFileSync(path.join(repoRoot, machine.Properties.DefinitionUri), 'utf8').replace(
        /\$\{(\w+)\}/g,
        (_, name: string) => String(substitutions[name]),
      );
      expect(definition).toContain(`arn:${partition}:states:::${integration}`);
      expect(foreign(definition, partition)).toEqual([]);
    }
  });
});

describe('outputs', () => {
  it('give the table, stream, state machine (with its console page), DLQ and results bucket', () => {
    const outputs = deploy({ region: 'eu-central-1' }).outputs() as Record<string, { Value: string }>;
    expect(Object.keys(outputs).sort()).toEqual(
      [
        'DeadLetterQueueArn',
        'DeadLetterQueueUrl',
        'ResultsBucketName',
        'BackfillStateMachineArn',
        'StateMachineArn',
        'StateMachineConsoleUrl',
        'TableName',
        'TableStreamArn',
      ].sort(),
    );
    expect(outputs.StateMachineConsoleUrl.Value).toBe(
      `https://console.aws.amazon.com/states/home?region=eu-central-1#/statemachines/view/${refOf('MediaProbeStateMachine')}`,
    );
    expect(outputs.TableName.Value).toBe(refOf('MoviesTable'));
    expect(outputs.DeadLetterQueueUrl.Value).toBe(refOf('DeadLetterQueue'));
  });
});

describe('the console link', () => {
  it.each([
    ['aws', 'us-east-1', 'console.aws.amazon.com'],
    ['aws-cn', 'cn-north-1', 'console.amazonaws.cn'],
    ['aws-us-gov', 'us-gov-west-1', 'console.amazonaws-us-gov.com'],
  ])('points at the console of the partition the stack is in (%s)', (partition, region, host) => {
    const outputs = deploy({ partition, region }).outputs() as Record<string, { Value: string }>;
    expect(new URL(outputs.StateMachineConsoleUrl.Value).host).toBe(host);
    expect(new URL(outputs.StateMachineConsoleUrl.Value).searchParams.get('region')).toBe(region);
  });

  it('is left out in a partition whose console host the template does not know, instead of failing the deployment', () => {
    expect(deploy({ partition: 'aws-iso-b', region: 'us-isob-east-1' }).outputs()).not.toHaveProperty('StateMachineConsoleUrl');
  });
});

describe('checkov skips', () => {
  it('every skipped check gives its reason next to the resource', () => {
    for (const [logicalId, resource] of Object.entries(resources)) {
      for (const skip of (resource.Metadata?.checkov?.skip ?? []) as Json[]) {
        expect({ logicalId, id: skip.id, hasReason: typeof skip.comment === 'string' && skip.comment.length > 30 }).toEqual({
          logicalId,
          id: skip.id,
          hasReason: true,
        });
      }
    }
  });
});

describe('X-Ray sampling', () => {
  it('traces TraceSamplingRate of the analysis executions beyond the first each second, under a rule named within 32 characters', () => {
    const rule = resources.TraceSamplingRule;
    expect(rule.Condition).toBe('Traces');
    const p = props('TraceSamplingRule', { parameters: { TraceSamplingRate: 0.2 } }).SamplingRule;
    expect(p).toMatchObject({
      FixedRate: 0.2,
      ReservoirSize: 1,
      ServiceType: 'AWS::StepFunctions::StateMachine',
      ResourceARN: '*',
      Version: 1,
    });
    expect(p.ServiceName).toBe(attOf('MediaProbeStateMachine', 'Name'));
    expect(props('TraceSamplingRule').SamplingRule.FixedRate).toBe(0.05);
    expect(p.RuleName.length).toBeLessThanOrEqual(32);
  });
});
