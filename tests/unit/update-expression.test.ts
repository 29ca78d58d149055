/** The conditional UpdateItem: what it may touch, when it applies, and how a refusal is explained. */
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { Analysis } from '../../functions/lib/analysis';
import type { FfprobeResult } from '../../functions/lib/ffprobe';
import { summariseMedia } from '../../functions/lib/media-summary';
import { buildAnalysisUpdate, buildSummaryUpdate, explainStaleRow, OWNED_ATTRIBUTES } from '../../functions/lib/update-expression';
import { allFixtures } from './helpers/ffprobe-fixtures';
import { BUCKET, insertRecord, KEY, rowImage } from './helpers/records';

const TABLE = 'media-probe-Movies';
const STARTED_AT = '2025-01-15T10:00:00.000Z';

const analysis = (status: Analysis['status']): Analysis => ({
  status,
  execution: 'arn:aws:states:us-east-1:123456789012:express:media-probe:run-1:item-0',
  started_at: STARTED_AT,
  finished_at: '2025-01-15T10:00:03.000Z',
  steps: {
    presign: { status: 'SUCCEEDED', attempts: 1, duration_ms: 120 },
    ffprobe:
      status === 'SUCCEEDED'
        ? { status: 'SUCCEEDED', attempts: 1, duration_ms: 2400 }
        : { status: 'FAILED', attempts: 1, duration_ms: 2400, error: 'NotMediaError: x' },
    update:
      status === 'SUCCEEDED' ? { status: 'SUCCEEDED', attempts: 1, duration_ms: 40 } : { status: 'SKIPPED', attempts: 0, duration_ms: 0 },
  },
  ...(status === 'FAILED' ? { error: { step: 'ffprobe' as const, type: 'NotMediaError', message: 'x' } } : {}),
});

const media: FfprobeResult['media'] = summariseMedia({
  streams: [{ index: 0, codec_type: 'audio', codec_name: 'mp3', channels: 1, sample_rate: '44100' }],
  format: { format_name: 'mp3', duration: '2.04' },
});
const inline: FfprobeResult = { stored: { ffprobe_output: '{"streams":[],"format":{}}' }, media };
const located: FfprobeResult = { stored: { ffprobe_output_location: 's3://media-probe-results/ffprobe-output/42/abc.json' }, media };

/** The attribute names (resolved through ExpressionAttributeNames) that the SET and REMOVE clauses write. */
function writtenAttributes(input: ReturnType<typeof buildAnalysisUpdate>): { set: string[]; remove: string[] } {
  const [, set = '', remove = ''] = /^SET (.*?)(?: REMOVE (.*))?$/.exec(input.UpdateExpression!) ?? [];
  const resolve = (clause: string) =>
    clause
      .split(',')
      .filter((part) => part.trim())
      .map((part) => {
        const target = part.split('=')[0].trim();
        expect(target).toMatch(/^#\w+$/);
        return input.ExpressionAttributeNames![target];
      });
  return { set: resolve(set), remove: resolve(remove) };
}

describe('buildAnalysisUpdate', () => {
  it('a success with inline output sets analysis, media and ffprobe_output, and removes a stale location', () => {
    const input = buildAnalysisUpdate(TABLE, insertRecord(), analysis('SUCCEEDED'), inline);
    expect(input.TableName).toBe(TABLE);
    expect(input.Key).toEqual({ movie_id: { N: '42' } });
    expect(writtenAttributes(input)).toEqual({
      set: ['analysis', 'media', 'ffprobe_output', 'object_uri'],
      remove: ['ffprobe_output_location'],
    });
    expect(input.ExpressionAttributeValues![':output']).toEqual({ S: '{"streams":[],"format":{}}' });
    expect(input.ExpressionAttributeValues![':media']).toEqual({ M: marshall(media) });
    expect(input.ExpressionAttributeValues![':analysis']).toEqual({ M: marshall(analysis('SUCCEEDED')) });
    expect(input.ReturnValuesOnConditionCheckFailure).toBe('ALL_OLD');
  });

  it('a success with output in the results bucket sets the location and removes inline output', () => {
    const input = buildAnalysisUpdate(TABLE, insertRecord(), analysis('SUCCEEDED'), located);
    expect(writtenAttributes(input)).toEqual({
      set: ['analysis', 'media', 'ffprobe_output_location', 'object_uri'],
      remove: ['ffprobe_output'],
    });
    expect(input.ExpressionAttributeValues![':output_location']).toEqual({ S: 's3://media-probe-results/ffprobe-output/42/abc.json' });
  });

  it('a failure sets analysis and removes the metadata of any earlier analysis', () => {
    const input = buildAnalysisUpdate(TABLE, insertRecord(), analysis('FAILED'));
    expect(writtenAttributes(input)).toEqual({
      set: ['analysis', 'object_uri'],
      remove: ['media', 'ffprobe_output', 'ffprobe_output_location'],
    });
    expect(input.ExpressionAttributeValues).not.toHaveProperty(':media');
    expect(input.UpdateExpression).toBe(
      'SET #analysis = :analysis, #object_uri = :object_uri REMOVE #media, #ffprobe_output, #ffprobe_output_location',
    );
  });

  it('points object_uri at the object the row names, and removes it from a row that names no valid object', () => {
    const input = buildAnalysisUpdate(TABLE, insertRecord(), analysis('SUCCEEDED'), inline);
    const image = insertRecord().dynamodb?.NewImage as Record<string, { S: string }>;
    expect(input.ExpressionAttributeValues![':object_uri']).toEqual({ S: `s3://${image.S3_bucket.S}/${image.S3_object.S}` });
    const invalid = buildAnalysisUpdate(TABLE, insertRecord({ S3_bucket: { S: 'no' } }), analysis('FAILED'));
    expect(writtenAttributes(invalid).remove).toContain('object_uri');
  });

  it.each([
    ['success inline', inline],
    ['success with location', located],
    ['failure', undefined],
  ])('%s: writes only the attributes the pipeline owns', (_label, outcome) => {
    const input = buildAnalysisUpdate(TABLE, insertRecord(), analysis(outcome ? 'SUCCEEDED' : 'FAILED'), outcome);
    const { set, remove } = writtenAttributes(input);
    for (const name of [...set, ...remove]) expect(OWNED_ATTRIBUTES).toContain(name);
    const referenced = input.UpdateExpression!.match(/#\w+/g)!.map((ref) => input.ExpressionAttributeNames![ref]);
    expect(referenced.every((name) => (OWNED_ATTRIBUTES as readonly string[]).includes(name))).toBe(true);
    expect(input.UpdateExpression).not.toMatch(/\b(?:ADD|DELETE)\b/);
  });

  it.each([
    ['success inline', inline],
    ['failure', undefined],
  ])('%s: every name and value placeholder is defined and used (DynamoDB rejects unused ones)', (_label, outcome) => {
    const input = buildAnalysisUpdate(TABLE, insertRecord(), analysis(outcome ? 'SUCCEEDED' : 'FAILED'), outcome);
    const expressions = `${input.UpdateExpression} ${input.ConditionExpression}`;
    expect(new Set(expressions.match(/#\w+/g))).toEqual(new Set(Object.keys(input.ExpressionAttributeNames!)));
    expect(new Set(expressions.match(/:\w+/g))).toEqual(new Set(Object.keys(input.ExpressionAttributeValues!)));
  });

  it('applies only while the row exists, still points at the analysed object, and has no newer analysis', () => {
    const input = buildAnalysisUpdate(TABLE, insertRecord(), analysis('SUCCEEDED'), inline);
    expect(input.ConditionExpression).toBe(
      'attribute_exists(#key0) AND #src0 = :src0 AND #src1 = :src1 AND (attribute_not_exists(#analysis) OR #analysis.#started_at <= :started_at) AND (attribute_not_exists(#analysis.#deleted_at) OR #analysis.#deleted_at < :started_at)',
    );
    expect(input.ExpressionAttributeNames).toMatchObject({
      '#key0': 'movie_id',
      '#src0': 'S3_bucket',
      '#src1': 'S3_object',
      '#analysis': 'analysis',
      '#started_at': 'started_at',
    });
    expect(input.ExpressionAttributeValues).toMatchObject({
      ':src0': { S: BUCKET },
      ':src1': { S: KEY },
      ':started_at': { S: STARTED_AT },
    });
  });

  it('requires the source attributes to be still absent when the record lacked them', () => {
    const input = buildAnalysisUpdate(TABLE, insertRecord(rowImage({}, ['S3_bucket', 'S3_object'])), analysis('FAILED'));
    expect(input.ConditionExpression).toBe(
      'attribute_exists(#key0) AND attribute_not_exists(#src0) AND attribute_not_exists(#src1) AND (attribute_not_exists(#analysis) OR #analysis.#started_at <= :started_at) AND (attribute_not_exists(#analysis.#deleted_at) OR #analysis.#deleted_at < :started_at) AND NOT (#analysis.#execution = :execution AND #analysis.#status = :succeeded)',
    );
    expect(input.ExpressionAttributeValues).not.toHaveProperty(':src0');
  });

  it('compares a mistyped source attribute with its own type, binary decoded', () => {
    const input = buildAnalysisUpdate(
      TABLE,
      insertRecord(rowImage({ S3_bucket: { N: '12' }, S3_object: { B: 'AQI=' } })),
      analysis('FAILED'),
    );
    expect(input.ExpressionAttributeValues![':src0']).toEqual({ N: '12' });
    expect(Array.from(input.ExpressionAttributeValues![':src1'].B!)).toEqual([1, 2]);
  });

  it('still guards on the key and the start time for a record without NewImage', () => {
    const input = buildAnalysisUpdate(TABLE, insertRecord(null), analysis('FAILED'));
    expect(input.ConditionExpression).toBe(
      'attribute_exists(#key0) AND (attribute_not_exists(#analysis) OR #analysis.#started_at <= :started_at) AND (attribute_not_exists(#analysis.#deleted_at) OR #analysis.#deleted_at < :started_at) AND NOT (#analysis.#execution = :execution AND #analysis.#status = :succeeded)',
    );
  });

  it('never lets a failure report replace the success its own execution already recorded', () => {
    const failure = buildAnalysisUpdate(TABLE, insertRecord(), analysis('FAILED'));
    expect(failure.ConditionExpression).toContain('NOT (#analysis.#execution = :execution AND #analysis.#status = :succeeded)');
    expect(failure.ExpressionAttributeValues![':execution']).toEqual({ S: analysis('FAILED').execution });
    const success = buildAnalysisUpdate(TABLE, insertRecord(), analysis('SUCCEEDED'), inline);
    expect(success.ConditionExpression).not.toContain(':execution');
  });

  it('drops undefined fields instead of failing to marshall them', () => {
    const partial = { ...analysis('SUCCEEDED'), error: undefined };
    expect(() =>
      buildAnalysisUpdate(TABLE, insertRecord(), partial, { ...inline, media: { ...media, bit_rate: undefined } }),
    ).not.toThrow();
  });
});

describe('the media summary on the row', () => {
  it.each(allFixtures().map((f) => [`${f.file} (ffprobe ${f.version})`, f.output] as const))(
    '%s: its nested maps and lists, booleans and empty lists, come back from DynamoDB unchanged',
    (_, output) => {
      const summary = summariseMedia(output, { faststart: true });
      const input = buildAnalysisUpdate(TABLE, insertRecord(), analysis('SUCCEEDED'), { ...inline, media: summary });
      const written = input.ExpressionAttributeValues![':media'];
      expect(written.M).toBeDefined();
      expect(unmarshall({ media: written }).media).toEqual(JSON.parse(JSON.stringify(summary)));
    },
  );

  it('writes a timecode, HDR metadata and findings as DynamoDB maps and lists', () => {
    const summary = summariseMedia(allFixtures().find((f) => f.file === 'dolby-vision-p8.mp4')!.output);
    const written = buildAnalysisUpdate(TABLE, insertRecord(), analysis('SUCCEEDED'), { ...inline, media: summary })
      .ExpressionAttributeValues![':media'].M!;
    const hdr = written.video.L![0].M!.hdr.M!;
    expect(hdr.formats).toEqual({ L: [{ S: 'PQ' }, { S: 'HDR10' }, { S: 'Dolby Vision' }] });
    expect(hdr.mastering_display.M!.red).toEqual({ M: { x: { N: '0.68' }, y: { N: '0.32' } } });
    expect(hdr.dolby_vision.M!.rpu).toEqual({ BOOL: true });
    expect(written.findings.L![0]).toEqual({
      M: { rule: { S: 'no_audio' }, severity: { S: 'warning' }, message: { S: expect.any(String) } },
    });
    expect(written.chapters).toEqual({ L: [] });
    expect(written.schema_version).toEqual({ N: '2' });
  });
});

describe('explainStaleRow', () => {
  const current = (overrides: Record<string, unknown> = {}) =>
    marshall({ movie_id: 42, title: 'The Example', S3_bucket: BUCKET, S3_object: KEY, ...overrides }, { removeUndefinedValues: true });

  it('the row was deleted', () => {
    expect(explainStaleRow(insertRecord(), undefined, STARTED_AT)).toBe('the row was deleted before the result could be recorded');
  });

  it('S3 reported the object deleted after the analysis started: the mark stays', () => {
    const deletedAt = new Date(Date.parse(STARTED_AT) + 2_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const row = current({
      analysis: { status: 'SUCCEEDED', started_at: '2020-01-01T00:00:00.000Z', object_state: 'DELETED', object_deleted_at: deletedAt },
    });
    expect(explainStaleRow(insertRecord(), row, STARTED_AT)).toBe(
      `S3 reported the object deleted (${deletedAt}) after this analysis started: the deletion stays recorded`,
    );
  });

  it('the row was re-pointed at another object', () => {
    expect(explainStaleRow(insertRecord(), current({ S3_object: 'movies/42/recut.mp4' }), STARTED_AT)).toBe(
      `the row's S3_object changed from "${KEY}" to "movies/42/recut.mp4" since the analysis started`,
    );
    expect(explainStaleRow(insertRecord(), current({ S3_bucket: 'other-bucket' }), STARTED_AT)).toBe(
      `the row's S3_bucket changed from "${BUCKET}" to "other-bucket" since the analysis started`,
    );
  });

  it('the row lost its object, or gained one', () => {
    expect(explainStaleRow(insertRecord(), current({ S3_object: undefined }), STARTED_AT)).toBe(
      `the row's S3_object changed from "${KEY}" to nothing since the analysis started`,
    );
    expect(explainStaleRow(insertRecord(rowImage({}, ['S3_object'])), current(), STARTED_AT)).toBe(
      `the row's S3_object changed from nothing to "${KEY}" since the analysis started`,
    );
  });

  it('a newer analysis is already recorded', () => {
    const newer = current({
      analysis: {
        status: 'SUCCEEDED',
        started_at: '2025-01-15T10:05:00.000Z',
        execution: 'arn:aws:states:us-east-1:123456789012:express:media-probe:run-2:item-0',
      },
    });
    expect(explainStaleRow(insertRecord(), newer, STARTED_AT)).toBe(
      'a newer analysis (started 2025-01-15T10:05:00.000Z by arn:aws:states:us-east-1:123456789012:express:media-probe:run-2:item-0) is already recorded',
    );
    expect(explainStaleRow(insertRecord(), current({ analysis: { started_at: '2025-01-15T10:05:00.000Z' } }), STARTED_AT)).toBe(
      'a newer analysis (started 2025-01-15T10:05:00.000Z) is already recorded',
    );
  });

  it('falls back to a general reason when nothing it checks explains the refusal', () => {
    const older = current({ analysis: { started_at: '2025-01-14T00:00:00.000Z' } });
    expect(explainStaleRow(insertRecord(), older, STARTED_AT)).toBe('the row changed while the analysis ran');
  });

  it('explains a refusal on a row holding numbers JavaScript cannot represent exactly', () => {
    const row = { ...current({ S3_object: 'movies/42/recut.mp4' }), checksum: { N: '123456789012345678901234.5' } };
    expect(explainStaleRow(insertRecord(), row, STARTED_AT)).toBe(
      `the row's S3_object changed from "${KEY}" to "movies/42/recut.mp4" since the analysis started`,
    );
  });
});

describe('buildSummaryUpdate', () => {
  const update = buildSummaryUpdate(TABLE, { movie_id: { N: '42' } }, 'arn:execution:1', { schema_version: 2 });

  it("replaces media only, and only while the analysis its JSON came from is the row's latest and the summary is older", () => {
    expect(update.UpdateExpression).toBe('SET #media = :media');
    expect(update.ConditionExpression).toBe(
      '#analysis.#execution = :execution AND (attribute_not_exists(#media.#version) OR #media.#version < :version)',
    );
    expect(update.ExpressionAttributeNames).toEqual({
      '#media': 'media',
      '#analysis': 'analysis',
      '#execution': 'execution',
      '#version': 'schema_version',
    });
    expect(update.ExpressionAttributeValues).toEqual({
      ':media': { M: { schema_version: { N: '2' } } },
      ':execution': { S: 'arn:execution:1' },
      ':version': { N: '2' },
    });
    expect(update.Key).toEqual({ movie_id: { N: '42' } });
  });
});
