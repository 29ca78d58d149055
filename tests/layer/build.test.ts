/** The layer's build contract: SAM's makefile target per architecture, the cache key and cache hits, the layer tree, and the pinned-input check. */
import { spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ARCHES, type Arch, BUILD_TIMEOUT_MS, buildLayer, LAYER_DIR, requireRoot } from './support/layer';

/** ELF e_machine values: the architecture a binary was built for. */
const MACHINE: Record<Arch, number> = { x86_64: 0x3e, arm64: 0xb7 };

function elfMachine(file: string): number {
  const header = Buffer.alloc(20);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, header, 0, 20, 0);
  } finally {
    closeSync(fd);
  }
  expect(header.subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  return header.readUInt16LE(18);
}

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: BUILD_TIMEOUT_MS, ...options });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** A copy of the layer's sources (not its build output), as sam build makes in its scratch directory. */
function copyLayerSources(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ffprobe-layer-src-'));
  const output = path.join(LAYER_DIR, 'build');
  cpSync(LAYER_DIR, dir, { recursive: true, filter: (src) => src !== output && !src.startsWith(output + path.sep) });
  return dir;
}

const keyOf = (layerDir: string, arch: string): string => {
  const r = run('bash', [path.join(layerDir, 'build.sh'), 'key', arch]);
  expect(r.status).toBe(0);
  return r.output.trim();
};

let temp: string[] = [];
const tempDir = (prefix: string): string => {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  temp.push(dir);
  return dir;
};

beforeAll(() => {
  requireRoot();
  for (const arch of ARCHES) buildLayer(arch);
}, 2 * BUILD_TIMEOUT_MS);

afterAll(() => {
  for (const dir of temp) rmSync(dir, { recursive: true, force: true });
  temp = [];
});

describe('cache key', () => {
  test('is stable, differs per architecture and follows the configure options', () => {
    const arm = keyOf(LAYER_DIR, 'arm64');
    expect(arm).toMatch(/^[0-9a-f]{16}$/);
    expect(keyOf(LAYER_DIR, 'aarch64')).toBe(arm);
    expect(keyOf(LAYER_DIR, 'x86_64')).not.toBe(arm);

    const copy = copyLayerSources();
    temp.push(copy);
    expect(keyOf(copy, 'arm64')).toBe(arm);
    writeFileSync(path.join(copy, 'configure.options'), `${readFileSync(path.join(copy, 'configure.options'), 'utf8')}--enable-small\n`);
    expect(keyOf(copy, 'arm64')).not.toBe(arm);
  });

  test('follows confine.c, which is built with ffprobe', () => {
    const copy = copyLayerSources();
    temp.push(copy);
    const arm = keyOf(copy, 'arm64');
    writeFileSync(path.join(copy, 'confine.c'), `${readFileSync(path.join(copy, 'confine.c'), 'utf8')}\n`);
    expect(keyOf(copy, 'arm64')).not.toBe(arm);
  });
});

describe('sam build contract (make build-FfprobeLayer)', () => {
  test.each([
    ['arm64 by default', {}, 'arm64'],
    ['x86_64 with FFPROBE_ARCH=x86_64', { FFPROBE_ARCH: 'x86_64' }, 'x86_64'],
  ] as const)('builds %s from a scratch copy, from the cache', (_what, env, arch) => {
    const scratch = copyLayerSources();
    temp.push(scratch);
    const artifacts = tempDir('ffprobe-artifacts-');
    // sam runs: make --makefile <source>/Makefile build-<LogicalId>, in the scratch copy, with ARTIFACTS_DIR set.
    const r = run('make', ['--makefile', path.join(LAYER_DIR, 'Makefile'), 'build-FfprobeLayer'], {
      cwd: scratch,
      env: { ...process.env, ...env, ARTIFACTS_DIR: artifacts },
    });
    expect(r.status).toBe(0);
    expect(r.output).toContain('cache hit');
    expect(elfMachine(path.join(artifacts, 'bin', 'ffprobe'))).toBe(MACHINE[arch]);
    expect(elfMachine(path.join(artifacts, 'bin', 'confine'))).toBe(MACHINE[arch]);
    expect(readFileSync(path.join(artifacts, 'share', 'doc', 'ffprobe', 'confine.c'), 'utf8')).toBe(
      readFileSync(path.join(LAYER_DIR, 'confine.c'), 'utf8'),
    );
    const buildinfo = readFileSync(path.join(artifacts, 'share', 'doc', 'ffprobe', 'BUILDINFO'), 'utf8');
    const pins = readFileSync(path.join(LAYER_DIR, 'pins.env'), 'utf8');
    expect(buildinfo).toContain(`ffmpeg ${/^FFMPEG_VERSION=(.+)$/m.exec(pins)?.[1]}`);
    expect(buildinfo).toContain(`(${arch})`);
    for (const licence of ['COPYING.LGPLv3', 'COPYING.LGPLv2.1', 'libssl-dev-copyright', 'Apache-2.0', 'zlib1g-dev-copyright']) {
      expect(existsSync(path.join(artifacts, 'share', 'doc', 'ffprobe', licence))).toBe(true);
    }
  });

  test('fails clearly outside sam build (no ARTIFACTS_DIR)', () => {
    const env = { ...process.env };
    delete env.ARTIFACTS_DIR;
    const r = run('make', ['-C', LAYER_DIR, 'build-FfprobeLayer'], { env });
    expect(r.status).not.toBe(0);
    expect(r.output).toContain('ARTIFACTS_DIR is not set');
  });
});

test.each(ARCHES)('a second build of %s is a cache hit that leaves the binary in build/<arch>', (arch) => {
  const r = run('make', ['-C', LAYER_DIR, arch]);
  expect(r.status).toBe(0);
  expect(r.output).toContain('cache hit');
  expect(r.output).not.toContain('compiling');
  expect(elfMachine(path.join(LAYER_DIR, 'build', arch, 'bin', 'ffprobe'))).toBe(MACHINE[arch]);
});

test(
  'refuses inputs that do not match the pinned checksums',
  () => {
    const copy = copyLayerSources();
    temp.push(copy);
    const sums = path.join(copy, 'SHA256SUMS');
    // Flip the recorded hash of the upstream tarball: what Debian serves can no longer match it.
    writeFileSync(
      sums,
      readFileSync(sums, 'utf8').replace(
        /^([0-9a-f]{63})([0-9a-f])(\s+ffmpeg_[^\s]+\.orig\.tar\.xz)$/m,
        (_m, head: string, last: string, name: string) => `${head}${last === '0' ? '1' : '0'}${name}`,
      ),
    );
    expect(readFileSync(sums, 'utf8')).not.toBe(readFileSync(path.join(LAYER_DIR, 'SHA256SUMS'), 'utf8'));
    const cache = tempDir('ffprobe-cache-');
    const r = run('bash', [path.join(copy, 'build.sh'), 'build', 'x86_64', path.join(cache, 'out')], {
      env: { ...process.env, FFPROBE_CACHE_DIR: cache },
    });
    expect(r.status).not.toBe(0);
    expect(r.output).toContain('do not match SHA256SUMS');
    expect(existsSync(path.join(cache, 'out', 'bin', 'ffprobe'))).toBe(false);
  },
  10 * 60 * 1000,
);
