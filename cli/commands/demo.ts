/** `media-probe demo`: the whole pipeline on the bundled samples, plus a row whose file is uploaded late, and one file overwritten: both analysed again through S3's object events. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
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
  waitForNewAnalyses,
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

    // The files change in S3: the late one arrives, and the theme is replaced by a new export. S3's
    // object events have exactly the rows that point at them analysed again.
    const late = rows[rows.length - 1];
    const replaced = rows.find((row) => row.S3_object === 'samples/theme.mp3');
    const changed = [replaced, late].filter((row): row is PlainRow => row !== undefined);
    log(`\nS3 events: ${late.S3_object} is uploaded at last, and samples/theme.mp3 is overwritten with a new export…`);
    const before = result.items.filter((item) => changed.some((row) => row.movie_id === item.movie_id));
    await stack.s3.send(
      new PutObjectCommand({
        Bucket: stack.mediaBucket,
        Key: String(late.S3_object),
        Body: readFileSync(path.join(SAMPLES_DIR, 'trailer.mp4')),
      }),
    );
    await stack.s3.send(
      new PutObjectCommand({
        Bucket: stack.mediaBucket,
        Key: 'samples/theme.mp3',
        Body: readFileSync(path.join(SAMPLES_DIR, 'ambience.wav')),
      }),
    );
    const again = await waitForNewAnalyses(stack, before, DEFAULT_TIMEOUT_SECONDS * 1000);
    process.stdout.write(`${resultsTable(changed, again)}\n`);
    const stats = statsOf(stack);
    log(
      `\nstream records ${stats.stream_records} (filtered out ${stats.filtered_out}), executions ${stats.executions}, dead-lettered ${stats.dead_lettered}`,
    );
    return result.complete && again.complete ? 0 : 1;
  });
}

export const demoCommand = () =>
  new Command('demo')
    .description('analyse the bundled samples on the local stack and print the results (no AWS account, no Docker)')
    .action(async () => {
      process.exitCode = await demo();
    });
