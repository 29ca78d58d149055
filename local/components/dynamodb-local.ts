/**
 * AWS's DynamoDB Local, pinned in dynamodb-local/pom.xml and fetched from Maven Central (checksums
 * enforced) into a per-user cache, started as a supervised JVM on a free port.
 */

import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './constants';
import { ensurePinnedMavenArtifact, type Log, mediaProbeCacheDir, pinnedVersion, requireJava, startSupervisedJvm } from './jvm';
import { freePort } from './lifecycle';

const DEFAULT_POM = path.join(__dirname, 'dynamodb-local', 'pom.xml');
const VERSION_PROPERTY = 'dynamodb-local.version';
const MAIN_CLASS = 'com.amazonaws.services.dynamodbv2.local.main.ServerRunner';
/** DynamoDB Local 2.x is compiled for Java 17 (class file version 61). */
const MIN_JAVA = 17;

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
export function dynamoDbLocalVersion(pomPath = DEFAULT_POM): Promise<string> {
  return pinnedVersion(pomPath, VERSION_PROPERTY);
}

/**
 * Install the pinned DynamoDB Local into the cache unless it is already there; idempotent and safe
 * to call concurrently. Resolves to the directory holding the jars.
 */
export function ensureDynamoDbLocal(log: Log = () => undefined, options: DynamoDbLocalInstallOptions = {}): Promise<string> {
  return ensurePinnedMavenArtifact(
    {
      name: 'DynamoDB Local',
      pomPath: options.pomPath ?? DEFAULT_POM,
      versionProperty: VERSION_PROPERTY,
      mainJar: (version) => `DynamoDBLocal-${version}.jar`,
      // DynamoDB Local 2.x carries its own sqlite4java natives (linux x86_64/aarch64, macOS) in its jar.
      copyDependenciesArgs: ['-DexcludeTypes=so,dll,dylib'],
    },
    options.cacheDir ?? mediaProbeCacheDir('dynamodb-local'),
    log,
  );
}

/** Start DynamoDB Local (installing it first if needed) and wait until it answers API calls. */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const { log = () => undefined, startTimeoutMs = 60_000 } = options;
  const [libDir] = await Promise.all([ensureDynamoDbLocal(log, options), requireJava(MIN_JAVA, 'DynamoDB Local')]);
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
  const jvm = startSupervisedJvm({
    component: 'DynamoDBLocal',
    cwd: libDir,
    args: [
      '-cp',
      path.join(libDir, 'lib', '*'),
      MAIN_CLASS,
      '-port',
      String(port),
      '-sharedDb',
      '-disableTelemetry',
      ...(dataDir ? ['-dbPath', path.resolve(dataDir)] : ['-inMemory']),
    ],
  });

  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      if (jvm.hasExited) {
        await jvm.stop();
        return { ok: false, portTaken: /bind|address already in use/i.test(jvm.output()), reason: jvm.output().trim() || 'exited' };
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(2_000) });
        return { ok: true, stop: jvm.stop };
      } catch {
        await sleep(150);
      }
    }
    await jvm.stop();
    return { ok: false, portTaken: false, reason: `no answer within ${timeoutMs} ms\n${jvm.output().trim()}` };
  } finally {
    client.destroy();
  }
}
