/** Renders BENCHMARKS.md from one benchmark run: targets first, then every measurement with how it was taken. */

import path from 'node:path';
import { FRAME_PROBE_PACKETS } from '../functions/lib/bitstream-hdr';
import type { PipeSettings } from '../local/template';
import type { BundleResult } from './bundles';
import { measuredFrom, renderModel } from './capacity';
import type { CorpusFile, GeneratedFile } from './corpus';
import { costModel, renderCost, templateInputs } from './cost';
import type { LinkMeasurement } from './link-probe';
import { linkChecks, linkSection } from './link-report';
import type { PipelineResult, ScenarioSummary } from './pipeline';
import type { FileMeasurement } from './probe';
import { formatBytes, formatMs, formatPercent, formatRatio, geometricMean, median, sum } from './stats';

export interface CorpusEntry extends CorpusFile {
  size: number;
  index?: GeneratedFile['index'];
  /** MD5 of the object as the S3 endpoint computed it on upload: the corpus fingerprint. */
  etag: string;
  uploadMs: number;
  probe?: FileMeasurement;
  /** The seed's stored `ffprobe_output`: its command's JSON, as ffprobe prints it (four-space indents). */
  seedOutputBytes?: number;
  /** The probe over the shaped TLS link, one measurement per link shape. */
  link?: LinkMeasurement[];
}

export interface BenchResults {
  mode: 'full' | 'quick';
  date: string;
  durationS: number;
  machine: { cpu: string; cores: number; memoryBytes: number; kernel: string; loadBefore: number[]; loadAfter: number[] };
  versions: { node: string; ffprobe: string; ffmpeg: string; dynamodbLocal: string; strace: string; esbuild: string };
  settings: {
    tracedRuns: number;
    timedRuns: number;
    initRuns: number;
    tuning: Array<{ option: string; value: string }>;
    pipe: PipeSettings;
  };
  corpus: CorpusEntry[];
  pipeline: PipelineResult;
  bundles: BundleResult[];
  layerBinaries: Record<string, number>;
  chartPath: string;
  linkChartPath?: string;
}

/** Families whose header or index tells ffprobe everything, so bytes read should not grow with file size. */
const INDEXED_FAMILIES = ['MP4 (index first)', 'MP4 (index last)', 'MOV', 'MKV'];
const RSS_LIMIT_KB = 150 * 1000;
const OVERHEAD_LIMIT = 0.25;
const INIT_LIMIT_MS = 40;

const table = (header: string[], rows: string[][]): string =>
  [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

const mark = (ok: boolean | undefined): string => (ok === undefined ? 'not measured' : ok ? 'met' : '**missed**');
const probed = (r: BenchResults) => r.corpus.filter((f): f is CorpusEntry & { probe: FileMeasurement } => f.probe !== undefined);
const m = median;
/** Bytes are reported as the fewest of the traced runs: see the method paragraph for why. */
const fewest = (values: number[]): number => Math.min(...values);
const upTo = (values: number[]): string =>
  Math.min(...values) === Math.max(...values) ? '' : ` (up to ${formatBytes(Math.max(...values))})`;

export interface Check {
  target: string;
  result: string;
  /** undefined when this run could not measure it. */
  ok: boolean | undefined;
  /** Replaces the plain met/missed when the answer has two parts. */
  verdict?: string;
}

interface Growth {
  family: string;
  small: CorpusEntry & { probe: FileMeasurement };
  large: CorpusEntry & { probe: FileMeasurement };
  sizeRatio: number;
  bytesRatio: number;
  /** Growth of the bytes read besides the `moov` box (MP4/MOV), or of all bytes when the index is not separate. */
  beyondIndexRatio: number;
}

/** Bytes read besides the `moov` box, which ffprobe must read whole and which grows with the duration. */
const beyondIndexBytes = (f: CorpusEntry & { probe: FileMeasurement }): number => fewest(f.probe.ours.bytes) - (f.index?.bytes ?? 0);

function sizeIndependence(r: BenchResults): Growth[] {
  const out: Growth[] = [];
  for (const family of INDEXED_FAMILIES) {
    const files = probed(r)
      .filter((f) => f.family === family)
      .sort((a, b) => a.size - b.size);
    if (files.length < 2) continue;
    const small = files[0];
    const large = files.at(-1)!;
    out.push({
      family,
      small,
      large,
      sizeRatio: large.size / small.size,
      bytesRatio: fewest(large.probe.ours.bytes) / fewest(small.probe.ours.bytes),
      beyondIndexRatio: beyondIndexBytes(large) / beyondIndexBytes(small),
    });
  }
  return out;
}

function describeGrowth(g: Growth): string {
  const base = `${g.family}: ${formatBytes(g.small.size)} → ${formatBytes(g.large.size)} (×${g.sizeRatio.toFixed(0)}) reads ${formatBytes(fewest(g.small.probe.ours.bytes))} → ${formatBytes(fewest(g.large.probe.ours.bytes))} (×${g.bytesRatio.toFixed(2)})`;
  if (!g.small.index || !g.large.index) return base;
  return `${base}, of which the moov ${formatBytes(g.small.index.bytes)} → ${formatBytes(g.large.index.bytes)} and the rest ${formatBytes(beyondIndexBytes(g.small))} → ${formatBytes(beyondIndexBytes(g.large))}`;
}

/** The run-to-run spread of bytes on one file, over both commands: differences within it are a read's slack, not a difference in what was fetched. */
const slack = (f: CorpusEntry & { probe: FileMeasurement }): number => {
  const range = (values: number[]) => Math.max(...values) - Math.min(...values);
  return Math.max(range(f.probe.ours.bytes), range(f.probe.seed.bytes));
};

function checks(r: BenchResults): Check[] {
  const files = probed(r);
  const diff = (f: (typeof files)[number]) => fewest(f.probe.ours.bytes) - fewest(f.probe.seed.bytes);
  const above = files.filter((f) => diff(f) > slack(f));
  const withinSlack = files.filter((f) => diff(f) > 0 && diff(f) <= slack(f));
  const below = files.filter((f) => diff(f) < 0);
  const moreRequests = files.filter((f) => m(f.probe.ours.requests) > m(f.probe.seed.requests));
  const independence = sizeIndependence(r);
  const growingRaw = independence.filter((g) => g.bytesRatio > 1.5);
  const growingBeyond = independence.filter((g) => g.beyondIndexRatio > 1.5);
  // Ours on an HDR candidate is two runs: the higher peak counts.
  const rss = files.map((f) => ({ f, kb: Math.max(...f.probe.ours.peakRssKb, ...(f.probe.ours.framesRun?.peakRssKb ?? [])) }));
  const worstRss = rss.reduce((w, x) => (x.kb > w.kb ? x : w), rss[0]);
  const biggest = files.reduce((b, f) => (f.size > b.size ? f : b), files[0]);
  const mismatched = files.filter((f) => !f.probe.oursMatchesUntuned || !f.probe.streamsMatchSeed);
  const failures = files.filter((f) => f.probe.ours.failures.length || f.probe.seed.failures.length);
  const listBytes = (list: typeof files) =>
    list.map((f) => `${f.key} ${formatBytes(fewest(f.probe.ours.bytes))} vs ${formatBytes(fewest(f.probe.seed.bytes))}`).join('; ');
  const out: Check[] = [
    {
      target: 'bytes received ≤ seed on every file',
      result: [
        above.length
          ? `above the seed beyond the run-to-run spread on ${above.length} of ${files.length} files: ${listBytes(above)}`
          : `no file above the seed beyond the run-to-run spread (${files.length} files)`,
        below.length ? `fewer bytes on ${below.length}` : '',
        withinSlack.length
          ? `more bytes, by less than the spread of repeated runs, on ${withinSlack.length} (${listBytes(withinSlack)})`
          : '',
      ]
        .filter(Boolean)
        .join('; '),
      ok: above.length === 0,
    },
    {
      target: 'HTTP requests ≤ seed on every file',
      result: moreRequests.length
        ? `${moreRequests.length} files above: ${moreRequests.map((f) => f.key).join(', ')}`
        : `every file (${sum(files.map((f) => m(f.probe.ours.requests)))} requests in all, seed ${sum(files.map((f) => m(f.probe.seed.requests)))})`,
      ok: moreRequests.length === 0,
    },
    {
      target: 'bytes independent of file size for MP4, MKV, MOV',
      result: independence.length ? independence.map(describeGrowth).join('; ') : 'not measured (the quick corpus has one size per format)',
      ok: independence.length ? growingBeyond.length === 0 : undefined,
      ...(growingRaw.length && !growingBeyond.length
        ? {
            verdict: `met beyond the index; **missed** for the \`moov\` itself, which grows with the duration (${growingRaw.map((g) => g.family).join(', ')})`,
          }
        : {}),
    },
    {
      target: 'ffprobe peak RSS ≤ 150 MB on every file',
      result: `largest ${formatBytes(worstRss.kb * 1000)} (${worstRss.f.key}); on the largest file (${biggest.key}, ${formatBytes(biggest.size)}) ${formatBytes(Math.max(...biggest.probe.ours.peakRssKb) * 1000)}`,
      ok: rss.every((x) => x.kb <= RSS_LIMIT_KB),
    },
    {
      target: 'metadata identical to an untuned run',
      result: mismatched.length
        ? `differs on ${mismatched.map((f) => f.key).join(', ')}`
        : `streams and format identical on all ${files.length} files; streams identical to the seed's`,
      ok: mismatched.length === 0,
    },
  ];
  if (failures.length)
    out.push({
      target: 'every ffprobe run succeeded',
      result: failures.map((f) => `${f.key}: ${[...f.probe.ours.failures, ...f.probe.seed.failures][0]}`).join('; '),
      ok: false,
    });
  const load = r.pipeline.scenarios.find((s) => s.name === 'load');
  if (load) {
    out.push({
      target: `under load (${load.assets} inserts at once): 0 lost, 0 spurious failures`,
      result: `${load.assets - load.lost - load.failed} succeeded, ${load.failed} failed, ${load.lost} lost; ${load.throughputPerSecond.toFixed(1)} assets/s from the first insert to the last result; the scenario took ${formatMs(load.wallMs)} (reading the rows back included)`,
      ok: load.lost === 0 && load.failed === 0,
    });
  }
  for (const s of r.pipeline.scenarios.filter((scenario) => scenario !== load)) {
    out.push({
      target: `pipeline overhead ≤ 25 % of end-to-end time (${s.name})`,
      result:
        `rest (everything but the ffprobe step) ${formatMs(s.restMs.p50)} = ${formatPercent(s.restShare.p50)} of end-to-end at p50, ${formatPercent(s.restShare.p95)} at p95, ` +
        `of which ${formatMs(s.pipeWaitMs.p50)} before the execution starts; inside the execution ${formatMs(s.executionRestMs.p50)} = ${formatPercent(s.executionRestShare.p50)}`,
      ok: s.restShare.p95 <= OVERHEAD_LIMIT,
    });
  }
  out.push(...linkChecks(r));
  const inits = r.bundles.map((b) => ({ id: b.logicalId, ms: m(b.requireMs) }));
  out.push({
    target: `function init (require of the bundle) ≤ ${INIT_LIMIT_MS} ms each`,
    result: inits.map((i) => `${i.id.replace(/Function$/, '')} ${formatMs(i.ms)}`).join(', '),
    ok: inits.every((i) => i.ms <= INIT_LIMIT_MS),
  });
  const singles = r.pipeline.scenarios.filter((s) => s.name.startsWith('single inserts'));
  if (singles.length) {
    out.push({
      target: 'a lone insert: end-to-end p50 by PipeBatchingWindowSeconds (the default chosen from it)',
      result: singles
        .map((s) => `${/window (\d+) s/.exec(s.name)?.[1] ?? r.settings.pipe.batchingWindowSeconds} s: ${formatMs(s.e2eMs.p50)}`)
        .join(', '),
      ok: undefined,
      verdict: `default ${r.settings.pipe.batchingWindowSeconds} s`,
    });
  }
  return out;
}

/** Whether ffprobe opened a connection per request, as its http protocol does without `-multiple_requests 1`. */
function connectionReuse(r: BenchResults): string {
  const runs = probed(r).flatMap((f) => [f.probe.ours, f.probe.seed].flatMap((v) => v.requests.map((q, i) => ({ q, c: v.connects[i] }))));
  const reused = runs.filter((x) => x.c < x.q).length;
  return reused === 0
    ? `in every run each request opened a connection of its own (connect calls = request lines: ffprobe's http protocol reconnects for every seek without \`-multiple_requests 1\`).`
    : `in ${reused} of ${runs.length} runs ffprobe sent more requests than it opened connections, i.e. it reused a connection.`;
}

/** The targets table, also printed at the end of a run. */
export function renderTargets(r: BenchResults): string {
  return table(
    ['Target', 'Result', 'Verdict'],
    checks(r).map((c) => [c.target, c.result, c.verdict ?? mark(c.ok)]),
  );
}

function probeTable(r: BenchResults): string {
  return table(
    [
      'File',
      'Size',
      'Bytes ours',
      'Bytes seed',
      'ours/seed',
      'Requests ours/seed',
      'Wall ours',
      'Wall seed',
      'ours/seed',
      'Peak RSS ours',
      'Peak RSS seed',
    ],
    probed(r).map((f) => {
      const o = f.probe.ours;
      const s = f.probe.seed;
      return [
        `\`${f.key}\``,
        formatBytes(f.size),
        `${formatBytes(fewest(o.bytes))}${upTo(o.bytes)}`,
        `${formatBytes(fewest(s.bytes))}${upTo(s.bytes)}`,
        formatRatio(fewest(o.bytes), fewest(s.bytes)),
        `${m(o.requests)} / ${m(s.requests)}`,
        formatMs(m(o.wallMs)),
        formatMs(m(s.wallMs)),
        formatRatio(m(o.wallMs), m(s.wallMs)),
        formatBytes(m(o.peakRssKb) * 1000),
        formatBytes(m(s.peakRssKb) * 1000),
      ];
    }),
  );
}

function ratioSummary(r: BenchResults): string {
  const files = probed(r);
  const wall = geometricMean(files.map((f) => m(f.probe.ours.wallMs) / m(f.probe.seed.wallMs)));
  const rss = geometricMean(files.map((f) => m(f.probe.ours.peakRssKb) / m(f.probe.seed.peakRssKb)));
  return (
    `Over the corpus (geometric means of the per-file ratios), ours/seed is ${wall.toFixed(2)}× in wall time and ${rss.toFixed(2)}× in peak RSS;` +
    ' the two commands differ only in output (ours adds the format section, compact JSON) and in safety options that do not change what is read.'
  );
}

function independenceSection(r: BenchResults): string {
  const rows = probed(r)
    .filter((f) => INDEXED_FAMILIES.includes(f.family))
    .sort((a, b) => a.family.localeCompare(b.family) || a.size - b.size)
    .map((f) => [
      f.family,
      `\`${f.key}\``,
      formatBytes(f.size),
      f.index ? `${formatBytes(f.index.bytes)} (${f.index.position})` : '–',
      formatBytes(fewest(f.probe.ours.bytes)),
      f.index ? formatBytes(fewest(f.probe.ours.bytes) - f.index.bytes) : '–',
      String(m(f.probe.ours.requests)),
    ]);
  if (!rows.length) return '';
  return [
    '### Does the amount read grow with the file?',
    '',
    'For containers with a header or an index, ffprobe needs the header (MKV: EBML header, segment info, tracks, then a few clusters to',
    'measure frame rates) or the whole `moov` box (MP4/MOV), plus a few packets of each stream. The corpus stretches one encode to',
    'several durations, so a longer MP4 has a proportionally larger `moov` (its sample tables list every frame): the column',
    '"read beyond the index" is what ffprobe took besides that index.',
    '',
    table(['Family', 'File', 'Size', '`moov` box', 'Bytes read (ours)', 'Read beyond the index', 'Requests'], rows),
    '',
  ].join('\n');
}

function tuningSection(r: BenchResults): string {
  const files = probed(r);
  const oursTotal = sum(files.map((f) => fewest(f.probe.ours.bytes)));
  const rows = r.settings.tuning.map(({ option, value }) => {
    const per = files.map((f) => ({ f, t: f.probe.tuning.find((t) => t.option === option && t.value === value)! }));
    const identical = per.filter((p) => p.t.identical);
    const total = sum(per.map((p) => p.t.bytes));
    const differing = per.filter((p) => !p.t.identical);
    return {
      identicalAll: differing.length === 0,
      differing: differing.length,
      saving: oursTotal - total,
      cells: [
        `\`${option} ${value}\``,
        `${identical.length} / ${files.length}`,
        formatBytes(total),
        formatPercent((total - oursTotal) / oursTotal),
        differing.length
          ? differing.map((p) => `\`${p.f.key}\` (${p.t.error ? 'failed' : p.t.differences.map((d) => `\`${d}\``).join(', ')})`).join('; ')
          : '–',
      ],
    };
  });
  const closestCandidate = (all: typeof rows): string => {
    const best = [...all].sort((a, b) => a.differing - b.differing || b.saving - a.saving)[0];
    return (
      `No single candidate kept the metadata identical on every file, so the default probing stays. Closest: ${best.cells[0]}, identical on ${best.cells[1]}` +
      ` files and ${formatBytes(best.saving)} fewer bytes over the corpus (${best.cells[3]}); the fields it changed are in the table. The per-file table shows what a format-specific setting could save.`
    );
  };
  const usable = rows.filter((x) => x.identicalAll && x.saving > 0).sort((a, b) => b.saving - a.saving);
  const verdict = usable.length
    ? `**Finding:** ${usable[0].cells[0]} keeps streams and format identical on every file of this corpus and reads ${formatBytes(usable[0].saving)} less in all (${usable[0].cells[3]}). It is not applied: the corpus is synthetic, and a smaller probe can change what ffprobe infers on files it does not cover; \`functions/lib/ffprobe-command.ts\` is unchanged.`
    : closestCandidate(rows);
  const perFile = files.map((f) => {
    const safe = f.probe.tuning.filter((t) => t.identical).sort((a, b) => a.bytes - b.bytes)[0];
    const ours = fewest(f.probe.ours.bytes);
    return [
      `\`${f.key}\``,
      formatBytes(ours),
      safe ? `\`${safe.option} ${safe.value}\`` : 'none',
      safe ? formatBytes(safe.bytes) : '–',
      safe ? formatPercent((safe.bytes - ours) / ours) : '–',
    ];
  });
  return [
    '### Tuning candidates',
    '',
    `Each candidate is our invocation with one input option added before \`-i\`, run once under strace and compared with the untuned run`,
    `(\`-show_streams -show_format\`, no other option) on streams and format minus \`filename\`. Our invocation itself does no tuning:`,
    `its total is ${formatBytes(oursTotal)} over the corpus. Changed fields are shown as \`path: untuned → tuned\`.`,
    '',
    table(
      ['Candidate', 'Identical metadata', 'Bytes, whole corpus', 'vs ours', 'Files whose metadata changed'],
      rows.map((x) => x.cells),
    ),
    '',
    verdict,
    '',
    'Per file, the candidate that read least while keeping the metadata identical:',
    '',
    table(['File', 'Bytes ours', 'Best identical candidate', 'Bytes', 'vs ours'], perFile),
    '',
  ].join('\n');
}

function scenarioTable(scenarios: ScenarioSummary[]): string {
  return table(
    [
      'Scenario',
      'Assets',
      'End-to-end p50',
      'p95',
      'ffprobe step p50',
      'Rest p50',
      'Pipe wait p50',
      'Rest share p50',
      'p95',
      'overall',
      'Rest share inside the execution p50',
      'Throughput',
    ],
    scenarios.map((s) => [
      s.name,
      `${s.assets}${s.failed ? ` (${s.failed} failed)` : ''}${s.lost ? ` (${s.lost} lost)` : ''}`,
      formatMs(s.e2eMs.p50),
      formatMs(s.e2eMs.p95),
      formatMs(s.ffprobeMs.p50),
      formatMs(s.restMs.p50),
      formatMs(s.pipeWaitMs.p50),
      formatPercent(s.restShare.p50),
      formatPercent(s.restShare.p95),
      formatPercent(s.restShare.overall),
      formatPercent(s.executionRestShare.p50),
      `${s.throughputPerSecond.toFixed(1)} assets/s`,
    ]),
  );
}

function pipelineSection(r: BenchResults): string {
  const pipe = r.settings.pipe;
  const singles = r.pipeline.scenarios.find((s) => s.name === 'single inserts');
  const batches = r.pipeline.scenarios.find((s) => s.name === 'full batches');
  const lines = [
    '## The local pipeline, end to end',
    '',
    'The whole local stack (`startLocalStack`: DynamoDB Local with its stream, the local pipe, the ASL interpreter, the three handlers',
    'in-process, the S3 endpoint) analyses rows pointing at the corpus objects. Per asset: **end-to-end** is from PutItem returning to the',
    "update handler returning (its conditional UpdateItem applied); **ffprobe step** is the item's `analysis.steps.ffprobe.duration_ms`",
    '(state entered → probe handler done: spawning ffprobe, the probe, the summary); **pipe wait** is insert → `analysis.started_at` (the',
    "execution's start: stream polling, the batching window, earlier batches); **rest** is end-to-end minus the ffprobe step. A warm-up batch",
    `runs first and is not counted. The pipe's settings come from template.yaml: batch size ${pipe.batchSize}, batching window ${pipe.batchingWindowSeconds} s, one shard, up to`,
    `${pipe.parallelizationFactor} batches of it at once (ParallelizationFactor), and the Map state runs up to 10 items of a batch at once — on this machine up to`,
    `${pipe.parallelizationFactor * 10} ffprobe processes share ${r.machine.cores} cores, which stretches the ffprobe step under load.`,
    '',
    scenarioTable(r.pipeline.scenarios),
    '',
    ...r.pipeline.scenarios.map((s) => `- **${s.name}:** ${s.description}.`),
    '',
  ];
  const burst = r.pipeline.scenarios.find((s) => s.name === 'burst');
  if (singles && batches && burst) {
    lines.push(
      `Reading the overhead target: ffprobe itself is quick here — the ffprobe step is ${formatMs(batches.ffprobeMs.p50)} at p50 with a full batch,`,
      `because it reads 0.1–6 MB over loopback — so any fixed cost weighs heavily. With a full batch the rest is ${formatMs(batches.restMs.p50)} at p50, of`,
      `which ${formatMs(batches.pipeWaitMs.p50)} pass before the execution starts (the batch's other PutItems, the stream becoming readable, the`,
      `pipe's next poll) and ${formatMs(batches.executionRestMs.p50)} inside it (presign with its HeadObject, state transitions, the update).`,
      `A lone insert additionally waits for the batching window (${pipe.batchingWindowSeconds} s, \`MaximumBatchingWindowInSeconds\` in template.yaml): configuration`,
      'that trades latency for fewer, fuller executions, and that AWS applies the same way. In the burst, batches wait for the ones',
      `before them on the shard (${pipe.parallelizationFactor} executions at a time per shard): ${formatMs(burst.pipeWaitMs.p50)} of queueing at p50 and ${burst.throughputPerSecond.toFixed(1)} assets/s.`,
      '',
    );
  }
  return lines.join('\n');
}

function bundleSection(r: BenchResults): string {
  const rows = r.bundles.map((b) => [
    b.logicalId,
    `\`${b.entryPoint}\``,
    formatBytes(b.jsBytes),
    formatBytes(b.mapBytes),
    formatBytes(b.zippedBytes),
    formatMs(m(b.requireMs)),
    formatMs(m(b.requireMsWithSourceMaps)),
    formatMs(m(b.processMs)),
    formatBytes(m(b.rssBytes)),
  ]);
  const layer = Object.entries(r.layerBinaries)
    .map(([arch, bytes]) => `${arch} ${formatBytes(bytes)}`)
    .join(', ');
  return [
    '## Function bundles and initialisation',
    '',
    "Each function bundled with esbuild from the template's own `BuildProperties` (what `sam build` runs: minified, target es2023, cjs,",
    'platform node, the AWS SDK bundled, external source map without sources). **Init** is the time to `require` the bundle in a fresh',
    `Node ${r.versions.node} process with the function's environment from the template and Lambda's`,
    `runtime variables — a proxy for the code's share of a cold start, median of ${r.settings.initRuns} processes per function, round-robin. Lambda adds its own`,
    'runtime start-up and, for the ffprobe function, nothing at init: the binary is only started per invocation.',
    '',
    table(
      [
        'Function',
        'Entry point',
        'index.js',
        'index.js.map',
        'Zipped (≈ package)',
        'Init (require)',
        'Init with --enable-source-maps',
        'Process start → exit',
        'RSS after init',
      ],
      rows,
    ),
    '',
    layer ? `The ffprobe layer's static binary, as built under \`layers/ffprobe/build\`: ${layer}.` : '',
    '',
  ].join('\n');
}

function corpusSection(r: BenchResults): string {
  const large = r.corpus.filter((f) => f.size > 1e9);
  return [
    '## Corpus',
    '',
    `Generated by \`bench/corpus.ts\` with Debian's ffmpeg (${r.versions.ffmpeg.replace(/ Copyright.*/, '')}) from synthetic sources (\`testsrc2\`, \`sine\`)`,
    'with bit-exact flags and one encoder thread, so the same ffmpeg produces the same bytes (the MD5 below is the S3 ETag). A 10 s',
    'base encode is stretched by stream copy (`-stream_loop`), which writes a fully indexed file of any length in seconds; the sparse',
    'WAV declares its data chunk in the header and leaves the samples as a hole (silence). Files are written to a temporary directory,',
    "uploaded through the S3 API (PutObject, as any client would), and deleted once the endpoint has its copy; the endpoint's store is",
    'removed at the end of the run.',
    large.length
      ? `Uploading the files over 1 GB took ${large.map((f) => `${(f.uploadMs / 1000).toFixed(1)} s (${f.key})`).join(', ')}.`
      : '',
    '',
    table(
      ['File', 'Family', 'How', 'Size', 'MD5'],
      r.corpus.map((f) => [`\`${f.key}\``, f.family, f.recipe, formatBytes(f.size), `\`${f.etag}\``]),
    ),
    '',
  ].join('\n');
}

/** The step's second run over an HDR candidate's first frames: its own figures, and the step's total against the seed's one run. */
function framesRunSection(r: BenchResults): string {
  const files = probed(r).filter((f) => f.probe.ours.framesRun !== undefined);
  const others = probed(r).length - files.length;
  const intro = [
    'For an HDR candidate (`frameProbeCandidate`, `functions/lib/bitstream-hdr.ts`) the ffprobe step makes a second run over the',
    `stream's first ${FRAME_PROBE_PACKETS} packets (\`buildFrameSideDataArgs\`): the seed's command has no counterpart, so it is measured apart, with the same`,
    `method. It ran for ${files.length} file${files.length === 1 ? '' : 's'} and for none of the other ${others} (no SDR file is a candidate).`,
  ].join('\n');
  if (files.length === 0) return intro;
  const rows = files.map((f) => {
    const ours = f.probe.ours;
    const frames = ours.framesRun as NonNullable<typeof ours.framesRun>;
    const bytes = fewest(frames.bytes);
    const wall = median(frames.wallMs);
    return [
      `\`${f.key}\``,
      formatBytes(bytes),
      `${median(frames.requests)}`,
      formatMs(wall),
      formatBytes(median(frames.peakRssKb) * 1000),
      `${formatBytes(fewest(ours.bytes) + bytes)} / ${formatBytes(fewest(f.probe.seed.bytes))}`,
      `${median(ours.requests) + median(frames.requests)} / ${median(f.probe.seed.requests)}`,
      `${formatMs(median(ours.wallMs) + wall)} / ${formatMs(median(f.probe.seed.wallMs))}`,
    ];
  });
  return `${intro}\n\n${table(
    ['File', 'Bytes', 'Requests', 'Wall', 'Peak RSS', 'Bytes, both runs / seed', 'Requests, both runs / seed', 'Wall, both runs / seed'],
    rows,
  )}`;
}

/** The capacity model (docs/capacity.md) run on this run's measurements with its default assumptions. */
function capacitySection(r: BenchResults): string {
  return [
    "The capacity model of [docs/capacity.md](docs/capacity.md) on this run's measurements (the full batches' step times and",
    "the probe's requests), with the model's default assumptions for the network and the quotas (`npm run capacity` prints the same,",
    'and takes others):',
    '',
    '```',
    renderModel(measuredFrom(r), r.date),
    '```',
  ].join('\n');
}

export function renderReport(r: BenchResults): string {
  const gib = (r.machine.memoryBytes / 2 ** 30).toFixed(1);
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  return [
    '# Benchmarks',
    '',
    "media-probe's ffprobe invocation against the seed article's command, measured side by side, and the local pipeline end to end.",
    `Generated by \`npm run bench\`${r.mode === 'quick' ? ' -- --quick' : ''} on ${r.date} (${r.mode} corpus, ${r.durationS} s); do not edit by hand.`,
    '',
    'Reproduce: `npm run bench` (full corpus, three files over 1 GB, a load of 5,000 inserts) or `npm run bench -- --quick` (small files only); `-- --report-only` rewrites this file and its charts from `bench/out/results.json`. Needs',
    '`strace`, GNU `time` and `openssl` (Debian packages `strace`, `time`, `openssl`), ffmpeg for the corpus, and what `npx media-probe demo` needs.',
    '',
    '## Targets',
    '',
    renderTargets(r),
    '',
    '## Machine',
    '',
    `- ${r.machine.cores} × ${r.machine.cpu}, ${gib} GiB memory, ${r.machine.kernel}; load average ${load(r.machine.loadBefore)} before, ${load(r.machine.loadAfter)} after (the machine is shared)`,
    `- Node ${r.versions.node}, ${r.versions.ffprobe.replace(/ Copyright.*/, '')} (the layer's build for this machine), DynamoDB Local ${r.versions.dynamodbLocal}, ${r.versions.strace}, esbuild ${r.versions.esbuild}`,
    '',
    "## ffprobe: our invocation vs the seed's command",
    '',
    "- **ours:** `buildFfprobeArgs(url)` from `functions/lib/ffprobe-command.ts`, exactly what the ffprobe function runs first. Its second run over an HDR candidate's first frames is measured apart: [below](#the-hdr-second-run).",
    "- **seed:** `ffprobe -loglevel error -show_streams URL -print_format json`, the article's command flag for flag.",
    '',
    'Both run the same binary with the same environment (`LC_ALL=C` only) on presigned GET URLs from the local S3 endpoint, one after',
    `the other, the order alternating. **Bytes** and **requests** are counted at ffprobe's side of the socket: each run under`,
    '`strace -f`, summing the return values of `read`/`recvfrom`/`recvmsg` on the TCP sockets ffprobe opened (descriptors followed from',
    '`socket`/`connect` to `close`; reads of any other descriptor are not counted), response headers included; requests are the HTTP',
    `request lines it wrote; ${connectionReuse(r)}`,
    `Bytes are the fewest of ${r.settings.tracedRuns} traced runs, with the most in brackets when runs differed: the same command on the same file`,
    'varies by up to one read buffer (32 KB), for both commands alike: when a read returns less than ffprobe asked for (the rest has not',
    'arrived yet, more likely on a loaded machine), its next read asks for a whole new buffer. The fewest is the reproducible figure. Requests',
    `are the median (they did not vary). A file counts as above the seed only if the difference exceeds that run-to-run spread. **Wall** time (spawn to exit) and **peak RSS** (\`/usr/bin/time -f %M\`, the kernel's maximum resident set of`,
    `the ffprobe process) are medians of ${r.settings.timedRuns} untraced runs.`,
    '',
    probeTable(r),
    '',
    ratioSummary(r),
    '',
    `![Bytes received and wall time against file size, ours vs the seed's command](${r.chartPath})`,
    '',
    '### The HDR second run',
    '',
    framesRunSection(r),
    '',
    independenceSection(r),
    linkSection(r),
    '',
    tuningSection(r),
    pipelineSection(r),
    '## Capacity on AWS, modelled',
    '',
    capacitySection(r),
    '',
    '## Cost per million assets, modelled',
    '',
    renderCost(costModel(r, templateInputs(path.join(__dirname, '..', 'template.yaml')))),
    '',
    bundleSection(r),
    corpusSection(r),
  ].join('\n');
}
