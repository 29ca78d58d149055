/**
 * The benchmark's log-volume run, in a process of its own: the sample files (samples/) through a
 * local stack whose functions load with LOG_LEVEL = MEDIA_PROBE_LOG_LEVEL, as Lambda loads them with
 * the template's LogLevel (their logger takes its level at load, and Powertools puts that level back
 * on every invocation). The functions' lines, and the update function's metric documents, go to
 * standard output; the number of assets analysed goes to the file LOG_VOLUME_SUMMARY names.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { insertRows, listFiles, rowsForFiles, uploadFiles, waitForOutcomes } from '../cli/local-run';
import { startLocalStack } from '../local/stack';

const REPOSITORY_ROOT = path.resolve(__dirname, '..');

async function main(): Promise<void> {
  const summary = process.env.LOG_VOLUME_SUMMARY;
  if (!summary || !process.env.MEDIA_PROBE_LOG_LEVEL) throw new Error('set MEDIA_PROBE_LOG_LEVEL and LOG_VOLUME_SUMMARY');
  const stack = await startLocalStack({ repositoryRoot: REPOSITORY_ROOT, log: (line) => process.stderr.write(`${line}\n`) });
  try {
    const files = (await listFiles(path.join(REPOSITORY_ROOT, 'samples'))).filter((file) => !file.key.endsWith('.txt'));
    await uploadFiles(stack, stack.mediaBucket, files);
    const rows = rowsForFiles(stack.mediaBucket, files);
    await insertRows(stack, rows);
    const { outcomes } = await waitForOutcomes(stack, rows, 120_000);
    writeFileSync(summary, JSON.stringify({ assets: [...outcomes.values()].filter((o) => o === 'SUCCEEDED').length }));
  } finally {
    await stack.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);
