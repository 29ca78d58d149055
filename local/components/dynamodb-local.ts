/**
 * AWS's DynamoDB Local, pinned in dynamodb-local/pom.xml and fetched from Maven Central (checksums
 * enforced) into a per-user cache, started as a supervised JVM on a free port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './constants';
import { freePort, track } from './lifecycle';

const DEFAULT_POM = path.join(__dirname, 'dynamodb-local', 'pom.xml');
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.6.1';
const MAIN_CLASS = 'com.amazonaws.services.dynamodbv2.local.main.ServerRunner';
/** DynamoDB Local 2.x is compiled for Java 17 (class file version 61). */
const MIN_JAVA = 17;
const INSTALLED_MARKER = '.installed';

/**
 * Runs the JVM in its own process group and kills it when our stdin pipe closes, which happens
 * however the Node process ends (even SIGKILL), so no DynamoDB Local outlives its parent.
 */
const SUPERVISOR = [
  'exec 3<&0',
  '"$@" 3<&- </dev/null &',
  'child=$!',
  `trap 'kill -TERM "$child" 2>/dev/null' TERM INT HUP`,
  '{ cat <&3 >/dev/null; kill -TERM "$child" 2>/dev/null; } &',
  'exec 3<&-',
  'wait "$child"; status=$?',
  // A trapped signal interrupts `wait` before the JVM has gone; keep waiting for its real status.
  'while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done',
  'exit $status',
].join('\n');

export type Log = (line: string) => void;

export interface DynamoDbLocalInstallOptions {
  /** Maven project pinning the version; defaults to the one next to this module. */
  pomPath?: string;
  /** Root of the install cache; default `${XDG_CACHE_HOME:-$HOME/.cache}/media-probe/dynamodb-local`. */
  cacheDir?: string;
}

export interface DynamoDbLocalOptions extends DynamoDbLocalInstallOptions {
  /** Persist tables here (created if missing); in memory when omitted. */
  dataDir?: string;
  log?: Log;
  /** How long to wait for the emulator to answer; default 60 s. */
  startTimeoutMs?: number;
}

export interface DynamoDbLocal {
  endpoint: string;
  /** The pinned DynamoDB Local version that is running. */
  version: string;
  stop(): Promise<void>;
}

/** The DynamoDB Local version pinned in the pom. */
export async function dynamoDbLocalVersion(pomPath = DEFAULT_POM): Promise<string> {
  const pom = await fs.readFile(pomPath, 'utf8');
  const match = /<dynamodb-local\.version>\s*([^<\s]+)\s*</.exec(pom);
  if (!match) throw new Error(`${pomPath}: no <dynamodb-local.version> property`);
  return match[1];
}

function defaultCacheRoot(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'media-probe', 'dynamodb-local');
}

const installs = new Map<string, Promise<string>>();

/**
 * Install the pinned DynamoDB Local into the cache unless it is already there; idempotent and safe
 * to call concurrently. Resolves to the directory holding the jars.
 */
export async function ensureDynamoDbLocal(log: Log = () => undefined, options: DynamoDbLocalInstallOptions = {}): Promise<string> {
  const pomPath = options.pomPath ?? DEFAULT_POM;
  const version = await dynamoDbLocalVersion(pomPath);
  const dir = path.join(options.cacheDir ?? defaultCacheRoot(), version);
  let install = installs.get(dir);
  if (!install) {
    install = installIfMissing(pomPath, version, dir, log);
    installs.set(dir, install);
    install.catch(() => installs.delete(dir));
  }
  return install;
}

async function installIfMissing(pomPath: string, version: string, dir: string, log: Log): Promise<string> {
  if (existsSync(path.join(dir, INSTALLED_MARKER))) return dir;
  log(`Installing DynamoDB Local ${version} from Maven Central into ${dir} (once)...`);
  await fs.mkdir(path.dirname(dir), { recursive: true });
  // Build beside the target and rename at the end, so an interrupted install never looks complete.
  const staging = `${dir}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  await fs.mkdir(staging, { recursive: true });
  try {
    // Maven runs on a copy so it never writes (target/, caches) into the repository.
    await fs.copyFile(pomPath, path.join(staging, 'pom.xml'));
    await run(
      'mvn',
      [
        '-B',
        '-q',
        // Fail, rather than warn, when a download does not match Maven Central's checksum.
        '--strict-checksums',
        '-f',
        path.join(staging, 'pom.xml'),
        `${DEPENDENCY_PLUGIN}:copy-dependencies`,
        `-DoutputDirectory=${path.join(staging, 'lib')}`,
        '-DincludeScope=runtime',
        // DynamoDB Local 2.x carries its own sqlite4java natives (linux x86_64/aarch64, macOS) in its jar.
        '-DexcludeTypes=so,dll,dylib',
      ],
      staging,
      'Maven (mvn) is needed to install DynamoDB Local; on Debian/Ubuntu: apt-get install maven',
    );
    const jars = await fs.readdir(path.join(staging, 'lib'));
    if (!jars.includes(`DynamoDBLocal-${version}.jar`)) throw new Error(`Maven did not produce DynamoDBLocal-${version}.jar`);
    await fs.writeFile(path.join(staging, INSTALLED_MARKER), `${version}\n`);
    try {
      await fs.rename(staging, dir);
    } catch (err) {
      // Another process finished first; its copy is as good as ours.
      if (!existsSync(path.join(dir, INSTALLED_MARKER))) throw err;
    }
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
  log(`DynamoDB Local ${version} installed.`);
  return dir;
}

/** Run a command to completion, failing with the tail of its output. */
function run(command: string, args: string[], cwd: string, missingHint: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-8000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? new Error(missingHint) : err));
    child.on('close', (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`${command} exited with ${code}:\n${output.trim()}`));
    });
  });
}

let javaChecked: Promise<void> | undefined;

function checkJava(): Promise<void> {
  javaChecked ??= run('java', ['-version'], os.tmpdir(), `Java ${MIN_JAVA}+ is needed for DynamoDB Local; on Debian/Ubuntu: apt-get install openjdk-17-jre-headless`).then(
    (output) => {
      const match = /version "(\d+)(?:\.(\d+))?/.exec(output);
      const major = match ? (match[1] === '1' ? Number(match[2]) : Number(match[1])) : NaN;
      if (!(major >= MIN_JAVA)) throw new Error(`DynamoDB Local needs Java ${MIN_JAVA}+, found: ${output.split('\n')[0]}`);
    },
  );
  javaChecked.catch(() => (javaChecked = undefined));
  return javaChecked;
}

/** Start DynamoDB Local (installing it first if needed) and wait until it answers API calls. */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const { log = () => undefined, startTimeoutMs = 60_000 } = options;
  const [libDir] = await Promise.all([ensureDynamoDbLocal(log, options), checkJava()]);
  const version = await dynamoDbLocalVersion(options.pomPath);
  if (options.dataDir) await fs.mkdir(options.dataDir, { recursive: true });

  // The port is picked before the JVM binds it, so another process can win the race; retry then.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const started = await launch(libDir, port, options.dataDir, startTimeoutMs);
    if (started.ok) return { endpoint: `http://127.0.0.1:${port}`, version, stop: started.stop };
    if (!started.portTaken || attempt >= 3) throw new Error(`DynamoDB Local did not start: ${started.reason}`);
  }
}

type Launch = { ok: true; stop: () => Promise<void> } | { ok: false; portTaken: boolean; reason: string };

async function launch(libDir: string, port: number, dataDir: string | undefined, timeoutMs: number): Promise<Launch> {
  const args = [
    // No hsperfdata files in /tmp, and C1 only: it starts noticeably faster and the emulator never runs long enough to profit from C2.
    '-XX:-UsePerfData',
    '-XX:TieredStopAtLevel=1',
    // Makes the JVM findable by name (`pgrep -f DynamoDBLocal`): its class path is a wildcard.
    '-Dmedia-probe.component=DynamoDBLocal',
    '-cp',
    path.join(libDir, 'lib', '*'),
    MAIN_CLASS,
    '-port',
    String(port),
    '-sharedDb',
    '-disableTelemetry',
    ...(dataDir ? ['-dbPath', path.resolve(dataDir)] : ['-inMemory']),
  ];
  const child = spawn('/bin/sh', ['-c', SUPERVISOR, 'DynamoDBLocal-supervisor', 'java', ...args], {
    cwd: libDir,
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let hasExited = false;
  void exited.then(() => (hasExited = true));

  let stopping: Promise<void> | undefined;
  const resource = {
    stop(): Promise<void> {
      stopping ??= (async () => {
        untrack();
        if (!hasExited) {
          signalGroup(child, 'SIGTERM');
          const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 10_000);
          await exited;
          clearTimeout(timer);
        }
        child.stdin?.destroy();
      })();
      return stopping;
    },
    stopSync(): void {
      if (!hasExited) signalGroup(child, 'SIGTERM');
    },
  };
  const untrack = track(resource);

  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      if (hasExited) {
        await resource.stop();
        return { ok: false, portTaken: /bind|address already in use/i.test(output), reason: output.trim() || 'exited' };
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(2_000) });
        return { ok: true, stop: resource.stop };
      } catch {
        await new Promise((r) => setTimeout(r, 150));
      }
    }
    await resource.stop();
    return { ok: false, portTaken: false, reason: `no answer within ${timeoutMs} ms\n${output.trim()}` };
  } finally {
    client.destroy();
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    // Negative pid: the supervisor, the JVM and the watchdog share the group created by `detached`.
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}
