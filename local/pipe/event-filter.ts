/**
 * The local pipe's filter: AWS's event-ruler (pinned in filter/pom.xml) in a small JVM helper
 * (filter/EventFilter.java), asked about a whole page of stream records in one round trip.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import {
  buildOnce,
  ensurePinnedMavenArtifact,
  type JvmProtocolPipes,
  type Log,
  mediaProbeCacheDir,
  requireJava,
  run,
  type SupervisedJvm,
  startSupervisedJvm,
} from '../components/jvm';

const FILTER_DIR = path.join(__dirname, 'filter');
const SOURCE = path.join(FILTER_DIR, 'EventFilter.java');
const MAIN_CLASS = 'EventFilter';
/** The Java the local stack already needs for DynamoDB Local; the helper is compiled for it. */
const JAVA_RELEASE = 17;
/** How much of an unexpected answer an error quotes. */
const QUOTED_ANSWER_LENGTH = 300;

export interface EventFilterOptions {
  /** The pipe's filter patterns, as JSON text the way the template's `FilterCriteria.Filters[].Pattern` holds them. */
  patterns: readonly string[];
  log?: Log;
}

/** A filter pattern event-ruler refuses: the local run fails at start with it, as creating the pipe would. */
export class InvalidFilterPatternError extends Error {
  constructor(
    readonly filterIndex: number,
    readonly pattern: string,
    /** event-ruler's own message. */
    readonly reason: string,
  ) {
    super(
      `the pipe's FilterCriteria.Filters[${filterIndex}].Pattern is not a valid event pattern: ${pattern}\nevent-ruler says: ${reason}`,
    );
    this.name = 'InvalidFilterPatternError';
  }
}

/** What the client needs of the helper process: its protocol pipes, its exit, its stderr and a way to stop it. */
export type EventFilterHelper = Pick<SupervisedJvm, 'exited' | 'output' | 'stop'> & JvmProtocolPipes;

/** A request or an answer: one JSON object a line. */
type Message = Record<string, unknown>;

interface Waiting {
  resolve(answer: Message): void;
  reject(error: Error): void;
}

/** Client of one helper process: line-delimited JSON requests, answered one line each, in order. */
export class EventFilter {
  /** Requests in the order they were written; the helper answers each with one line, in order. */
  private readonly waiting: Waiting[] = [];
  /** Set once the helper cannot be asked any more; every later request fails with it. */
  private failure?: Error;

  /**
   * Install event-ruler and compile the helper (each once per machine), start it and give it the
   * patterns; fails with InvalidFilterPatternError for a pattern event-ruler refuses.
   */
  static async start(options: EventFilterOptions): Promise<EventFilter> {
    const log = options.log ?? (() => undefined);
    const [ruler] = await Promise.all([
      ensurePinnedMavenArtifact(
        {
          name: 'event-ruler',
          pomPath: path.join(FILTER_DIR, 'pom.xml'),
          versionProperty: 'event-ruler.version',
          mainJar: (version) => `event-ruler-${version}.jar`,
        },
        mediaProbeCacheDir('event-ruler'),
        log,
      ),
      requireJava(JAVA_RELEASE, 'the local pipe filter (event-ruler)'),
    ]);
    const jars = path.join(ruler, 'lib');
    const classes = await compileHelper(jars, log);
    const helper = startSupervisedJvm({
      component: MAIN_CLASS,
      cwd: classes,
      protocol: true,
      args: ['-cp', [path.join(jars, '*'), classes].join(path.delimiter), MAIN_CLASS],
    });
    const filter = new EventFilter(helper);
    try {
      await filter.configure(options.patterns);
    } catch (error) {
      await filter.stop();
      throw error;
    }
    return filter;
  }

  constructor(private readonly helper: EventFilterHelper) {
    // Writing to a helper that has died fails; its exit (below) says why, so the write error itself adds nothing.
    helper.stdin.on('error', () => undefined);
    createInterface({ input: helper.stdout }).on('line', (line) => this.answered(line));
    void helper.exited.then((code) => {
      const stderr = helper.output().trim();
      this.fail(new Error(`the pipe filter (event-ruler) exited with code ${code}${stderr ? `:\n${stderr}` : ''}`));
    });
  }

  /**
   * Whether each record passes the pipe's filters (any of them matches, or there are none), in the
   * order given; one round trip for the whole list.
   */
  async matches(records: readonly object[]): Promise<boolean[]> {
    if (records.length === 0) return [];
    const answer = await this.request({ match: records.map((record) => JSON.stringify(record)) });
    if (typeof answer.error === 'string') throw new Error(`the pipe filter (event-ruler) could not match the records: ${answer.error}`);
    const matches = answer.matches;
    if (!Array.isArray(matches) || matches.length !== records.length || !matches.every((m) => typeof m === 'boolean')) {
      throw this.broken(`the pipe filter answered ${records.length} records with ${clip(JSON.stringify(answer))}`);
    }
    return matches;
  }

  /** Stop the helper; later requests fail. */
  async stop(): Promise<void> {
    this.fail(new Error('the pipe filter is stopped'));
    await this.helper.stop();
  }

  private async configure(patterns: readonly string[]): Promise<void> {
    const answer = await this.request({ configure: patterns });
    if (typeof answer.error === 'string') {
      if (typeof answer.filter === 'number') throw new InvalidFilterPatternError(answer.filter, patterns[answer.filter], answer.error);
      throw new Error(`the pipe filter (event-ruler) refused its configuration: ${answer.error}`);
    }
    if (answer.configured !== patterns.length)
      throw this.broken(`the pipe filter answered ${patterns.length} patterns with ${clip(JSON.stringify(answer))}`);
  }

  private request(body: Message): Promise<Message> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.helper.stdin.write(`${JSON.stringify(body)}\n`);
    });
  }

  private answered(line: string): void {
    const waiting = this.waiting.shift();
    let answer: unknown;
    try {
      answer = JSON.parse(line);
    } catch {
      // Not JSON: handled below like any answer outside the protocol.
    }
    if (!waiting || typeof answer !== 'object' || answer === null || Array.isArray(answer)) {
      const error = this.broken(`the pipe filter said ${JSON.stringify(clip(line))}${waiting ? '' : ' without being asked'}`);
      waiting?.reject(error);
      return;
    }
    waiting.resolve(answer as Message);
  }

  /** The helper left the protocol: nothing it says afterwards can be matched to a request, so it is stopped. */
  private broken(message: string): Error {
    const error = new Error(message);
    this.fail(error);
    return error;
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const waiting of this.waiting.splice(0)) waiting.reject(error);
    void this.helper.stop();
  }
}

/**
 * Compiled once into the cache rather than run with Java's single-file source launcher (`java -cp
 * 'lib/*' EventFilter.java`), which compiles the source on every start: measured on a 2-core
 * machine, the launcher takes about 0.8 s (1.3 s of CPU) and 100 MB to its first answer, the
 * compiled class about 0.25 s and 60 MB. Startup runs beside DynamoDB Local's, on the same cores.
 */
async function compileHelper(jarsDir: string, log: Log): Promise<string> {
  const source = await fs.readFile(SOURCE);
  const jars = (await fs.readdir(jarsDir)).filter((name) => name.endsWith('.jar')).sort();
  // A changed helper, event-ruler version or target Java gets its own directory.
  const digest = createHash('sha256')
    .update(source)
    .update(`\n${jars.join('\n')}\n${JAVA_RELEASE}`)
    .digest('hex')
    .slice(0, 16);
  const dir = mediaProbeCacheDir('event-filter', digest);
  return buildOnce(
    dir,
    { log, building: `Compiling the pipe filter helper into ${dir} (once)...`, built: 'Pipe filter helper compiled.' },
    async (staging) => {
      // The compiler module rather than `javac`: Debian's JRE package (what setup installs) has the module but not the javac command.
      const args = ['-m', 'jdk.compiler/com.sun.tools.javac.Main', '--release', String(JAVA_RELEASE), '-d', staging];
      // javac run as a module does not expand `lib/*`, so the class path names every jar.
      args.push('-cp', jars.map((jar) => path.join(jarsDir, jar)).join(path.delimiter), SOURCE);
      await run('java', args, staging).catch((error: Error) => {
        throw new Error(
          `compiling ${path.basename(SOURCE)} failed (it needs the jdk.compiler module: a JDK, or Debian's openjdk-${JAVA_RELEASE}-jre-headless): ${error.message}`,
        );
      });
    },
  );
}

function clip(text: string): string {
  return text.length > QUOTED_ANSWER_LENGTH ? `${text.slice(0, QUOTED_ANSWER_LENGTH)}…` : text;
}
