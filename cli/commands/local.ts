/** `media-probe local`: uploads a directory's files and/or inserts given rows on the local stack, waits for every outcome, and reports. */
import { readFileSync, writeFileSync } from 'node:fs';
import { Command, Option } from '@commander-js/extra-typings';
import { ensureBucket, LOCAL_MEDIA_BUCKET } from '../../local/stack';
import { UsageError } from '../errors';
import {
  analyseRows,
  DEFAULT_TIMEOUT_SECONDS,
  listFiles,
  log,
  resultsTable,
  rowsForFiles,
  statsOf,
  uploadFiles,
  withStack,
} from '../local-run';
import { positiveNumber } from '../options';
import type { PlainRow } from '../rows';

export interface LocalOptions {
  bucket: string;
  rows?: string;
  report?: string;
  timeout: number;
}

function readRows(file: string): PlainRow[] {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  if (!Array.isArray(parsed) || parsed.some((r) => !r || typeof r !== 'object' || Array.isArray(r)))
    throw new UsageError('--rows must be a JSON array of objects');
  return parsed as PlainRow[];
}

export async function local(directory: string | undefined, options: LocalOptions): Promise<number> {
  if (directory === undefined && !options.rows) throw new UsageError('local needs a directory, --rows FILE, or both');
  const givenRows = options.rows ? readRows(options.rows) : [];
  return withStack({}, async (stack) => {
    let rows = givenRows;
    if (directory !== undefined) {
      const files = await listFiles(directory);
      await ensureBucket(stack.s3, options.bucket);
      log(`uploading ${files.length} file${files.length === 1 ? '' : 's'} to s3://${options.bucket}/ …`);
      await uploadFiles(stack, options.bucket, files);
      rows = [...rowsForFiles(options.bucket, files), ...givenRows];
    }
    const result = await analyseRows(stack, rows, options.timeout);
    process.stdout.write(`${resultsTable(rows, result)}\n`);
    if (options.report) {
      writeFileSync(options.report, `${JSON.stringify({ items: result.items, stats: statsOf(stack) }, null, 2)}\n`);
      log(`report written to ${options.report}`);
    }
    if (!result.complete) log(`timed out after ${options.timeout} s with rows still pending`);
    return result.complete ? 0 : 1;
  });
}

export const localCommand = () =>
  new Command('local')
    .description(
      'analyse every file under DIR (uploaded with its relative path as the key) and/or the rows in --rows FILE, on the local stack',
    )
    .argument('[dir]', 'directory whose regular files are uploaded and analysed (links are not followed)')
    .addOption(new Option('--bucket <name>', 'local bucket to upload DIR into').default(LOCAL_MEDIA_BUCKET))
    .option('--rows <file>', 'JSON array of rows inserted as they are (numbers become N)')
    .option('--report <file>', 'write {"items": [...], "stats": {...}} here')
    .addOption(
      new Option('--timeout <seconds>', 'stop waiting for outcomes after this long')
        .argParser(positiveNumber)
        .default(DEFAULT_TIMEOUT_SECONDS),
    )
    .action(async (directory, options) => {
      process.exitCode = await local(directory, options);
    });
