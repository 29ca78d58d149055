/**
 * The backfill's shared parts on mocked clients: the select step's request checks and paging, and
 * `backfill --distributed`'s paths a local run cannot reach (redrive, a stack without the machine)
 * and its progress arithmetic.
 */
import { DescribeTableCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  ListExecutionsCommand,
  ListMapRunsCommand,
  RedriveExecutionCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { distributedBackfill, mapRunProgress, rowTotals, segmentsFor } from '../../cli/distributed-backfill';
import { OperatorError } from '../../cli/errors';
import type { Target } from '../../cli/target';
import { PAGE_ROWS, PAGE_SCAN_LIMIT, readSelectRequest, selectPage } from '../../functions/lib/backfill';

const ddbMock = mockClient(DynamoDBClient);
const sfnMock = mockClient(SFNClient);
const MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:media-probe-backfill';
const EXECUTION = 'arn:aws:states:eu-west-1:123456789012:execution:media-probe-backfill:backfill-1';

beforeEach(() => {
  ddbMock.reset();
  sfnMock.reset();
  jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
});
afterEach(() => jest.restoreAllMocks());

const item = (id: number) => ({ movie_id: { N: String(id) }, S3_bucket: { S: 'media' }, S3_object: { S: `a/${id}.mov` } });

describe('the select step', () => {
  const context = { tableName: 'movies', streamArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/movies/stream/x', region: 'eu-west-1' };

  test.each([
    [{ mode: 'everything', segment: 0, segments: 1 }, /mode must be one of only-missing, failed, stale, older-schema, all/],
    [{ mode: 'all', segment: 0, segments: 0 }, /segments must be an integer from 1/],
    [{ mode: 'all', segment: 4, segments: 4 }, /segment must be an integer from 0 to 3, got 4/],
    [null, /mode must be/],
  ])('refuses %j as InvalidBackfillInputError', (input, message) => {
    expect(() => readSelectRequest(input)).toThrow(
      expect.objectContaining({ name: 'InvalidBackfillInputError', message: expect.stringMatching(message) }),
    );
  });

  test('reads until a page is full, asking each Scan for what is left of it, and hands on where to go on', async () => {
    ddbMock
      .on(ScanCommand)
      .resolvesOnce({ Items: [item(1), item(2)], ScannedCount: 60, LastEvaluatedKey: { movie_id: { N: '2' } } })
      .resolvesOnce({
        Items: Array.from({ length: PAGE_ROWS - 2 }, (_, i) => item(10 + i)),
        ScannedCount: 98,
        LastEvaluatedKey: { movie_id: { N: '9' } },
      });
    const page = await selectPage(new DynamoDBClient({ region: 'eu-west-1' }), context, {
      mode: 'failed',
      segment: 3,
      segments: 8,
      start_key: { movie_id: { N: '0' } },
      rows: { scanned: 5, selected: 1, too_large: 0 },
    });
    const calls = ddbMock.commandCalls(ScanCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => [c.Segment, c.TotalSegments, c.Limit, c.ExclusiveStartKey])).toEqual([
      [3, 8, PAGE_ROWS, { movie_id: { N: '0' } }],
      [3, 8, PAGE_ROWS - 2, { movie_id: { N: '2' } }],
    ]);
    expect(calls[0].FilterExpression).toBe('#fa.#fs = :failed');
    expect(page).toMatchObject({ mode: 'failed', segment: 3, segments: 8, start_key: { movie_id: { N: '9' } } });
    expect(page.rows).toEqual({ scanned: 5 + 60 + 98, selected: 1 + PAGE_ROWS, too_large: 0 });
    expect(page.batches.map((b) => b.length)).toEqual(Array(PAGE_ROWS / 10).fill(10));
    expect(page.batches[0][0]).toMatchObject({
      eventName: 'INSERT',
      dynamodb: { Keys: { movie_id: { N: '1' } }, NewImage: { S3_bucket: { S: 'media' }, S3_object: { S: 'a/1.mov' } } },
    });
  });

  test('stops after PAGE_SCAN_LIMIT rows read however few it selected, and says the segment is done when it is', async () => {
    ddbMock.on(ScanCommand).resolves({ Items: [], ScannedCount: PAGE_ROWS, LastEvaluatedKey: { movie_id: { N: '1' } } });
    const sparse = await selectPage(new DynamoDBClient({ region: 'eu-west-1' }), context, { mode: 'stale', segment: 0, segments: 1 });
    expect(ddbMock.commandCalls(ScanCommand)).toHaveLength(PAGE_SCAN_LIMIT / PAGE_ROWS);
    expect(sparse).toMatchObject({ start_key: { movie_id: { N: '1' } }, rows: { scanned: PAGE_SCAN_LIMIT, selected: 0 }, batches: [] });

    ddbMock.reset();
    ddbMock.on(ScanCommand).resolves({ Items: [item(1)], ScannedCount: 3 });
    const last = await selectPage(new DynamoDBClient({ region: 'eu-west-1' }), context, { mode: 'all', segment: 0, segments: 1 });
    expect(last.start_key).toBeNull();
    expect(ddbMock.commandCalls(ScanCommand)[0].args[0].input.FilterExpression).toBeUndefined();
  });
});

describe('backfill --distributed', () => {
  const target = (backfillStateMachineArn: string | null = MACHINE): Target =>
    ({
      label: 'stack media-probe (eu-west-1)',
      flags: '--stack media-probe',
      local: false,
      region: 'eu-west-1',
      tableName: 'movies',
      backfillStateMachineArn: backfillStateMachineArn ?? undefined,
      sfn: new SFNClient({ region: 'eu-west-1' }),
      dynamodb: new DynamoDBClient({ region: 'eu-west-1' }),
    }) as Target;
  const finished = (status: 'SUCCEEDED' | 'FAILED') => {
    sfnMock
      .on(DescribeExecutionCommand)
      .resolves({ executionArn: EXECUTION, status, output: JSON.stringify([{ segment: 0, rows: { scanned: 9, selected: 4 } }]) });
    sfnMock
      .on(ListMapRunsCommand)
      .resolves({ mapRuns: [{ mapRunArn: 'map-run', executionArn: EXECUTION, stateMachineArn: MACHINE, startDate: new Date() }] });
    sfnMock.on(DescribeMapRunCommand).resolves({ itemCounts: { total: 1, succeeded: 1, failed: 0, running: 0, pending: 0 } as never });
  };

  test('on a stack deployed before the backfill machine, says to deploy this version', async () => {
    await expect(distributedBackfill(target(null), { mode: 'only-missing' })).rejects.toThrow(
      expect.objectContaining({
        constructor: OperatorError,
        message: expect.stringContaining('has no backfill state machine (output BackfillStateMachineArn)'),
      }),
    );
  });

  test('--resume redrives the latest backfill when it failed, and follows it to the end', async () => {
    sfnMock.on(ListExecutionsCommand, { statusFilter: 'RUNNING' }).resolves({ executions: [] });
    sfnMock.on(ListExecutionsCommand, { statusFilter: undefined }).resolves({
      executions: [{ executionArn: EXECUTION, name: 'backfill-1', status: 'FAILED', stateMachineArn: MACHINE, startDate: new Date() }],
    });
    sfnMock.on(RedriveExecutionCommand).resolves({ redriveDate: new Date() });
    finished('SUCCEEDED');
    expect(await distributedBackfill(target(), { mode: 'only-missing', resume: true, pollMs: 1 })).toBe(0);
    expect(sfnMock.commandCalls(RedriveExecutionCommand).map((c) => c.args[0].input)).toEqual([{ executionArn: EXECUTION }]);
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  test('joins a backfill that is running instead of starting a second one; --stop stops it', async () => {
    sfnMock.on(ListExecutionsCommand).resolves({
      executions: [{ executionArn: EXECUTION, name: 'backfill-1', status: 'RUNNING', stateMachineArn: MACHINE, startDate: new Date() }],
    });
    finished('FAILED');
    expect(await distributedBackfill(target(), { mode: 'all', pollMs: 1 })).toBe(1);
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);

    sfnMock.on(StopExecutionCommand).resolves({ stopDate: new Date() });
    expect(await distributedBackfill(target(), { mode: 'all', stop: true })).toBe(0);
    expect(sfnMock.commandCalls(StopExecutionCommand)[0].args[0].input).toMatchObject({ executionArn: EXECUTION });
  });

  test('starts with the mode, the segments for the table size and the concurrency asked for', async () => {
    sfnMock.on(ListExecutionsCommand).resolves({ executions: [] });
    ddbMock.on(DescribeTableCommand).resolves({ Table: { ItemCount: 2_500_000 } });
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date() });
    finished('SUCCEEDED');
    expect(await distributedBackfill(target(), { mode: 'older-schema', maxConcurrency: 80, pollMs: 1 })).toBe(0);
    const { input } = sfnMock.commandCalls(StartExecutionCommand)[0].args[0].input;
    expect(JSON.parse(String(input))).toEqual({ mode: 'older-schema', segments: 1000, concurrency: 80 });
  });
});

describe('progress arithmetic', () => {
  test('segments: about 1,000 rows each, from 100 (a count not refreshed yet reads 0) to 1,000', () => {
    expect([0, 1, 100_000, 100_001, 250_000, 5_000_000].map(segmentsFor)).toEqual([100, 100, 100, 101, 250, 1000]);
  });

  test('the Map Run line counts ended segments and measures the rate since following began', () => {
    const counts = { total: 100, succeeded: 30, failed: 2, timedOut: 0, aborted: 0, running: 10, pending: 58 };
    expect(mapRunProgress(counts, 12, 10_000)).toBe('backfill: 32/100 segments · 10 running · 2 failed · 2.00 segments/s · ETA 34 s');
    expect(mapRunProgress({ ...counts, succeeded: 98, running: 0, pending: 0 }, 12, 10_000)).toMatch(/100\/100 segments .* · done$/);
    expect(mapRunProgress(counts, 32, 10_000)).toMatch(/ETA -$/);
    // Just after a redrive: never a negative rate.
    expect(mapRunProgress(counts, 40, 10_000)).toMatch(/ 0\.00 segments\/s · ETA -$/);
  });

  test('row totals add up the segments that report rows, and tolerate an output that is not theirs', () => {
    const output = JSON.stringify([
      { segment: 0, rows: { scanned: 10, selected: 4, too_large: 1 } },
      { Error: 'States.TaskFailed' },
      { segment: 2, rows: { scanned: 5, selected: 5, too_large: 0 } },
    ]);
    expect(rowTotals(output)).toEqual({ scanned: 15, selected: 9, too_large: 1 });
    expect(rowTotals('not json')).toBeUndefined();
    expect(rowTotals('{}')).toBeUndefined();
  });
});
