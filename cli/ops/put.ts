/** `media-probe put`: inserts an asset row, refusing to overwrite an existing movie_id unless --replace. */
import { parseArgs } from 'node:util';
import { ConditionalCheckFailedException, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { InvalidRowError } from '../../functions/lib/errors';
import { assetFromRecord } from '../../functions/lib/row';
import { itemToRow } from '../rows';
import { explainAwsError, OperatorError, OperatorUsageError } from './errors';
import { KEY, parseMovieId } from './table';
import { TARGET_OPTIONS, withTarget } from './target';

export async function put(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { ...TARGET_OPTIONS, id: { type: 'string' }, title: { type: 'string' }, bucket: { type: 'string' }, key: { type: 'string' }, replace: { type: 'boolean', default: false } },
  });
  const missing = (['id', 'title', 'bucket', 'key'] as const).filter((name) => values[name] === undefined);
  if (missing.length) throw new OperatorUsageError(`put needs ${missing.map((m) => `--${m}`).join(', ')}`);
  const id = parseMovieId(values.id as string);
  const item = {
    [KEY]: { N: id },
    movie_title: { S: values.title as string },
    S3_bucket: { S: values.bucket as string },
    S3_object: { S: values.key as string },
  };
  try {
    // The pipeline's own validation: a row it would only mark InvalidRowError is refused here, before it is written.
    assetFromRecord({ dynamodb: { Keys: { [KEY]: item[KEY] }, NewImage: item } });
  } catch (error) {
    if (error instanceof InvalidRowError) throw new OperatorUsageError(`the pipeline could not analyse this row: ${error.message}`);
    throw error;
  }

  return withTarget(values, async (target) => {
    let previous;
    try {
      previous = await target.dynamodb.send(
        new PutItemCommand({
          TableName: target.tableName,
          Item: item,
          ReturnValues: 'ALL_OLD',
          ...(values.replace
            ? {}
            : { ConditionExpression: 'attribute_not_exists(#key)', ExpressionAttributeNames: { '#key': KEY }, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }),
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException || (error as { name?: string }).name === 'ConditionalCheckFailedException') {
        const existing = (error as ConditionalCheckFailedException).Item;
        const title = existing?.movie_title && 'S' in existing.movie_title ? ` ("${existing.movie_title.S}")` : '';
        throw new OperatorError(`row ${id}${title} already exists in ${target.tableName}; pass --replace to overwrite it`);
      }
      throw explainAwsError(error, `writing row ${id} to table ${target.tableName}`);
    }
    const where = `s3://${values.bucket}/${values.key}`;
    if (previous.Attributes) {
      const old = itemToRow(previous.Attributes);
      process.stdout.write(`replaced row ${id} (was "${String(old.movie_title ?? '')}") in ${target.tableName} on ${target.label}: ${where}\n`);
      // A replacement reaches the stream as MODIFY, which the pipe filters out.
      process.stderr.write(`the pipe analyses inserts only; start the analysis with: npx media-probe reanalyze --id ${id} ${target.flags}\n`);
    } else {
      process.stdout.write(`inserted row ${id} into ${target.tableName} on ${target.label}: ${where}\n`);
    }
    return 0;
  });
}
