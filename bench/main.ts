/**
 * `npm run bench [-- --quick]`: generates the corpus, serves it from the local S3 endpoint,
 * measures our ffprobe invocation against the seed's command, times the local pipeline end to
 * end, bundles the functions, and writes BENCHMARKS.md, bench/chart.svg and bench/out/results.json.
 */
import { execFile } from 'node:child_process';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import * as esbuild from 'esbuild';
import { presignAsset } from '../functions/lib/presign';
import { dynamoDbLocalVersion } from '../local/components/dynamodb-local';
import { hostFfprobe } from '../local/ffprobe-binary';
import { type LocalStack, startLocalStack } from '../local/stack';
import { localTemplate } from '../local/template';
import { benchmarkBundles } from './bundles';
import { renderChart } from './chart';
import { ffmpegVersion, type GeneratedFile, generateCorpus } from './corpus';
import { generateCertificates, type LinkShape, OPENSSL, startShapedLink } from './link';
import { type LinkRun, measureOverLink, startProbeWorker } from './link-probe';
import { TARGET_RTT_MS } from './link-report';
import { benchmarkPipeline } from './pipeline';
import { GNU_TIME, measureFile, STRACE } from './probe';
import { type BenchResults, type CorpusEntry, renderReport, renderTargets } from './report';
import { formatBytes, median } from './stats';

const run = promisify(execFile);
const REPOSITORY_ROOT = path.resolve(__dirname, '..');
const CHART_PATH = path.join('bench', 'chart.svg');
const LINK_CHART_PATH = path.join('bench', 'chart-link.svg');
/** The link shapes the probe is measured over: a round trip within a region's zones, between regions nearby, and across an ocean. */
const LINK_SHAPES: LinkShape[] = [2, 10, 40].map((rttMs) => ({ rttMs, bytesPerSecond: 50e6 }));
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/** Input options tried on our invocation; each result is only usable if the metadata stays identical. */
const TUNING = [
  { option: '-probesize', value: '65536' },
  { option: '-probesize', value: '262144' },
  { option: '-probesize', value: '1000000' },
  { option: '-probesize', value: '2000000' },
  { option: '-analyzeduration', value: '500000' },
  { option: '-analyzeduration', value: '1000000' },
  { option: '-analyzeduration', value: '2000000' },
];

interface Settings {
  quick: boolean;
  tracedRuns: number;
  timedRuns: number;
  initRuns: number;
  burst: number;
  batchRounds: number;
  singles: number;
  /** Inserts of the load run; none in the quick run. */
  load: number;
  /** Rounds of seed, direct and ours per file and link shape. */
  linkRuns: number;
}

function settingsFrom(argv: string[]): Settings {
  const unknown = argv.filter((a) => a !== '--quick');
  if (unknown.length) throw new Error(`unknown argument ${unknown[0]}; usage: npm run bench [-- --quick | --report-only]`);
  const quick = argv.includes('--quick');
  return quick
    ? { quick, tracedRuns: 3, timedRuns: 5, initRuns: 5, burst: 50, batchRounds: 2, singles: 2, load: 0, linkRuns: 2 }
    : { quick, tracedRuns: 7, timedRuns: 9, initRuns: 15, burst: 300, batchRounds: 5, singles: 4, load: 5000, linkRuns: 3 };
}

async function firstLine(command: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(command, args);
    return (stdout || stderr).split('\n')[0].trim();
  } catch {
    return 'unavailable';
  }
}

function requireTools(): void {
  for (const tool of [STRACE, GNU_TIME, OPENSSL]) {
    if (!existsSync(tool)) throw new Error(`${tool} is missing; on Debian: apt-get install ${path.basename(tool)}`);
  }
}

/** BENCHMARKS.md and its two charts, from one run's results. */
async function writeReport(results: BenchResults): Promise<void> {
  await writeFile(
    path.join(REPOSITORY_ROOT, CHART_PATH),
    renderChart(
      results.corpus
        .filter((f) => f.probe)
        .map((f) => ({
          label: f.key,
          family: f.family,
          sizeBytes: f.size,
          ours: { bytes: Math.min(...f.probe!.ours.bytes), wallMs: median(f.probe!.ours.wallMs) },
          seed: { bytes: Math.min(...f.probe!.seed.bytes), wallMs: median(f.probe!.seed.wallMs) },
        })),
      `media-probe ${results.mode} benchmark, ${results.date.slice(0, 10)}, ${results.machine.cores} × ${results.machine.cpu}; filled: ours, ring: seed's command`,
    ),
  );
  await writeFile(path.join(REPOSITORY_ROOT, LINK_CHART_PATH), linkChart(results));
  await writeFile(path.join(REPOSITORY_ROOT, 'BENCHMARKS.md'), renderReport(results));
}

/** Writes BENCHMARKS.md and the charts again from the last run's bench/out/results.json, measuring nothing: for a change to the report alone. */
async function reportOnly(): Promise<void> {
  const results = JSON.parse(await readFile(path.join(REPOSITORY_ROOT, 'bench', 'out', 'results.json'), 'utf8')) as BenchResults;
  await writeReport(results);
  log(`BENCHMARKS.md and the charts written again from the run of ${results.date}`);
}

async function main(argv: string[]): Promise<void> {
  if (argv.length === 1 && argv[0] === '--report-only') return reportOnly();
  const settings = settingsFrom(argv);
  requireTools();
  const began = Date.now();
  const loadBefore = os.loadavg();
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'media-probe-bench-'));
  const ffprobe = hostFfprobe(REPOSITORY_ROOT, log);
  const pipeSettings = localTemplate(path.join(REPOSITORY_ROOT, 'template.yaml')).pipe;
  let results: BenchResults;
  try {
    log(`bundling the functions and timing their initialisation (${settings.initRuns} fresh processes each)…`);
    const bundles = await benchmarkBundles(REPOSITORY_ROOT, path.join(scratch, 'bundles'), settings.initRuns);

    log('starting the local stack…');
    const stack = await startLocalStack({ repositoryRoot: REPOSITORY_ROOT, log });
    try {
      const corpus: CorpusEntry[] = [];
      const corpusDir = path.join(scratch, 'corpus');
      await mkdir(corpusDir);
      log(`generating the ${settings.quick ? 'quick' : 'full'} corpus and uploading it through the S3 API…`);
      await generateCorpus(corpusDir, settings.quick, async (file: GeneratedFile) => {
        const started = Date.now();
        const put = await stack.s3.send(
          new PutObjectCommand({ Bucket: stack.mediaBucket, Key: file.key, Body: createReadStream(file.path), ContentLength: file.size }),
        );
        const uploadMs = Date.now() - started;
        // The endpoint keeps its own copy; the big files must not pile up in the scratch directory.
        await rm(file.path, { force: true });
        const { path: _local, ...entry } = file;
        corpus.push({ ...entry, etag: String(put.ETag ?? '').replace(/"/g, ''), uploadMs });
        log(`  ${file.key}: ${formatBytes(file.size)}, uploaded in ${(uploadMs / 1000).toFixed(1)} s`);
      });

      const probeScratch = path.join(scratch, 'probe');
      await mkdir(probeScratch);
      for (const file of corpus) {
        log(`measuring ffprobe on ${file.key} (ours vs seed, ${settings.tracedRuns} traced + ${settings.timedRuns} timed runs each)…`);
        const presign = async () => (await presignAsset(stack.s3, { movieId: '0', bucket: stack.mediaBucket, key: file.key }, 600)).url;
        file.probe = await measureFile(presign, {
          ffprobe,
          scratchDir: probeScratch,
          tracedRuns: settings.tracedRuns,
          timedRuns: settings.timedRuns,
          tuning: TUNING,
        });
        file.seedOutputBytes = Buffer.byteLength(JSON.stringify(file.probe.seed.output ?? {}, null, 4));
      }

      await measureLink(stack, corpus, ffprobe, scratch, settings.linkRuns);

      const pipeline = await benchmarkPipeline(
        stack,
        REPOSITORY_ROOT,
        {
          keys: corpus.map((f) => f.key),
          load: settings.load,
          // The small files (the quick corpus): the load run is about the pipeline, not ffprobe on 1 GB files.
          loadKeys: corpus.filter((f) => !f.fullOnly).map((f) => f.key),
          burst: settings.burst,
          batchRounds: settings.batchRounds,
          singles: settings.singles,
          batchSize: pipeSettings.batchSize,
          batchingWindowSeconds: pipeSettings.batchingWindowSeconds,
          otherBatchingWindows: [0, 1, 2].filter((s) => s !== pipeSettings.batchingWindowSeconds),
        },
        log,
      );

      const layerBinaries = Object.fromEntries(
        ['x86_64', 'arm64'].flatMap((arch) => {
          const binary = path.join(REPOSITORY_ROOT, 'layers', 'ffprobe', 'build', arch, 'bin', 'ffprobe');
          return existsSync(binary) ? [[arch, statSync(binary).size]] : [];
        }),
      );
      results = {
        mode: settings.quick ? 'quick' : 'full',
        date: new Date().toISOString(),
        durationS: 0,
        machine: {
          cpu: os.cpus()[0]?.model ?? 'unknown',
          cores: os.cpus().length,
          memoryBytes: os.totalmem(),
          kernel: `${os.type()} ${os.release()} ${os.arch()}`,
          loadBefore,
          loadAfter: os.loadavg(),
        },
        versions: {
          node: process.version,
          ffprobe: await firstLine(ffprobe, ['-hide_banner', '-version']),
          ffmpeg: await ffmpegVersion(),
          dynamodbLocal: await dynamoDbLocalVersion(),
          strace: await firstLine(STRACE, ['-V']),
          esbuild: esbuild.version,
        },
        settings: {
          tracedRuns: settings.tracedRuns,
          timedRuns: settings.timedRuns,
          initRuns: settings.initRuns,
          tuning: TUNING,
          pipe: pipeSettings,
        },
        corpus,
        pipeline,
        bundles,
        layerBinaries,
        chartPath: CHART_PATH,
        linkChartPath: LINK_CHART_PATH,
      };
    } finally {
      await stack.stop();
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  results.durationS = Math.round((Date.now() - began) / 1000);

  const outDir = path.join(REPOSITORY_ROOT, 'bench', 'out');
  await mkdir(outDir, { recursive: true });
  const forJson = { ...results, corpus: results.corpus.map((f) => ({ ...f, probe: f.probe && withoutOutputs(f.probe) })) };
  await writeFile(path.join(outDir, 'results.json'), `${JSON.stringify(forJson, null, 2)}\n`);
  await writeReport(results);
  log(`done in ${results.durationS} s: BENCHMARKS.md, ${CHART_PATH}, ${LINK_CHART_PATH}, bench/out/results.json`);
  process.stdout.write(`${renderTargets(results)}\n`);
}

/** Every corpus file over the shaped TLS link, at each shape: the seed's command, our invocation, and the step's probe through the relay. */
async function measureLink(stack: LocalStack, corpus: CorpusEntry[], ffprobe: string, scratch: string, runs: number): Promise<void> {
  const certificates = await generateCertificates(await mkdtemp(path.join(scratch, 'tls-')));
  const link = await startShapedLink(Number(new URL(stack.endpoints.s3).port), certificates, LINK_SHAPES[0]);
  const shaped = new S3Client({
    region: await stack.s3.config.region(),
    credentials: await stack.s3.config.credentials(),
    endpoint: link.endpoint,
    forcePathStyle: true,
    requestHandler: { httpsAgent: new https.Agent({ ca: certificates.ca }) },
  });
  const worker = startProbeWorker();
  try {
    for (const file of corpus) {
      log(`probing ${file.key} over the shaped link (${LINK_SHAPES.map((s) => `${s.rttMs} ms`).join(', ')}; ${runs} rounds each)…`);
      file.link = [];
      for (const shape of LINK_SHAPES) {
        file.link.push(
          await measureOverLink(link, shape, {
            ffprobe,
            caFile: certificates.caFile,
            ca: certificates.ca,
            runs,
            worker,
            presign: async () => (await presignAsset(shaped, { movieId: '0', bucket: stack.mediaBucket, key: file.key }, 600)).url,
            requestsSince: (since) =>
              stack.s3Requests.filter((q) => q.key === file.key && q.operation === 'GetObject' && q.time >= since).length,
          }),
        );
      }
    }
  } finally {
    worker.stop();
    shaped.destroy();
    await link.stop();
  }
}

/** The chart of the link at the target shape: bytes over the link and wall time, ours (the step) vs the seed's command. */
function linkChart(results: BenchResults): string {
  const points = results.corpus.flatMap((f) => {
    const l = f.link?.find((m) => m.shape.rttMs === TARGET_RTT_MS);
    if (!l) return [];
    const side = (runs: LinkRun[]) => ({ bytes: median(runs.map((x) => x.bytesDown)), wallMs: median(runs.map((x) => x.wallMs)) });
    return [{ label: f.key, family: f.family, sizeBytes: f.size, ours: side(l.runs.ours), seed: side(l.runs.seed) }];
  });
  return renderChart(
    points,
    `media-probe ${results.mode} benchmark over a ${TARGET_RTT_MS} ms TLS link, ${results.date.slice(0, 10)}; filled: ours (the step through the relay, a cold function), ring: seed's command`,
    { bytes: 'Bytes over the link (median)', wallMs: 'Probe wall time (median)' },
  );
}

/** ffprobe's JSON stays out of results.json: it is large and the report only needs the comparisons. */
function withoutOutputs(probe: NonNullable<CorpusEntry['probe']>) {
  const { output: _o, ...ours } = probe.ours;
  const { output: _s, ...seed } = probe.seed;
  const { output: _u, ...untuned } = probe.untuned;
  return { ...probe, ours, seed, untuned };
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: Error) => {
    log(`failed: ${error.stack ?? error.message}`);
    process.exit(1);
  },
);
