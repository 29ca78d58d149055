/** `media-probe demo`: the whole pipeline on the bundled samples, plus a row whose file was never uploaded. */
import path from 'node:path';
import { Command } from '@commander-js/extra-typings';
import {
  analyseRows,
  DEFAULT_TIMEOUT_SECONDS,
  listFiles,
  log,
  REPOSITORY_ROOT,
  resultsTable,
  rowsForFiles,
  statsOf,
  uploadFiles,
  withStack,
} from '../local-run';
import type { PlainRow } from '../rows';

const SAMPLES_DIR = path.join(REPOSITORY_ROOT, 'samples');

export async function demo(): Promise<number> {
  return withStack({}, async (stack) => {
    const files = (await listFiles(SAMPLES_DIR)).map((f) => ({ ...f, key: `samples/${f.key}` }));
    await uploadFiles(stack, stack.mediaBucket, files);
    const rows: PlainRow[] = [
      ...rowsForFiles(stack.mediaBucket, files),
      { movie_id: files.length + 1, movie_title: 'Uploaded late', S3_bucket: stack.mediaBucket, S3_object: 'samples/not-uploaded-yet.mov' },
    ];
    const result = await analyseRows(stack, rows, DEFAULT_TIMEOUT_SECONDS);
    process.stdout.write(`${resultsTable(rows, result)}\n`);
    const stats = statsOf(stack);
    log(
      `\nstream records ${stats.stream_records} (filtered out ${stats.filtered_out}), executions ${stats.executions}, dead-lettered ${stats.dead_lettered}`,
    );
    return result.complete ? 0 : 1;
  });
}

export const demoCommand = () =>
  new Command('demo')
    .description('analyse the bundled samples on the local stack and print the results (no AWS account, no Docker)')
    .action(async () => {
      process.exitCode = await demo();
    });
