/**
 * Builds the conditional UpdateItem that records an analysis on its row: it touches only the
 * attributes the pipeline owns, and applies only while the row still points at the object analysed.
 */
import type { AttributeValue, UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { Analysis } from './analysis';
import type { FfprobeResult } from './ffprobe';
import { OBJECT_URI, objectUriOfRecord } from './object-index';
import { keysOf } from './row';
import { SOURCE_ATTRIBUTES, type StreamImage, type StreamRecord, toSdkAttributeValue, toSdkItem } from './stream-record';

/** The attributes the pipeline writes; it never touches any other. */
export const OWNED_ATTRIBUTES = ['analysis', 'media', 'ffprobe_output', 'ffprobe_output_location', 'object_uri'] as const;

interface Expression {
  names: Record<string, string>;
  values: Record<string, AttributeValue>;
}

function sourceConditions(record: unknown, expr: Expression): string[] {
  const keys = keysOf(record);
  const image: StreamImage | undefined = (record as StreamRecord).dynamodb?.NewImage;
  const conditions = Object.keys(keys).map((name, i) => {
    expr.names[`#key${i}`] = name;
    return `attribute_exists(#key${i})`;
  });
  if (!image) return conditions;
  SOURCE_ATTRIBUTES.forEach((name, i) => {
    expr.names[`#src${i}`] = name;
    const value = image[name];
    if (value === undefined) {
      conditions.push(`attribute_not_exists(#src${i})`);
    } else {
      expr.values[`:src${i}`] = toSdkAttributeValue(value);
      conditions.push(`#src${i} = :src${i}`);
    }
  });
  return conditions;
}

/**
 * The UpdateItem for an analysis outcome. A success stores the summary and the ffprobe JSON (or its
 * location); a failure removes them, so an item's metadata always belongs to its latest analysis.
 * An analysis that started before the one already recorded is not applied.
 */
export function buildAnalysisUpdate(
  tableName: string,
  record: unknown,
  analysis: Analysis,
  outcome?: FfprobeResult,
): UpdateItemCommandInput {
  const expr: Expression = {
    names: { '#analysis': 'analysis', '#started_at': 'started_at' },
    values: {
      ':analysis': { M: marshall(analysis, { removeUndefinedValues: true }) },
      ':started_at': { S: analysis.started_at },
    },
  };
  const set = ['#analysis = :analysis'];
  const remove: string[] = [];
  const owned = (name: string) => {
    expr.names[`#${name}`] = name;
    return `#${name}`;
  };
  if (outcome) {
    expr.values[':media'] = { M: marshall(outcome.media, { removeUndefinedValues: true }) };
    set.push(`${owned('media')} = :media`);
    if ('ffprobe_output' in outcome.stored) {
      expr.values[':output'] = { S: outcome.stored.ffprobe_output };
      set.push(`${owned('ffprobe_output')} = :output`);
      remove.push(owned('ffprobe_output_location'));
    } else {
      expr.values[':output_location'] = { S: outcome.stored.ffprobe_output_location };
      set.push(`${owned('ffprobe_output_location')} = :output_location`);
      remove.push(owned('ffprobe_output'));
    }
  } else {
    remove.push(owned('media'), owned('ffprobe_output'), owned('ffprobe_output_location'));
  }
  // The object the analysis is of, for the object index: a change to it in S3 finds this row.
  const uri = objectUriOfRecord(record);
  if (uri) {
    expr.values[':object_uri'] = { S: uri };
    set.push(`${owned(OBJECT_URI)} = :object_uri`);
  } else {
    remove.push(owned(OBJECT_URI));
  }
  const conditions = sourceConditions(record, expr);
  conditions.push('(attribute_not_exists(#analysis) OR #analysis.#started_at <= :started_at)');
  // S3 told of the object's deletion after this analysis started: what it read is gone, the mark stays.
  expr.names['#deleted_at'] = 'object_deleted_at';
  conditions.push('(attribute_not_exists(#analysis.#deleted_at) OR #analysis.#deleted_at < :started_at)');
  if (!outcome) {
    // The update step may fail after its write landed (a timeout on the way back): its success stands.
    expr.names['#execution'] = 'execution';
    expr.names['#status'] = 'status';
    expr.values[':execution'] = { S: analysis.execution };
    expr.values[':succeeded'] = { S: 'SUCCEEDED' };
    conditions.push('NOT (#analysis.#execution = :execution AND #analysis.#status = :succeeded)');
  }
  return {
    TableName: tableName,
    Key: toSdkItem(keysOf(record)),
    UpdateExpression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
    ConditionExpression: conditions.join(' AND '),
    ExpressionAttributeNames: expr.names,
    ExpressionAttributeValues: expr.values,
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  };
}

function describeLocation(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}

/** Why a conditional write was refused, from the row as it is now (undefined: the row is gone). */
export function explainStaleRow(record: unknown, current: Record<string, AttributeValue> | undefined, startedAt: string): string {
  if (!current) return 'the row was deleted before the result could be recorded';
  const now = unmarshall(current, { wrapNumbers: true });
  const image = (record as StreamRecord).dynamodb?.NewImage;
  const then = image ? unmarshall(toSdkItem(image), { wrapNumbers: true }) : {};
  for (const name of SOURCE_ATTRIBUTES) {
    if (JSON.stringify(now[name]) !== JSON.stringify(then[name])) {
      return `the row's ${name} changed from ${describeLocation(then[name])} to ${describeLocation(now[name])} since the analysis started`;
    }
  }
  const recorded = now.analysis as { started_at?: string; execution?: string; status?: string; object_deleted_at?: string } | undefined;
  if (recorded?.object_deleted_at && recorded.object_deleted_at >= startedAt) {
    return `S3 reported the object deleted (${recorded.object_deleted_at}) after this analysis started: the deletion stays recorded`;
  }
  if (recorded?.status === 'SUCCEEDED' && recorded.started_at === startedAt) {
    return 'this execution already recorded its success; the later failure report is not applied';
  }
  if (recorded?.started_at && recorded.started_at > startedAt) {
    return `a newer analysis (started ${recorded.started_at}${recorded.execution ? ` by ${recorded.execution}` : ''}) is already recorded`;
  }
  return 'the row changed while the analysis ran';
}

/**
 * The UpdateItem that replaces a row's `media` with one rebuilt from the ffprobe JSON the row keeps
 * (resummarise). It applies only while the row's analysis is the one that JSON came from, and its
 * summary is still of an older version: a new analysis, or another run, wins.
 */
export function buildSummaryUpdate(
  tableName: string,
  key: Record<string, AttributeValue>,
  execution: string,
  media: { schema_version: number },
): UpdateItemCommandInput {
  return {
    TableName: tableName,
    Key: key,
    UpdateExpression: 'SET #media = :media',
    ConditionExpression: '#analysis.#execution = :execution AND (attribute_not_exists(#media.#version) OR #media.#version < :version)',
    ExpressionAttributeNames: { '#media': 'media', '#analysis': 'analysis', '#execution': 'execution', '#version': 'schema_version' },
    ExpressionAttributeValues: {
      ':media': { M: marshall(media, { removeUndefinedValues: true }) },
      ':execution': { S: execution },
      ':version': { N: String(media.schema_version) },
    },
  };
}
