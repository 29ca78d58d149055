/**
 * `media-probe local` as a user runs it: the real command in a child process, on a directory
 * with awkward names, plus rows given as JSON, writing a report.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.resolve(__dirname, '../..');
const SAMPLES = path.join(ROOT, 'samples');
const run = promisify(execFile);

jest.setTimeout(240_000);

it('analyses every file under a directory and the given rows, and reports every outcome', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'media-probe-local-'));
  const library = path.join(dir, 'library');
  const names = ['trailer.mp4', 'Saison 1/épisode 01 + bonus & co = 100%.mkv', 'audio/#1 ?theme.mp3', 'notes/shot-list.txt'];
  const sources = ['trailer.mp4', 'interview.mkv', 'theme.mp3', 'shot-list.txt'];
  names.forEach((name, i) => {
    mkdirSync(path.dirname(path.join(library, name)), { recursive: true });
    copyFileSync(path.join(SAMPLES, sources[i]), path.join(library, name));
  });
  const rowsFile = path.join(dir, 'rows.json');
  writeFileSync(
    rowsFile,
    JSON.stringify([
      { movie_id: 100, movie_title: 'missing object', S3_bucket: 'media-probe-local-media', S3_object: 'nowhere.mov', owner: 'qa' },
      { movie_id: 101, movie_title: 'no key', S3_bucket: 'media-probe-local-media' },
    ]),
  );
  const report = path.join(dir, 'report.json');

  const { stdout } = await run(
    path.join(ROOT, 'node_modules/.bin/node'),
    [path.join(ROOT, 'cli/bin/media-probe.js'), 'local', library, '--rows', rowsFile, '--report', report],
    {
      cwd: ROOT,
      maxBuffer: 16 * 1024 * 1024,
    },
  );

  const { items, stats } = JSON.parse(readFileSync(report, 'utf8'));
  const byId = new Map<number, any>(items.map((item: any) => [item.movie_id, item]));
  // Keys in byte order: "Saison…" < "audio/…" < "notes/…" < "trailer.mp4".
  const expectedKeys = [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  expectedKeys.forEach((key, i) => {
    const item = byId.get(i + 1);
    expect(item.S3_object).toBe(key);
    expect(item.movie_title).toBe(path.posix.basename(key));
    expect(item.analysis.status).toBe(key.endsWith('.txt') ? 'FAILED' : 'SUCCEEDED');
  });
  expect(byId.get(100).analysis.error).toMatchObject({ step: 'presign', type: 'ObjectNotFoundError' });
  expect(byId.get(100).owner).toBe('qa');
  expect(byId.get(101).analysis.error).toMatchObject({
    step: 'presign',
    type: 'InvalidRowError',
    message: 'the row has no S3_object attribute',
  });
  expect(stats).toMatchObject({ records_delivered: 6, succeeded: 3, failed: 3, dead_lettered: 0 });
  expect(stats.filtered_out).toBeGreaterThanOrEqual(6);
  expect(stdout).toContain('InvalidRowError in presign: the row has no S3_object attribute');
});

it('exits non-zero with the usage when given nothing to analyse', async () => {
  await expect(
    run(path.join(ROOT, 'node_modules/.bin/node'), [path.join(ROOT, 'cli/bin/media-probe.js'), 'local'], { cwd: ROOT }),
  ).rejects.toMatchObject({
    code: 2,
    stderr: expect.stringContaining('local needs a directory, --rows FILE, or both'),
  });
});
