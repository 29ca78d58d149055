/** The media-probe command line: run the pipeline locally (demo, local, up) and operate a library. */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LOCAL_REGION } from '../local/components/constants';
import { LOCAL_CONNECTION_FILE, type LocalConnection } from '../local/connection';
import { ensureBucket, LOCAL_MEDIA_BUCKET, startLocalStack, type LocalStack } from '../local/stack';
import { insertRows, listFiles, progressLine, resultsTable, rowsForFiles, uploadFiles, waitForOutcomes, type WaitResult } from './local-run';
import { backfill, put, reanalyze, status } from './ops';
import type { Outcome, PlainRow } from './rows';

const REPOSITORY_ROOT = path.resolve(__dirname, '..');
const SAMPLES_DIR = path.join(REPOSITORY_ROOT, 'samples');
const DEFAULT_TIMEOUT_SECONDS = 300;

const USAGE = `media-probe — keeps a media library's technical metadata up to date

Run the pipeline locally (no AWS account, no Docker):
  media-probe demo                         analyse the bundled samples and print the results
  media-probe local [DIR] [--bucket NAME] [--rows FILE] [--report FILE] [--timeout SECONDS]
                                           analyse every file under DIR (and/or the rows in FILE)
  media-probe up [--data DIR] [--no-pipe]  run the local stack until Ctrl-C

Operate a library (TARGET: --stack NAME for a deployed stack, or --local [--data DIR]; docs/operate.md):
  media-probe put TARGET --id N --title T --bucket B --key K [--replace]
                                           insert an asset row (never overwrites without --replace)
  media-probe status TARGET [--id N] [--failed] [--limit N] [--json]
                                           one row's analysis, or counts by outcome and the failed rows
  media-probe reanalyze TARGET --id N [--id M …] [--wait [--timeout SECONDS]]
                                           run the analysis again now for those rows
  media-probe backfill TARGET [--only-missing | --failed | --all] [--concurrency N] [--rate R] [--dry-run]
                                           start analyses for the rows that need one, paced

Options:
  --verbose                                show the functions' logs (Powertools JSON)
  -h, --help                               this text
`;

const log = (line: string) => process.stderr.write(`${line}\n`);

class UsageError extends Error {}

function progressReporter(): (outcomes: Map<string, Outcome>) => void {
  let last = '';
  let lastPrinted = 0;
  return (outcomes) => {
    const line = progressLine(outcomes);
    if (process.stderr.isTTY) {
      if (line !== last) process.stderr.write(`\r${line}   `);
    } else if (line !== last && Date.now() - lastPrinted > 2000) {
      log(line);
      lastPrinted = Date.now();
    }
    last = line;
  };
}

async function withStack<T>(options: { dataDir?: string; withPipe?: boolean }, body: (stack: LocalStack) => Promise<T>): Promise<T> {
  const stack = await startLocalStack({ repositoryRoot: REPOSITORY_ROOT, log, ...options });
  try {
    return await body(stack);
  } finally {
    await stack.stop();
  }
}

function statsOf(stack: LocalStack) {
  const s = stack.pipe?.stats;
  return {
    stream_records: s?.stream_records ?? 0,
    filtered_out: s?.filtered_out ?? 0,
    records_delivered: s?.records_delivered ?? 0,
    executions: s?.executions ?? 0,
    failed_executions: s?.failed_executions ?? 0,
    succeeded: s?.succeeded ?? 0,
    failed: s?.failed ?? 0,
    left_alone: s?.left_alone ?? 0,
    dead_lettered: s?.dead_lettered ?? 0,
  };
}

async function analyseRows(stack: LocalStack, rows: PlainRow[], timeoutSeconds: number): Promise<WaitResult> {
  await insertRows(stack, rows);
  log(`inserted ${rows.length} row${rows.length === 1 ? '' : 's'} into ${stack.tableName}; waiting for the pipe and the state machine…`);
  const result = await waitForOutcomes(stack, rows, timeoutSeconds * 1000, progressReporter());
  if (process.stderr.isTTY) process.stderr.write('\n');
  // Let the pipe see the pipeline's own MODIFY records before the stats are read.
  await stack.waitUntilIdle(30_000).catch(() => undefined);
  return result;
}

async function demo(): Promise<number> {
  return withStack({}, async (stack) => {
    const files = await listFiles(SAMPLES_DIR);
    await uploadFiles(stack, stack.mediaBucket, files.map((f) => ({ ...f, key: `samples/${f.key}` })));
    const rows: PlainRow[] = [
      ...rowsForFiles(stack.mediaBucket, files.map((f) => ({ ...f, key: `samples/${f.key}` }))),
      { movie_id: files.length + 1, movie_title: 'Uploaded late', S3_bucket: stack.mediaBucket, S3_object: 'samples/not-uploaded-yet.mov' },
    ];
    const result = await analyseRows(stack, rows, DEFAULT_TIMEOUT_SECONDS);
    process.stdout.write(`${resultsTable(rows, result)}\n`);
    const stats = statsOf(stack);
    log(`\nstream records ${stats.stream_records} (filtered out ${stats.filtered_out}), executions ${stats.executions}, dead-lettered ${stats.dead_lettered}`);
    return result.complete ? 0 : 1;
  });
}

async function local(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { bucket: { type: 'string', default: LOCAL_MEDIA_BUCKET }, rows: { type: 'string' }, report: { type: 'string' }, timeout: { type: 'string', default: String(DEFAULT_TIMEOUT_SECONDS) } },
  });
  if (positionals.length > 1) throw new UsageError('local takes at most one directory');
  if (!positionals.length && !values.rows) throw new UsageError('local needs a directory, --rows FILE, or both');
  const timeout = Number(values.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0) throw new UsageError('--timeout must be a positive number of seconds');
  let givenRows: PlainRow[] = [];
  if (values.rows) {
    const parsed = JSON.parse(readFileSync(values.rows, 'utf8')) as unknown;
    if (!Array.isArray(parsed) || parsed.some((r) => !r || typeof r !== 'object' || Array.isArray(r))) throw new UsageError('--rows must be a JSON array of objects');
    givenRows = parsed as PlainRow[];
  }
  return withStack({}, async (stack) => {
    const bucket = values.bucket as string;
    let rows = givenRows;
    if (positionals.length) {
      const files = await listFiles(positionals[0]);
      await ensureBucket(stack.s3, bucket);
      log(`uploading ${files.length} file${files.length === 1 ? '' : 's'} to s3://${bucket}/ …`);
      await uploadFiles(stack, bucket, files);
      rows = [...rowsForFiles(bucket, files), ...givenRows];
    }
    const result = await analyseRows(stack, rows, timeout);
    process.stdout.write(`${resultsTable(rows, result)}\n`);
    if (values.report) {
      writeFileSync(values.report, `${JSON.stringify({ items: result.items, stats: statsOf(stack) }, null, 2)}\n`);
      log(`report written to ${values.report}`);
    }
    if (!result.complete) log(`timed out after ${timeout} s with rows still pending`);
    return result.complete ? 0 : 1;
  });
}

async function up(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { data: { type: 'string', default: '.media-probe' }, 'no-pipe': { type: 'boolean', default: false } } });
  const stack = await startLocalStack({ repositoryRoot: REPOSITORY_ROOT, dataDir: values.data, withPipe: !values['no-pipe'], log });
  const dataDir = path.resolve(values.data as string);
  const connection: LocalConnection = {
    pid: process.pid,
    region: LOCAL_REGION,
    endpoints: stack.endpoints,
    tableName: stack.tableName,
    streamArn: stack.streamArn,
    stateMachineArn: stack.stateMachine.arn,
    mediaBucket: stack.mediaBucket,
    resultsBucket: stack.resultsBucket,
  };
  writeFileSync(path.join(dataDir, LOCAL_CONNECTION_FILE), `${JSON.stringify(connection, null, 2)}\n`);
  process.stdout.write(
    [
      'media-probe local stack is up (Ctrl-C to stop); other commands reach it with --local',
      `  DynamoDB endpoint  ${stack.endpoints.dynamodb}`,
      `  S3 endpoint        ${stack.endpoints.s3}`,
      `  Step Functions     ${stack.endpoints.stepfunctions}  (${stack.stateMachine.arn})`,
      `  table              ${stack.tableName}`,
      `  media bucket       ${stack.mediaBucket}`,
      `  results bucket     ${stack.resultsBucket}`,
      `  pipe               ${stack.pipe ? 'running' : 'paused (--no-pipe)'}`,
      `  data               ${dataDir}`,
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  log('stopping…');
  rmSync(path.join(dataDir, LOCAL_CONNECTION_FILE), { force: true });
  await stack.stop();
  return 0;
}

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = { demo, local, up, put, status, reanalyze, backfill };

/** Runs a command line and exits with its status. */
export function run(argv: string[]): void {
  const verbose = argv.includes('--verbose');
  const args = argv.filter((a) => a !== '--verbose');
  if (verbose) process.env.MEDIA_PROBE_LOG_LEVEL = 'INFO';
  const [command, ...rest] = args;
  if (!command || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(USAGE);
    process.exit(command ? 0 : 2);
  }
  const handler = COMMANDS[command];
  if (!handler) {
    log(`unknown command "${command}"\n\n${USAGE}`);
    process.exit(2);
  }
  handler(rest).then(
    (code) => process.exit(code),
    (error: Error & { code?: string }) => {
      const usage = error instanceof UsageError || Boolean(error.code?.startsWith('ERR_PARSE_ARGS'));
      log(usage ? `${error.message}\n\n${USAGE}` : `media-probe ${command}: ${error.message}`);
      process.exit(usage ? 2 : 1);
    },
  );
}
