/**
 * Real-world files through the object relay: mutagen's test media (tests/support/real-world-media.txt,
 * downloaded once from PyPI by pip, hash-checked, cached) served by the local S3 endpoint, each probed
 * the way the ffprobe step does (probeAsset, through the relay) and by the same ffprobe invocation
 * reading the presigned URL itself. The relay changes the transport only: the same JSON for every
 * file ffprobe reads, the same named error for every file it cannot.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual, promisify } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { type FfprobeSettings, probeAsset } from '../../functions/lib/ffprobe';
import { runFfprobe } from '../../functions/lib/ffprobe-command';
import { presignAsset } from '../../functions/lib/presign';
import { hostFfprobe } from '../../local/ffprobe-binary';
import { type LocalStack, startLocalStack } from '../../local/stack';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const REQUIREMENTS = path.join(ROOT, 'tests', 'support', 'real-world-media.txt');
const CACHE = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'media-probe', 'real-world');
const SDIST = 'mutagen-1.47.0';

jest.setTimeout(300_000);

/** mutagen's tests/data, fetched by pip (which checks the pinned hash) and unpacked once. */
async function realWorldMedia(): Promise<string> {
  const data = path.join(CACHE, SDIST, 'tests', 'data');
  if (existsSync(data)) return data;
  mkdirSync(CACHE, { recursive: true });
  const archive = path.join(CACHE, `${SDIST}.tar.gz`);
  if (!existsSync(archive)) {
    await run(
      'python3',
      ['-m', 'pip', 'download', '--no-deps', '--no-binary', ':all:', '--require-hashes', '-r', REQUIREMENTS, '-d', CACHE],
      {
        maxBuffer: 16 << 20,
      },
    );
  }
  await run('tar', ['-xzf', archive, '-C', CACHE, `${SDIST}/tests/data`]);
  return data;
}

let stack: LocalStack;
let files: Array<{ name: string; size: number }>;
const settings: FfprobeSettings = {
  ffprobePath: hostFfprobe(ROOT),
  timeoutMs: 30_000,
  maxOutputBytes: 16 * 1024 * 1024,
  inlineLimitBytes: Number.MAX_SAFE_INTEGER,
  uploadTimeoutMs: 10_000,
  faststartTimeoutMs: 5_000,
  memoryBudgetMiB: 768,
};

beforeAll(async () => {
  const [data, started] = await Promise.all([realWorldMedia(), startLocalStack({ repositoryRoot: ROOT, withPipe: false })]);
  stack = started;
  files = readdirSync(data)
    .filter((name) => statSync(path.join(data, name)).isFile())
    .map((name) => ({ name, size: statSync(path.join(data, name)).size }));
  for (const file of files) {
    const body = await readFile(path.join(data, file.name));
    await stack.s3.send(new PutObjectCommand({ Bucket: stack.mediaBucket, Key: `real-world/${file.name}`, Body: body }));
  }
});

afterAll(async () => {
  await stack?.stop();
});

/** ffprobe's sections without the step's second run, which the direct invocation does not make. */
function sections(json: string): unknown {
  const { frames_probe: _frames, ...rest } = JSON.parse(json) as Record<string, unknown>;
  return rest;
}

type Outcome = { ok: true; sections: unknown } | { ok: false; error: string };

it('probes every file of mutagen’s test media through the relay exactly as ffprobe reads it from the URL itself', async () => {
  expect(files.length).toBeGreaterThanOrEqual(90);
  const differences: string[] = [];
  let read = 0;
  for (const file of files) {
    const url = async () =>
      (await presignAsset(stack.s3, { movieId: '0', bucket: stack.mediaBucket, key: `real-world/${file.name}` }, 300)).url;
    const relayed: Outcome = await probeAsset(
      await url(),
      { output_location: 'unused', output_upload_url: 'http://127.0.0.1:9/unused' },
      settings,
      file.size,
    ).then(
      ({ result }) => ({ ok: true as const, sections: sections('ffprobe_output' in result.stored ? result.stored.ffprobe_output : '{}') }),
      (error: Error) => ({ ok: false as const, error: error.name }),
    );
    const direct: Outcome =
      file.size === 0
        ? // The step refuses an empty object before ffprobe runs; ffprobe itself would only report S3's 416.
          { ok: false, error: 'NotMediaError' }
        : await runFfprobe(settings.ffprobePath, await url(), settings).then(
            ({ json }) => ({ ok: true as const, sections: sections(json) }),
            (error: Error) => ({ ok: false as const, error: error.name }),
          );
    if (relayed.ok) read += 1;
    if (!isDeepStrictEqual(relayed, direct)) {
      differences.push(`${file.name}: relay ${relayed.ok ? 'read it' : relayed.error}, direct ${direct.ok ? 'read it' : direct.error}`);
    }
  }
  expect(differences).toEqual([]);
  // Most are media ffprobe reads; the rest are tag files and broken headers, refused alike both ways.
  expect(read).toBeGreaterThanOrEqual(60);
});
