/** The stream records reanalyze and backfill start the state machine with: the pipe's shape, the row as it is now, marked as synthetic. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { hasNewOutcome } from '../../cli/commands/reanalyze';
import { movieId } from '../../cli/options';
import { compareIds, projection } from '../../cli/table';
import type { Analysis } from '../../functions/lib/analysis';
import { assetFromRecord } from '../../functions/lib/row';
import { projectStreamRecord } from '../../functions/lib/stream-record';
import { movieIdOfRecord, recordsForRows } from '../../functions/lib/synthetic-records';
import { buildAnalysisUpdate } from '../../functions/lib/update-expression';

const STREAM_ARN = 'arn:aws:dynamodb:eu-west-1:123456789012:table/movies/stream/2026-01-01T00:00:00.000';
const pipeSample = JSON.parse(readFileSync(path.join(__dirname, '../../events/pipe-batch.json'), 'utf8')) as Array<Record<string, any>>;

const row = {
  movie_id: { N: '1337' },
  movie_title: { S: 'Agent 327' },
  S3_bucket: { S: 'my-movies' },
  S3_object: { S: 'trailers/agent327.mp4' },
  thumbnail: { B: Buffer.from([0, 1, 2, 254, 255]) },
  credits: { M: { poster: { B: Buffer.from('png') }, names: { L: [{ S: 'a' }, { N: '2' }] } } },
  analysis: { M: { status: { S: 'FAILED' }, started_at: { S: '2026-01-01T00:00:00.000Z' } } },
  media: { M: { format_name: { S: 'mov' } } },
  ffprobe_output: { S: 'x'.repeat(100_000) },
};

describe('recordsForRows', () => {
  const now = new Date('2026-11-25T10:00:00.000Z');
  const [record] = recordsForRows([row], { origin: 'reanalyze', streamArn: STREAM_ARN, region: 'eu-west-1', now });

  test('has the fields of the records the pipe delivers through its InputTemplate (events/pipe-batch.json, projected)', () => {
    const delivered = projectStreamRecord(pipeSample[0]);
    expect(Object.keys(record).sort()).toEqual(Object.keys(delivered).sort());
    expect(Object.keys(record.dynamodb as object).sort()).toEqual(Object.keys(delivered.dynamodb as object).sort());
    expect(record).toMatchObject({ eventName: 'INSERT', dynamodb: { Keys: { movie_id: { N: '1337' } } } });
  });

  test('is marked as coming from reanalyze, never passing for a real stream position', () => {
    const dynamodb = record.dynamodb as { SequenceNumber: string };
    expect(record.eventID).toMatch(/^media-probe-reanalyze-/);
    expect(dynamodb.SequenceNumber).toMatch(/^media-probe-reanalyze-/);
    expect(dynamodb.SequenceNumber).not.toMatch(/^\d+$/);
  });

  test('carries only the S3 attributes of the row, as stream JSON (binary as base64)', () => {
    expect((record.dynamodb as { NewImage: unknown }).NewImage).toEqual({
      S3_bucket: { S: 'my-movies' },
      S3_object: { S: 'trailers/agent327.mp4' },
    });
    const [binary] = recordsForRows([{ ...row, S3_object: { B: Buffer.from([0, 255]) } }], {
      origin: 'backfill',
      streamArn: STREAM_ARN,
      region: 'eu-west-1',
    });
    expect(binary.dynamodb?.NewImage?.S3_object).toEqual({ B: Buffer.from([0, 255]).toString('base64') });
  });

  test('is a row the pipeline analyses, and its result applies to the row as it is', () => {
    expect(assetFromRecord(record)).toEqual({ movieId: '1337', bucket: 'my-movies', key: 'trailers/agent327.mp4' });
    const analysis = {
      status: 'FAILED',
      execution: 'e',
      started_at: '2026-11-25T10:00:00.000Z',
      finished_at: '2026-11-25T10:00:01.000Z',
      steps: {},
    } as unknown as Analysis;
    const update = buildAnalysisUpdate('movies', record, analysis);
    expect(update.Key).toEqual({ movie_id: { N: '1337' } });
    expect(Object.values(update.ExpressionAttributeValues ?? {})).toEqual(
      expect.arrayContaining([{ S: 'my-movies' }, { S: 'trailers/agent327.mp4' }]),
    );
  });

  test('one record per row, each with its own id, in order', () => {
    const rows = [1, 2, 3].map((n) => ({ ...row, movie_id: { N: String(n) } }));
    const records = recordsForRows(rows, { origin: 'backfill', streamArn: STREAM_ARN, region: 'eu-west-1' });
    expect(records.map(movieIdOfRecord)).toEqual(['1', '2', '3']);
    expect(new Set(records.map((r) => r.eventID)).size).toBe(3);
    expect(records.every((r) => String(r.eventID).startsWith('media-probe-backfill-'))).toBe(true);
  });
});

describe('ids and projections', () => {
  test('ids are canonical integers that order numerically, exactly beyond 2^53', () => {
    expect(movieId('0042')).toBe('42');
    expect(movieId(' -7 ')).toBe('-7');
    expect(() => movieId('4.5')).toThrow('it must be an integer movie_id');
    expect(() => movieId('1'.repeat(39))).toThrow(/more digits than a DynamoDB number holds/);
    expect(['10', '9', '-1', '9007199254740993', '9007199254740992'].sort(compareIds)).toEqual([
      '-1',
      '9',
      '10',
      '9007199254740992',
      '9007199254740993',
    ]);
  });

  test('every name of a projection goes through a placeholder, shared between paths', () => {
    expect(projection(['movie_id', 'analysis.status', 'analysis.error'])).toEqual({
      ProjectionExpression: '#p0, #p1.#p2, #p1.#p3',
      ExpressionAttributeNames: { '#p0': 'movie_id', '#p1': 'analysis', '#p2': 'status', '#p3': 'error' },
    });
  });
});

describe('reanalyze --wait: when a row has its new outcome', () => {
  const analysed = (started_at: string, execution = 'arn:earlier') => ({ analysis: { status: 'FAILED', started_at, execution } });
  const ours = new Set(['arn:ours']);

  test('an analysis that started later than the one the row had, or the first one', () => {
    expect(hasNewOutcome(analysed('2026-01-01T00:00:00.000Z'), analysed('2026-01-01T00:00:00.001Z'), ours)).toBe(true);
    expect(hasNewOutcome({}, analysed('2026-01-01T00:00:00.000Z'), ours)).toBe(true);
  });

  test('not the analysis the row already had, nor none at all', () => {
    expect(hasNewOutcome(analysed('2026-01-01T00:00:00.000Z'), analysed('2026-01-01T00:00:00.000Z'), ours)).toBe(false);
    expect(hasNewOutcome({}, {}, ours)).toBe(false);
    expect(hasNewOutcome({}, undefined, ours)).toBe(false);
  });

  test('one recorded by an execution this command started, whatever the clocks say', () => {
    expect(hasNewOutcome(analysed('2026-01-01T00:00:00.000Z'), analysed('2025-12-31T23:59:59.000Z', 'arn:ours'), ours)).toBe(true);
  });
});
