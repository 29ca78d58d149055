/** The capacity model (bench/capacity.ts): each path's bounds, the one that binds, and the analysis time it builds from measurements. */
import { analysisTime, burstDrain, distributedMapBackfill, executionSeconds, laptopBackfill, type ModelInputs } from '../../bench/capacity';

const inputs: ModelInputs = {
  analysis: { p50Ms: 400, p95Ms: 500 },
  batchSize: 10,
  shards: 4,
  parallelization: 4,
  lambdaConcurrency: 1000,
  pipeConcurrency: 1000,
  tableWriteUnits: 4000,
  writeUnitsPerRow: 5,
  s3RequestsPerSecond: 5500,
  s3RequestsPerRow: 4,
};

describe('the capacity model', () => {
  it('times an execution by its slowest row, a lone row by the typical one', () => {
    expect(executionSeconds(inputs)).toBe(0.5);
    expect(executionSeconds({ ...inputs, batchSize: 1 })).toBe(0.4);
  });

  it('drains a burst at shards × ParallelizationFactor executions at once, while nothing else binds', () => {
    const drain = burstDrain(10_000, inputs);
    // 16 executions of 10 rows every 0.5 s: 320 rows/s.
    expect(drain.binding.rowsPerSecond).toBe(320);
    expect(drain.binding.limit).toMatch(/^pipe: 4 shards × ParallelizationFactor 4 = 16 executions/);
    expect(drain.seconds).toBeCloseTo(10_000 / 320);
  });

  it('caps the pipe at the account’s pipe concurrency', () => {
    const drain = burstDrain(10_000, { ...inputs, shards: 400, parallelization: 10, pipeConcurrency: 1000 });
    const pipe = drain.bounds.find((bound) => bound.limit.startsWith('pipe'));
    expect(pipe?.rowsPerSecond).toBe((1000 * 10) / 0.5);
  });

  it('lets the table’s writes bind a backfill that could start faster', () => {
    const backfill = distributedMapBackfill(1_000_000, inputs, 100, 0);
    // Map: 100 × 10 / 0.5 = 2,000 rows/s; the table: 4,000 / 5 = 800 rows/s.
    expect(backfill.binding.limit).toMatch(/^table writes/);
    expect(backfill.seconds).toBe(1250);
  });

  it('lets the backfill machine’s concurrency bind, each execution paying the .sync overhead', () => {
    const backfill = distributedMapBackfill(1_000_000, inputs, 20, 0.5);
    // 20 × 10 / (0.5 + 0.5) = 200 rows/s, under the table's 800.
    expect(backfill.binding.limit).toMatch(/^BackfillConcurrency \(20 segments/);
    expect(backfill.seconds).toBe(5000);
  });

  it('paces today’s backfill by its --rate', () => {
    const backfill = laptopBackfill(1_000_000, inputs, 2);
    expect(backfill.binding.limit).toMatch(/--rate 2/);
    expect(backfill.seconds).toBe(50_000);
  });

  it('adds the relay’s TLS connection, a round trip and S3’s first byte per GET, and the same for HeadObject and UpdateItem', () => {
    const time = analysisTime(
      { presignMs: [10, 10, 10], ffprobeMs: [100, 200, 300], restMs: [20, 20, 20], probeRequests: [1, 3, 3] },
      { rttMs: 2, firstByteMs: 20 },
    );
    // 2 × 2 (TCP and TLS) + (3 GETs + 2) × (2 + 20) = 4 + 110 = 114 ms on top of the local 230 ms.
    expect(time.p50Ms).toBe(230 + 114);
  });
});
