/** `media-probe put`: inserts an asset row, refusing to overwrite an existing movie_id unless --replace. */
import { ConditionalCheckFailedException, PutItemCommand, type PutItemCommandOutput } from '@aws-sdk/client-dynamodb';
import { Option } from '@commander-js/extra-typings';
import { InvalidRowError } from '../../functions/lib/errors';
import { assetFromRecord } from '../../functions/lib/row';
import { explainAwsError, OperatorError, UsageError } from '../errors';
import { movieId, operatorCommand } from '../options';
import { itemToRow } from '../rows';
import { KEY } from '../table';
import { printable } from '../table-format';
import { type TargetValues, withTarget } from '../target';

export interface PutOptions extends TargetValues {
  id: string;
  title: string;
  bucket: string;
  key: string;
  replace?: boolean;
}

export async function put(values: PutOptions): Promise<number> {
  const id = values.id;
  const item = {
    [KEY]: { N: id },
    movie_title: { S: values.title },
    S3_bucket: { S: values.bucket },
    S3_object: { S: values.key },
  };
  try {
    // The pipeline's own validation: a row it would only mark InvalidRowError is refused here, before it is written.
    assetFromRecord({ dynamodb: { Keys: { [KEY]: item[KEY] }, NewImage: item } });
  } catch (error) {
    if (error instanceof InvalidRowError) throw new UsageError(`the pipeline could not analyse this row: ${error.message}`);
    throw error;
  }

  return withTarget(values, async (target) => {
    let previous: PutItemCommandOutput;
    try {
      previous = await target.dynamodb.send(
        new PutItemCommand({
          TableName: target.tableName,
          Item: item,
          ReturnValues: 'ALL_OLD',
          ...(values.replace
            ? {}
            : {
                ConditionExpression: 'attribute_not_exists(#key)',
                ExpressionAttributeNames: { '#key': KEY },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              }),
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
      process.stdout.write(
        `replaced row ${id} (was "${printable(String(old.movie_title ?? ''))}") in ${target.tableName} on ${target.label}: ${printable(where)}\n`,
      );
      // A replacement reaches the stream as a MODIFY without an analysis, which the pipe's filter passes.
      process.stderr.write(
        `the pipe analyses the replaced row (its MODIFY carries no analysis); a stack deployed before its filter passed such MODIFYs needs: npx media-probe reanalyze --id ${id} ${target.flags}\n`,
      );
    } else {
      process.stdout.write(`inserted row ${id} into ${target.tableName} on ${target.label}: ${printable(where)}\n`);
    }
    return 0;
  });
}

export const putCommand = () =>
  operatorCommand('put')
    .description('insert an asset row (never overwrites an existing movie_id without --replace)')
    .addOption(new Option('--id <n>', 'movie_id of the row').argParser(movieId).makeOptionMandatory())
    .requiredOption('--title <title>', 'movie_title')
    .requiredOption('--bucket <bucket>', 'S3_bucket: the bucket of the media file')
    .requiredOption('--key <key>', 'S3_object: the key of the media file')
    .option('--replace', 'overwrite the row if it exists (a MODIFY without analysis, which the pipe analyses)')
    .action(async (options) => {
      process.exitCode = await put(options);
    });
