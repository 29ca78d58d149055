/**
 * What a process started the way the probe function starts ffprobe can still reach, measured on this
 * machine's kernel: support/escape-attempts.c stands in for a compromised ffprobe, first as the
 * function used to start it (an empty environment, nothing else), then through the layer's confine
 * with the function's own arguments. Its parent is a Node.js process holding AWS credentials in its
 * environment, as Lambda's runtime does.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BUILD_TIMEOUT_MS, buildLayer, ensureDebPackages, HOST_ARCH, REPO_ROOT, requireRoot } from './support/layer';

const SECRET = 'layer-test-secret-access-key';

let work: string;
let landlockAbi: number;
let unconfined: Record<string, string>;
let confined: Record<string, string>;

/**
 * Runs the stand-in from a fresh Node.js process whose environment holds credentials: once spawned
 * bare with ffprobe's environment, once through runFfprobe. Returns the tags each run reported.
 */
function attemptsFromAParentWithCredentials(standIn: string): { unconfined: Record<string, string>; confined: Record<string, string> } {
  const script = `
    require('tsx/cjs/api').register();
    const { spawnSync } = require('node:child_process');
    const { ffprobeEnvironment, runFfprobe } = require(${JSON.stringify(path.join(REPO_ROOT, 'functions/lib/ffprobe-command'))});
    const tags = (json) => JSON.parse(json).streams[0].tags;
    const bare = spawnSync(${JSON.stringify(standIn)}, [], { env: ffprobeEnvironment(), encoding: 'utf8' });
    runFfprobe(${JSON.stringify(standIn)}, 'http://127.0.0.1/x.mp4', { timeoutMs: 20000, maxOutputBytes: 65536, memoryBudgetMiB: 768 })
      .then((result) => process.stdout.write(JSON.stringify({ unconfined: tags(bare.stdout), confined: result.output.streams[0].tags })))
      .catch((error) => { console.error(error); process.exit(1); });`;
  const credentials = { AWS_ACCESS_KEY_ID: 'ASIALAYERTEST', AWS_SECRET_ACCESS_KEY: SECRET, AWS_SESSION_TOKEN: 'layer-test-token' };
  const r = spawnSync(process.execPath, ['-e', script], { cwd: REPO_ROOT, env: { ...process.env, ...credentials }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the parent process failed:\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

beforeAll(() => {
  requireRoot();
  ensureDebPackages(['gcc', 'libc6-dev']);
  const { layerRoot } = buildLayer(HOST_ARCH);
  work = mkdtempSync(path.join(os.tmpdir(), 'confine-test-'));
  // runFfprobe finds confine beside ffprobe, as /opt/bin holds both.
  copyFileSync(path.join(layerRoot, 'bin', 'confine'), path.join(work, 'confine'));
  const standIn = path.join(work, 'ffprobe');
  execFileSync('gcc', ['-static', '-O2', '-o', standIn, path.join(__dirname, 'support', 'escape-attempts.c')]);
  landlockAbi = Number(/^landlock_abi=(\d+)$/m.exec(execFileSync(path.join(work, 'confine'), ['--status'], { encoding: 'utf8' }))?.[1]);
  ({ unconfined, confined } = attemptsFromAParentWithCredentials(standIn));
  console.log(
    `[confine ${HOST_ARCH}, Landlock ABI ${landlockAbi}] unconfined: ${JSON.stringify(unconfined)}\nconfined: ${JSON.stringify(confined)}`,
  );
}, BUILD_TIMEOUT_MS);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('started bare with an empty environment, the child still reads the credentials in its parent’s environment', () => {
  expect(unconfined).toMatchObject({ parent_environ: 'readable, holds the secret', no_new_privs: 'not set', address_space: 'unlimited' });
});

test('through confine, it has no inherited descriptors, no new privileges, the memory budget and its own process group', () => {
  expect(confined).toMatchObject({ inherited_fds: 'none', no_new_privs: 'set', address_space: '768 MiB', own_process_group: 'yes' });
});

// Landlock is detected at run time: what holds depends on the kernel's ABI, and each test says what
// holds without it too (confine then still does everything above).
describe('Landlock', () => {
  test('with it, the child reads no file but those it was given: not the parent’s environment, not /proc, not /etc/passwd', () => {
    if (landlockAbi === 0) {
      expect(confined.parent_environ).toBe('readable, holds the secret');
      return;
    }
    expect(confined).toMatchObject({
      parent_environ: 'Permission denied',
      init_environ: 'Permission denied',
      etc_passwd: 'Permission denied',
      list_proc: 'Permission denied',
    });
  });

  test('with it, the child writes no file and executes nothing else', () => {
    const denied = landlockAbi > 0 ? 'Permission denied' : 'allowed';
    expect(confined).toMatchObject({ write_tmp: denied, exec_shell: denied });
  });

  test('from ABI 4, the child connects to no TCP port but the URL’s and DNS’s (not to a runtime API on 9001)', () => {
    expect(confined.connect_port_9001).toBe(landlockAbi >= 4 ? 'Permission denied' : 'Connection refused');
  });

  test('from ABI 6, the child cannot signal its parent', () => {
    expect(confined.signal_parent).toBe(landlockAbi >= 6 ? 'Operation not permitted' : 'allowed');
  });
});
