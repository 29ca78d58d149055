/**
 * What the local stack's JVM components share: a Maven artifact pinned in a pom beside the code and
 * installed from Maven Central (checksums enforced) into the per-user cache, the Java version
 * check, and a supervised JVM that dies with the Node process that started it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { track } from './lifecycle';

export type Log = (line: string) => void;

const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.6.1';
const INSTALLED_MARKER = '.installed';
const OUTPUT_TAIL = 8000;

/**
 * Runs the JVM in its own process group and kills it when the lifeline (fd 3, a pipe from Node)
 * closes, which happens however the Node process ends (even SIGKILL), so no JVM outlives its
 * parent. The JVM gets the supervisor's stdin: /dev/null, or a protocol pipe from Node.
 */
const SUPERVISOR = [
  // An asynchronous command's stdin would be /dev/null; keep ours for the JVM on fd 4.
  'exec 4<&0',
  '"$@" <&4 3<&- 4<&- &',
  'child=$!',
  'exec 4<&-',
  `trap 'kill -TERM "$child" 2>/dev/null' TERM INT HUP`,
  '{ cat <&3 >/dev/null; kill -TERM "$child" 2>/dev/null; } &',
  'exec 3<&-',
  'wait "$child"; status=$?',
  // A trapped signal interrupts `wait` before the JVM has gone; keep waiting for its real status.
  'while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done',
  'exit $status',
].join('\n');

/** `${XDG_CACHE_HOME:-$HOME/.cache}/media-probe/<names…>`: installs live here, never in the repository. */
export function mediaProbeCacheDir(...names: string[]): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'media-probe', ...names);
}

/** The version a pom pins in `<property>`. */
export async function pinnedVersion(pomPath: string, property: string): Promise<string> {
  const pom = await fs.readFile(pomPath, 'utf8');
  const match = new RegExp(`<${property.replace(/\./g, '\\.')}>\\s*([^<\\s]+)\\s*<`).exec(pom);
  if (!match) throw new Error(`${pomPath}: no <${property}> property`);
  return match[1];
}

const builds = new Map<string, Promise<string>>();

/**
 * Builds `dir` unless a complete copy is already there; idempotent and safe to call concurrently,
 * from this process or others. Resolves to `dir`.
 */
export function buildOnce(
  dir: string,
  messages: { log: Log; building: string; built: string },
  build: (staging: string) => Promise<void>,
): Promise<string> {
  let pending = builds.get(dir);
  if (!pending) {
    pending = buildIfMissing(dir, messages, build);
    builds.set(dir, pending);
    pending.catch(() => builds.delete(dir));
  }
  return pending;
}

async function buildIfMissing(
  dir: string,
  messages: { log: Log; building: string; built: string },
  build: (staging: string) => Promise<void>,
): Promise<string> {
  if (existsSync(path.join(dir, INSTALLED_MARKER))) return dir;
  messages.log(messages.building);
  await fs.mkdir(path.dirname(dir), { recursive: true });
  // Build beside the target and rename at the end, so an interrupted build never looks complete.
  const staging = `${dir}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  await fs.mkdir(staging, { recursive: true });
  try {
    await build(staging);
    await fs.writeFile(path.join(staging, INSTALLED_MARKER), `${path.basename(dir)}\n`);
    try {
      await fs.rename(staging, dir);
    } catch (err) {
      // Another process finished first; its copy is as good as ours.
      if (!existsSync(path.join(dir, INSTALLED_MARKER))) throw err;
    }
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
  messages.log(messages.built);
  return dir;
}

/** A Maven artifact pinned in a pom beside the code, installed with its runtime dependencies. */
export interface PinnedMavenArtifact {
  /** Its name in messages, e.g. "DynamoDB Local". */
  name: string;
  pomPath: string;
  /** The pom property holding the pinned version. */
  versionProperty: string;
  /** The jar an install of that version must contain. */
  mainJar(version: string): string;
  /** Further arguments for `dependency:copy-dependencies`. */
  copyDependenciesArgs?: string[];
}

/** Maven 3.8's local repository has no locking, so this process runs one `mvn` at a time. */
let mavenQueue: Promise<unknown> = Promise.resolve();

/**
 * Install the pinned artifact and its runtime dependencies into `<cacheRoot>/<version>/lib` unless
 * they are already there. Resolves to `<cacheRoot>/<version>`.
 */
export async function ensurePinnedMavenArtifact(artifact: PinnedMavenArtifact, cacheRoot: string, log: Log): Promise<string> {
  const version = await pinnedVersion(artifact.pomPath, artifact.versionProperty);
  const dir = path.join(cacheRoot, version);
  return buildOnce(
    dir,
    {
      log,
      building: `Installing ${artifact.name} ${version} from Maven Central into ${dir} (once)...`,
      built: `${artifact.name} ${version} installed.`,
    },
    async (staging) => {
      // Maven runs on a copy so it never writes (target/, caches) into the repository.
      await fs.copyFile(artifact.pomPath, path.join(staging, 'pom.xml'));
      const copyDependencies = () =>
        run(
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
            ...(artifact.copyDependenciesArgs ?? []),
          ],
          staging,
        );
      const installed = mavenQueue.then(copyDependencies, copyDependencies);
      mavenQueue = installed.catch(() => undefined);
      await installed.catch((err: NodeJS.ErrnoException) => {
        throw err.code === 'ENOENT'
          ? new Error(`Maven (mvn) is needed to install ${artifact.name}; on Debian/Ubuntu: apt-get install maven`)
          : err;
      });
      const jars = await fs.readdir(path.join(staging, 'lib'));
      const mainJar = artifact.mainJar(version);
      if (!jars.includes(mainJar)) throw new Error(`Maven did not produce ${mainJar}`);
    },
  );
}

/** Run a command to completion, failing with the tail of its output (a missing command fails with its ENOENT error). */
export function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-OUTPUT_TAIL);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`${command} exited with ${code}:\n${output.trim()}`));
    });
  });
}

let javaVersionProbe: Promise<string> | undefined;

/** Fails unless `java` is on the PATH and at least `minimum`; `java -version` runs once per process. */
export async function requireJava(minimum: number, component: string): Promise<void> {
  if (!javaVersionProbe) {
    javaVersionProbe = run('java', ['-version'], os.tmpdir());
    javaVersionProbe.catch(() => (javaVersionProbe = undefined));
  }
  let output: string;
  try {
    output = await javaVersionProbe;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`Java ${minimum}+ is needed for ${component}; on Debian/Ubuntu: apt-get install openjdk-${minimum}-jre-headless`);
    }
    throw err;
  }
  const match = /version "(\d+)(?:\.(\d+))?/.exec(output);
  const major = match ? (match[1] === '1' ? Number(match[2]) : Number(match[1])) : NaN;
  if (!(major >= minimum)) throw new Error(`${component} needs Java ${minimum}+, found: ${output.split('\n')[0]}`);
}

export interface SupervisedJvmOptions {
  /** Names the JVM on its command line (`-Dmedia-probe.component=NAME`), so it can be found by name. */
  component: string;
  cwd: string;
  /** The class path, main class and its arguments (after the shared JVM options). */
  args: string[];
  /** The JVM speaks a protocol on stdin/stdout: both are the caller's, and only stderr goes into output(). */
  protocol?: boolean;
}

export interface SupervisedJvm {
  /** Resolves with the exit code once the JVM (and its supervisor) has exited. */
  readonly exited: Promise<number | null>;
  readonly hasExited: boolean;
  /** The last characters the JVM wrote: stderr, and stdout unless it speaks a protocol there. */
  output(): string;
  /** Stop the JVM (SIGTERM, SIGKILL after 10 s) and forget it; idempotent. */
  stop(): Promise<void>;
}

/** The JVM's own stdin and stdout, for a component that speaks a protocol on them. */
export interface JvmProtocolPipes {
  readonly stdin: Writable;
  readonly stdout: Readable;
}

/**
 * Start a JVM under the supervisor, tracked in the lifecycle registry so it is stopped on exit and
 * signals as well as by its own stop().
 */
export function startSupervisedJvm(options: SupervisedJvmOptions & { protocol: true }): SupervisedJvm & JvmProtocolPipes;
export function startSupervisedJvm(options: SupervisedJvmOptions): SupervisedJvm;
export function startSupervisedJvm(options: SupervisedJvmOptions): SupervisedJvm | (SupervisedJvm & JvmProtocolPipes) {
  const jvmArgs = [
    // No hsperfdata files in /tmp, and C1 only: it starts noticeably faster and the local components never run long enough to profit from C2.
    '-XX:-UsePerfData',
    '-XX:TieredStopAtLevel=1',
    // Makes the JVM findable by name (`pgrep -f component=NAME`): its class path is a wildcard.
    `-Dmedia-probe.component=${options.component}`,
    ...options.args,
  ];
  const child = spawn('/bin/sh', ['-c', SUPERVISOR, `${options.component}-supervisor`, 'java', ...jvmArgs], {
    cwd: options.cwd,
    detached: true,
    // fd 3 is the supervisor's lifeline.
    stdio: [options.protocol ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-OUTPUT_TAIL);
  };
  if (!options.protocol) child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const lifeline = child.stdio[3] as Writable;
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
        lifeline.destroy();
      })();
      return stopping;
    },
    stopSync(): void {
      if (!hasExited) signalGroup(child, 'SIGTERM');
    },
  };
  const untrack = track(resource);

  const jvm: SupervisedJvm = {
    exited,
    get hasExited() {
      return hasExited;
    },
    output: () => output,
    stop: resource.stop,
  };
  if (!options.protocol) return jvm;
  return Object.assign(jvm, { stdin: child.stdin as Writable, stdout: child.stdout as Readable });
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
