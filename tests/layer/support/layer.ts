/** Builds the ffprobe layer through its Makefile and runs the binary the way Lambda does: alone in an otherwise empty root filesystem. */
import { execFile, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const LAYER_DIR = path.join(REPO_ROOT, 'layers', 'ffprobe');
export type Arch = 'x86_64' | 'arm64';
export const ARCHES: Arch[] = ['x86_64', 'arm64'];
/** The architecture this machine runs natively; the other one runs under qemu-user. */
export const HOST_ARCH: Arch = os.arch() === 'arm64' ? 'arm64' : 'x86_64';

/** Generous: a cold build of one architecture takes a few minutes on 2 cores, plus apt installs. */
export const BUILD_TIMEOUT_MS = 25 * 60 * 1000;

function fail(message: string): never {
  throw new Error(`ffprobe layer tests: ${message}`);
}

/** Chroot and apt both need root; say so instead of skipping. */
export function requireRoot(): void {
  if (process.getuid?.() !== 0) fail('must run as root (they chroot the binary into an empty root filesystem)');
}

/** Installs Debian packages the tests use (fixture encoder, qemu, openssl) when missing. */
export function ensureDebPackages(packages: string[]): void {
  const missing = packages.filter(
    // biome-ignore lint/suspicious/noTemplateCurlyInString: ${Status} is dpkg-query's field syntax, not a template
    (p) => spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' }).stdout !== 'install ok installed',
  );
  if (missing.length === 0) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', '--no-install-recommends', ...missing],
  ]) {
    const r = spawnSync('apt-get', args, { env, encoding: 'utf8', timeout: 15 * 60 * 1000 });
    if (r.status !== 0) fail(`apt-get ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  }
}

/**
 * Runs `make -C layers/ffprobe <arch>`: a cache hit when the binary for the current pins exists,
 * a full build otherwise. Returns the layer tree (…/build/<arch>) and make's combined output.
 */
export function buildLayer(arch: Arch): { layerRoot: string; output: string } {
  const r = spawnSync('make', ['-C', LAYER_DIR, arch], { encoding: 'utf8', timeout: BUILD_TIMEOUT_MS });
  const output = `${r.stdout}${r.stderr}`;
  if (r.status !== 0) fail(`make -C layers/ffprobe ${arch} failed (status ${r.status}, ${r.error ?? 'no spawn error'}):\n${output}`);
  return { layerRoot: path.join(LAYER_DIR, 'build', arch), output };
}

/** The environment handed to the binary is empty (no PATH), so chroot itself is found here. */
const CHROOT = ['/usr/sbin/chroot', '/usr/bin/chroot'].find((p) => existsSync(p)) ?? 'chroot';

/** GNU time, outside the root: it reports the peak RSS of the process it waits for, the one chroot becomes. */
const GNU_TIME = '/usr/bin/time';

export interface ProbeResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** Peak resident set in KiB, when the run was measured. */
  peakRssKiB?: number;
}

/** A root filesystem holding only the layer's binaries (and qemu for arm64 on another host), plus any extra files a test needs. */
export class EmptyRoot {
  readonly dir: string;
  private readonly emulator?: string;

  constructor(
    readonly arch: Arch,
    layerRoot: string,
    extraFiles: Record<string, string> = {},
  ) {
    this.dir = mkdtempSync(path.join(os.tmpdir(), `ffprobe-root-${arch}-`));
    copyFileSync(path.join(layerRoot, 'bin', 'ffprobe'), path.join(this.dir, 'ffprobe'));
    copyFileSync(path.join(layerRoot, 'bin', 'confine'), path.join(this.dir, 'confine'));
    if (arch !== HOST_ARCH) {
      const qemu = arch === 'arm64' ? 'qemu-aarch64-static' : 'qemu-x86_64-static';
      copyFileSync(path.join('/usr/bin', qemu), path.join(this.dir, qemu));
      this.emulator = `/${qemu}`;
    }
    for (const [inside, source] of Object.entries(extraFiles)) {
      mkdirSync(path.dirname(path.join(this.dir, inside)), { recursive: true });
      copyFileSync(source, path.join(this.dir, inside));
    }
  }

  /** True when the binaries run under qemu-user, which accepts RLIMIT_AS but does not apply it, and has no Landlock. */
  get emulated(): boolean {
    return this.emulator !== undefined;
  }

  /** Runs /ffprobe inside the root with an empty environment, asynchronously so in-process servers keep answering. */
  run(args: string[], timeoutMs = 60_000): Promise<ProbeResult> {
    return this.execute(this.emulator ? [this.emulator, '/ffprobe', ...args] : ['/ffprobe', ...args], timeoutMs);
  }

  /**
   * Runs /confine inside the root with `confineArgs` (options, `--`, /ffprobe and its arguments,
   * as the function builds them), under GNU time for the peak RSS. Under emulation confine execs the
   * emulator with /ffprobe: the kernel can't run the other architecture's binary itself.
   */
  runConfined(confineArgs: string[], timeoutMs = 60_000): Promise<ProbeResult> {
    const program = confineArgs.indexOf('--') + 1;
    const args = this.emulator ? [...confineArgs.slice(0, program), this.emulator, ...confineArgs.slice(program)] : confineArgs;
    return this.execute(this.emulator ? [this.emulator, '/confine', ...args] : ['/confine', ...args], timeoutMs, true);
  }

  private execute(command: string[], timeoutMs: number, measured = false): Promise<ProbeResult> {
    const report = path.join(this.dir, '..', `${path.basename(this.dir)}.time`);
    const [file, args] = measured ? [GNU_TIME, ['-f', '%M', '-o', report, CHROOT, this.dir, ...command]] : [CHROOT, [this.dir, ...command]];
    const started = process.hrtime.bigint();
    return new Promise((resolve) => {
      execFile(file, args, { env: {}, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        const e = error as (Error & { code?: number | string; signal?: NodeJS.Signals }) | null;
        // GNU time writes only to its report (-o), its "Command exited with non-zero status" line too: stderr stays the probe's.
        const peakRssKiB = measured ? Number(readFileSync(report, 'utf8').trim().split('\n').at(-1)) : undefined;
        if (measured) rmSync(report, { force: true });
        resolve({
          code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
          signal: e?.signal ?? null,
          stdout,
          stderr,
          ms,
          ...(peakRssKiB === undefined ? {} : { peakRssKiB }),
        });
      });
    });
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The probe the Lambda runs, minus its runtime hardening flags: the tests check what the binary itself refuses. */
export function probeArgs(url: string, extra: string[] = []): string[] {
  return ['-v', 'error', '-hide_banner', '-print_format', 'json', '-show_format', '-show_streams', ...extra, url];
}

export interface ProbeJson {
  format?: { format_name?: string; duration?: string; nb_streams?: number };
  streams?: Array<{ codec_type?: string; codec_name?: string; width?: number; height?: number; sample_rate?: string }>;
}

export function parseProbe(stdout: string): ProbeJson {
  return stdout.trim() === '' ? {} : (JSON.parse(stdout) as ProbeJson);
}
