/**
 * The capacity model of docs/capacity.md: how long the stream path takes to drain a burst of
 * inserts, and a backfill of N rows, and which limit binds, from the step timings `npm run bench`
 * measured (bench/out/results.json) and AWS's published quotas (cited in docs/capacity.md).
 *
 *   npm run capacity [-- --burst 10000 --rows 1000000 --shards 4 --parallelization 4 …]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { LinkMeasurement } from './link-probe';
import { TARGET_RTT_MS } from './link-report';
import type { PipelineResult } from './pipeline';
import type { FileMeasurement } from './probe';
import { median, percentile } from './stats';

/** What one analysis costs on AWS, from the local measurements and the assumed network. */
export interface AnalysisTime {
  /** One row: presign, ffprobe (with its requests over the network) and update, one after the other. */
  p50Ms: number;
  /** The slowest row of a batch sets the batch's time: the Map waits for all of them. */
  p95Ms: number;
}

export interface ModelInputs {
  analysis: AnalysisTime;
  /** Rows per execution (the pipe's batch size; the backfill's batches). */
  batchSize: number;
  /** DynamoDB Streams shards the burst lands on (AWS does not publish how many; an assumption). */
  shards: number;
  /** The pipe's ParallelizationFactor. */
  parallelization: number;
  /** Concurrent Lambda executions the account may give the stack (default quota 1,000). */
  lambdaConcurrency: number;
  /** Concurrent pipe executions in the account (1,000, or 3,000 in us-east-1, us-west-2, eu-west-1). */
  pipeConcurrency: number;
  /** Write request units per second the table takes (a new on-demand table: 4,000). */
  tableWriteUnits: number;
  /** Write units of one analysis's UpdateItem: 1 per KB of the item it writes. */
  writeUnitsPerRow: number;
  /** S3 GET and HEAD requests per second of one prefix (5,500), and the requests one analysis makes. */
  s3RequestsPerSecond: number;
  s3RequestsPerRow: number;
}

export interface Bound {
  limit: string;
  rowsPerSecond: number;
}

export interface Prediction {
  rows: number;
  seconds: number;
  bounds: Bound[];
  /** The bound with the lowest rate: what the time is set by. */
  binding: Bound;
}

/** Seconds one execution of `batchSize` rows takes: the Map runs them at once, so its slowest row (a row's time includes the state transitions). */
export function executionSeconds(inputs: Pick<ModelInputs, 'analysis' | 'batchSize'>): number {
  return (inputs.batchSize > 1 ? inputs.analysis.p95Ms : inputs.analysis.p50Ms) / 1000;
}

/** The limits every path shares: Lambda concurrency, the table's writes, S3's requests per prefix. */
function sharedBounds(inputs: ModelInputs): Bound[] {
  const perRowSeconds = inputs.analysis.p50Ms / 1000;
  return [
    // One Lambda runs per row at any time (presign, then ffprobe, then update).
    { limit: `Lambda concurrency (${inputs.lambdaConcurrency})`, rowsPerSecond: inputs.lambdaConcurrency / perRowSeconds },
    {
      limit: `table writes (${inputs.tableWriteUnits} WRU/s, ${inputs.writeUnitsPerRow} per row)`,
      rowsPerSecond: inputs.tableWriteUnits / inputs.writeUnitsPerRow,
    },
    {
      limit: `S3 requests of one prefix (${inputs.s3RequestsPerSecond}/s, ${inputs.s3RequestsPerRow} per row)`,
      rowsPerSecond: inputs.s3RequestsPerSecond / inputs.s3RequestsPerRow,
    },
  ];
}

function predict(rows: number, bounds: Bound[]): Prediction {
  const binding = bounds.reduce((low, bound) => (bound.rowsPerSecond < low.rowsPerSecond ? bound : low));
  return { rows, seconds: rows / binding.rowsPerSecond, bounds, binding };
}

/**
 * A burst of `rows` inserts on the stream path: the pipe runs `parallelization` batches of each
 * shard at once, each a synchronous Express execution of `batchSize` rows.
 */
export function burstDrain(rows: number, inputs: ModelInputs): Prediction {
  const executions = Math.min(inputs.shards * inputs.parallelization, inputs.pipeConcurrency);
  return predict(rows, [
    {
      limit: `pipe: ${inputs.shards} shards × ParallelizationFactor ${inputs.parallelization} = ${executions} executions of ${inputs.batchSize} rows`,
      rowsPerSecond: (executions * inputs.batchSize) / executionSeconds(inputs),
    },
    ...sharedBounds(inputs),
  ]);
}

/** The operator's backfill today: `--rate` executions of 10 rows started per second, at most `--concurrency` starts in flight. */
export function laptopBackfill(rows: number, inputs: ModelInputs, rate: number): Prediction {
  return predict(rows, [
    { limit: `backfill --rate ${rate} (executions of 10 rows per second)`, rowsPerSecond: rate * 10 },
    ...sharedBounds(inputs),
  ]);
}

/**
 * The backfill state machine (statemachine/backfill.asl.json): `concurrency` segments at once, each
 * running one Express execution of `batchSize` rows after another, every execution followed by the
 * `.sync` integration, which adds `syncOverheadSeconds` to each (an assumption until measured on AWS).
 * The executions are started at up to 6,000 a second (Express StartExecution quota).
 */
export function distributedMapBackfill(rows: number, inputs: ModelInputs, concurrency: number, syncOverheadSeconds: number): Prediction {
  return predict(rows, [
    {
      limit: `BackfillConcurrency (${concurrency} segments, one execution of ${inputs.batchSize} rows each at a time, +${syncOverheadSeconds} s per .sync)`,
      rowsPerSecond: (concurrency * inputs.batchSize) / (executionSeconds(inputs) + syncOverheadSeconds),
    },
    { limit: 'Express StartExecution (6,000/s)', rowsPerSecond: 6000 * inputs.batchSize },
    ...sharedBounds(inputs),
  ]);
}

/** What the benchmark measured that the model needs: per-row step times with no queueing, and the probe's requests. */
export interface Measured {
  presignMs: number[];
  ffprobeMs: number[];
  /** Start to recorded minus presign and ffprobe: the update, the state transitions, the invocations. */
  restMs: number[];
  /** GETs the step's probe made per file: through the object relay over the benchmark's link (ffprobe's own requests for a run without the link). */
  probeRequests: number[];
}

export function measuredFrom(results: {
  pipeline: PipelineResult;
  corpus: Array<{ probe?: FileMeasurement; link?: LinkMeasurement[] }>;
}): Measured {
  const rows = results.pipeline.timings['full batches'] ?? [];
  if (rows.length === 0) throw new Error('bench/out/results.json has no "full batches" timings: run `npm run bench` first');
  return {
    presignMs: rows.map((row) => row.presignMs),
    ffprobeMs: rows.map((row) => row.ffprobeMs),
    restMs: rows.map((row) => row.recordedAt - row.startedAt - row.presignMs - row.ffprobeMs),
    probeRequests: results.corpus.flatMap((file) => {
      const relayed = file.link?.find((l) => l.shape.rttMs === TARGET_RTT_MS)?.runs.ours;
      if (relayed?.length) return [median(relayed.map((run) => run.requests))];
      return file.probe ? [median(file.probe.ours.requests)] : [];
    }),
  };
}

/**
 * One analysis on AWS: the local step times, plus the object relay's connection to S3 (TCP and TLS
 * handshakes: 2 round trips, a cold function's; a warm one reuses its connection), a round trip and
 * S3's time to first byte for each of the relay's GETs, and the same for presign's HeadObject and
 * the update's UpdateItem.
 */
export function analysisTime(measured: Measured, network: { rttMs: number; firstByteMs: number }): AnalysisTime {
  const requests = median(measured.probeRequests);
  const networkMs = 2 * network.rttMs + (requests + 2) * (network.rttMs + network.firstByteMs);
  const local = measured.presignMs.map((presign, i) => presign + measured.ffprobeMs[i] + measured.restMs[i]);
  return { p50Ms: median(local) + networkMs, p95Ms: percentile(local, 95) + networkMs };
}

const duration = (seconds: number): string =>
  seconds < 120 ? `${seconds.toFixed(0)} s` : seconds < 7200 ? `${(seconds / 60).toFixed(1)} min` : `${(seconds / 3600).toFixed(1)} h`;

export function renderPrediction(title: string, prediction: Prediction): string {
  const lines = [
    `${title}: ${prediction.rows.toLocaleString('en')} rows in ${duration(prediction.seconds)}, bound by ${prediction.binding.limit}`,
  ];
  for (const bound of [...prediction.bounds].sort((a, b) => a.rowsPerSecond - b.rowsPerSecond)) {
    lines.push(`  ${bound.rowsPerSecond.toFixed(0).padStart(8)} rows/s  ${bound.limit}`);
  }
  return lines.join('\n');
}

/** The model's inputs besides the measurements, as `npm run capacity` takes them, and their defaults (docs/capacity.md says why). */
export const DEFAULT_ASSUMPTIONS = {
  burst: 10_000,
  rows: 1_000_000,
  shards: 4,
  parallelization: 4,
  'batch-size': 10,
  'rtt-ms': 2,
  'first-byte-ms': 20,
  'lambda-concurrency': 1000,
  'pipe-concurrency': 1000,
  'table-write-units': 4000,
  'write-units-per-row': 5,
  'backfill-rate': 2,
  'backfill-concurrency': 60,
  'sync-overhead-s': 1,
};
export type Assumptions = typeof DEFAULT_ASSUMPTIONS;

/** The model's three predictions for a measurement and a set of assumptions, as text: what `npm run capacity` prints and BENCHMARKS.md shows. */
export function renderModel(measured: Measured, measuredOn: string, assumptions: Assumptions = DEFAULT_ASSUMPTIONS): string {
  const analysis = analysisTime(measured, { rttMs: assumptions['rtt-ms'], firstByteMs: assumptions['first-byte-ms'] });
  const inputs: ModelInputs = {
    analysis,
    batchSize: assumptions['batch-size'],
    shards: assumptions.shards,
    parallelization: assumptions.parallelization,
    lambdaConcurrency: assumptions['lambda-concurrency'],
    pipeConcurrency: assumptions['pipe-concurrency'],
    tableWriteUnits: assumptions['table-write-units'],
    writeUnitsPerRow: assumptions['write-units-per-row'],
    s3RequestsPerSecond: 5500,
    s3RequestsPerRow: median(measured.probeRequests) + 1,
  };
  return [
    `one analysis: ${analysis.p50Ms.toFixed(0)} ms at p50, ${analysis.p95Ms.toFixed(0)} ms at p95 (measured ${measuredOn}, plus the network); ` +
      `an execution of ${inputs.batchSize} rows: ${(executionSeconds(inputs) * 1000).toFixed(0)} ms`,
    '',
    renderPrediction('stream path, a burst', burstDrain(assumptions.burst, inputs)),
    '',
    renderPrediction('backfill today (the CLI)', laptopBackfill(assumptions.rows, inputs, assumptions['backfill-rate'])),
    '',
    renderPrediction(
      'backfill state machine (backfill --distributed)',
      distributedMapBackfill(assumptions.rows, inputs, assumptions['backfill-concurrency'], assumptions['sync-overhead-s']),
    ),
  ].join('\n');
}

function main(argv: string[]): void {
  const names = Object.keys(DEFAULT_ASSUMPTIONS) as Array<keyof Assumptions>;
  const { values } = parseArgs({
    args: argv,
    options: {
      results: { type: 'string', default: path.join(__dirname, 'out', 'results.json') },
      ...Object.fromEntries(names.map((name) => [name, { type: 'string' as const }])),
    },
  });
  const assumptions = { ...DEFAULT_ASSUMPTIONS };
  for (const name of names) {
    const given = (values as Record<string, string | undefined>)[name];
    if (given === undefined) continue;
    const value = Number(given);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, not ${given}`);
    assumptions[name] = value;
  }
  const results = JSON.parse(readFileSync(String(values.results), 'utf8'));
  console.log(renderModel(measuredFrom(results), results.date, assumptions));
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
}
