/**
 * Cost per million assets at AWS list prices (us-east-1, on-demand, excluding storage), from the
 * benchmark's measurements: the probe's wall and CPU time and memory, the relay's GETs, the
 * functions' log volume, the rows' sizes, the executions' durations. Beside it, the seed's single
 * Lambda at the figures its article published. Pure functions of bench/out/results.json and the
 * template's defaults, so `npm run bench -- --report-only` recomputes it.
 */
import { CACHE_BYTES } from '../functions/lib/object-relay';
import { readTemplate } from '../local/cfn';
import { localTemplate, type TemplateFunction } from '../local/template';
import { TARGET_RTT_MS } from './link-report';
import type { BenchResults } from './report';
import { formatBytes, median } from './stats';

/** List prices, us-east-1, as published on the pages named (read 2026-12). */
export const PRICES = {
  lambdaArmGbSecond: 0.0000133334,
  lambdaX86GbSecond: 0.0000166667,
  lambdaRequest: 0.2 / 1e6,
  expressRequest: 1.0 / 1e6,
  expressGbSecond: 0.00001667,
  pipesRequest: 0.4 / 1e6,
  customEvent: 1.0 / 1e6,
  dynamoWriteUnit: 0.625 / 1e6,
  s3Get: 0.0004 / 1000,
  s3Put: 0.005 / 1000,
  logsIngestedGb: 0.5,
  xrayTrace: 5.0 / 1e6,
} as const;

export const PRICE_PAGES = [
  ['Lambda', 'https://aws.amazon.com/lambda/pricing/'],
  ['Step Functions (Express)', 'https://aws.amazon.com/step-functions/pricing/'],
  ['EventBridge (Pipes, custom events)', 'https://aws.amazon.com/eventbridge/pricing/'],
  ['DynamoDB on-demand', 'https://aws.amazon.com/dynamodb/pricing/on-demand/'],
  ['S3 requests', 'https://aws.amazon.com/s3/pricing/'],
  ['CloudWatch Logs', 'https://aws.amazon.com/cloudwatch/pricing/'],
  ['X-Ray', 'https://aws.amazon.com/xray/pricing/'],
] as const;

/** Lambda gives a function one full vCPU at 1,769 MB, and a proportional share below. */
const FULL_VCPU_MB = 1769;
/** Express executions are billed in 64 MB and 100 ms steps. */
const EXPRESS_MEMORY_GB = 64 / 1024;
const EXPRESS_STEP_MS = 100;
/** X-Ray's default sampling: the first request each second, then 5 %. The model takes the 5 % (a steady backlog). */
const XRAY_DEFAULT_RATE = 0.05;
/** AWS's own time for the presign step's HeadObject and the update step's UpdateItem, added to the local run's (tens of milliseconds from Lambda). */
const SERVICE_CALL_MS = 20;
/** The seed's published durations and its 200 MB, x86 function; a second invocation per asset for its own MODIFY (under 10 ms). */
const SEED = { durationsMs: [186, 260, 816, 224], memoryMb: 200, modifyMs: 10 };
/**
 * What StateMachineLogLevel ALL would log per asset, counted on the analysis ASL's success path: per
 * row the Map iteration's 2 events, 5 for each of its 4 tasks (entered, scheduled, started,
 * succeeded, exited) and 2 for each of its 3 Choice and Succeed states; per execution 6 more, shared
 * by its rows. An event without execution data is about 330 bytes (its type, ids, the execution's
 * ARN, the state's name). An estimate: the local interpreter writes no CloudWatch events to count.
 */
const STATE_MACHINE_EVENTS_PER_ASSET = 2 + 4 * 5 + 3 * 2;
const STATE_MACHINE_EVENT_BYTES = 330;
/** Lambda's START, END and REPORT lines of one invocation (PlatformLogLevel INFO), about 300 bytes in all: an estimate from their documented form. */
const PLATFORM_BYTES_PER_INVOCATION = 300;
/** Candidate memory sizes for the ffprobe function. */
export const FFPROBE_MEMORY_CANDIDATES = [384, 512, 768, 1024, 1769];

export interface CostLine {
  item: string;
  basis: string;
  perMillion: number;
}

export interface CostModel {
  ours: CostLine[];
  /** What each logging lever would add per million assets, beside the defaults. */
  levers: CostLine[];
  seed: CostLine[];
  /** The ffprobe function at each candidate memory: the probe's modelled duration and its Lambda cost per million. */
  ffprobeMemory: Array<{ memoryMb: number; durationMs: number; perMillion: number }>;
  chosenFfprobeMemoryMb: number;
  /** The largest memory the ffprobe step was measured to need: Node's at init, the relay's cache, ffprobe's peak. */
  peakMemoryMb: number;
}

const gbSeconds = (ms: number, mb: number) => (ms / 1000) * (mb / 1024);

/** The ffprobe step's duration at `memoryMb`: its waiting as measured over the link, its CPU time stretched below a full vCPU. */
function probeDurationMs(wallMs: number, cpuMs: number, memoryMb: number): number {
  const waiting = Math.max(0, wallMs - cpuMs);
  return waiting + cpuMs * Math.max(1, FULL_VCPU_MB / memoryMb);
}

export interface Inputs {
  functions: Record<string, TemplateFunction>;
  batchSize: number;
  logLevel: string;
  platformLogLevel: string;
  stateMachineLogLevel: string;
  tracing: boolean;
  publishesOutcomes: boolean;
  inlineLimitBytes: number;
}

/** What the model takes from template.yaml: the functions as deployed with the defaults, and the defaults that decide a cost. */
export function templateInputs(templatePath: string): Inputs {
  const local = localTemplate(templatePath);
  const parameters = readTemplate(templatePath).Parameters ?? {};
  const byDefault = (name: string) => String(parameters[name]?.Default ?? '');
  const functions = Object.fromEntries(Object.values(local.analysis.substitutions).map((fn) => [fn.logicalId, fn]));
  return {
    functions,
    batchSize: local.pipe.batchSize,
    logLevel: byDefault('LogLevel'),
    platformLogLevel: byDefault('PlatformLogLevel'),
    stateMachineLogLevel: byDefault('StateMachineLogLevel') || 'ALL',
    tracing: byDefault('Tracing') !== 'false',
    publishesOutcomes: true,
    inlineLimitBytes: Number(functions.FfprobeFunction?.environment.INLINE_OUTPUT_LIMIT_BYTES ?? 100 * 1024),
  };
}

/** The model. `inputs` are the template's defaults. */
export function costModel(r: BenchResults, inputs: Inputs): CostModel {
  const files = r.corpus.filter((f) => f.probe && f.link?.some((l) => l.shape.rttMs === TARGET_RTT_MS));
  const link = (f: (typeof files)[number]) => f.link!.find((l) => l.shape.rttMs === TARGET_RTT_MS)!;
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  const perFile = files.map((f) => ({
    // A function at volume probes one object after another: the warm case.
    wallMs: median((link(f).runs.warm ?? link(f).runs.ours).map((x) => x.wallMs)),
    // ffprobe's CPU time, both runs when the step makes two.
    cpuMs: median(f.probe!.ours.cpuMs ?? [0]) + median(f.probe!.ours.framesRun?.cpuMs ?? [0]),
    gets: median(link(f).runs.ours.map((x) => x.requests)),
    seedGets: median(link(f).runs.seed.map((x) => x.requests)),
    itemBytes: r.pipeline.itemBytes?.[f.key] ?? Number.NaN,
    seedItemBytes: (f.seedOutputBytes ?? Number.NaN) + 100,
  }));
  const ffprobeMemory = FFPROBE_MEMORY_CANDIDATES.map((memoryMb) => {
    const durationMs = mean(perFile.map((p) => probeDurationMs(p.wallMs, p.cpuMs, memoryMb)));
    return { memoryMb, durationMs, perMillion: 1e6 * gbSeconds(durationMs, memoryMb) * PRICES.lambdaArmGbSecond };
  });
  const nodeMb = Math.max(...r.bundles.map((b) => median(b.rssBytes))) / 1e6;
  const ffprobePeakMb =
    Math.max(...r.corpus.flatMap((f) => [...(f.probe?.ours.peakRssKb ?? []), ...(f.probe?.ours.framesRun?.peakRssKb ?? [])])) / 1000;
  // The relay's cache at its bound, counted in the step's peak.
  const peakMemoryMb = nodeMb + CACHE_BYTES / 1e6 + ffprobePeakMb;
  const fastest = ffprobeMemory.at(-1)!.durationMs;
  // The cheapest size whose probe takes at most half as long again as with a whole vCPU, and that holds what was measured twice over.
  const chosen = ffprobeMemory
    .filter((c) => c.durationMs <= 1.5 * fastest && c.memoryMb >= 2 * peakMemoryMb)
    .reduce((a, b) => (b.perMillion < a.perMillion ? b : a));

  const fn = (id: string) => inputs.functions[id];
  const timings = r.pipeline.timings['full batches'] ?? [];
  // The steps' own time where nothing else ran beside them: the lone inserts (under load the local run's one event loop queues them).
  const alone = r.pipeline.timings['single inserts'] ?? timings;
  const presignMs = median(alone.map((t) => t.presignMs)) + SERVICE_CALL_MS;
  const updateMs = median(alone.map((t) => t.updateMs)) + SERVICE_CALL_MS;
  // One execution per round of the scenario: its rows start within milliseconds of each other, and it ends with its last outcome.
  const batches = new Map<number, typeof timings>();
  for (const t of timings) {
    const round = Math.floor(t.startedAt / 250);
    batches.set(round, [...(batches.get(round) ?? []), t]);
  }
  const executionMs = median(
    [...batches.values()].map((b) => Math.max(...b.map((t) => t.recordedAt)) - Math.min(...b.map((t) => t.startedAt))),
  );
  const assetsPerExecution = inputs.batchSize;
  const logs = r.pipeline.logs?.find((l) => l.level === inputs.logLevel);
  const logBytes = logs ? Object.values(logs.bytesPerAsset).reduce((a, b) => a + b, 0) : 0;
  const meanItemKb = mean(perFile.map((p) => Math.ceil(p.itemBytes / 1024)));
  const largeOutputs =
    r.corpus.filter((f) => (r.pipeline.itemBytes?.[f.key] ?? 0) > inputs.inlineLimitBytes).length / Math.max(1, r.corpus.length);
  const gets = mean(perFile.map((p) => p.gets));

  const ours: CostLine[] = [
    { item: 'Lambda requests', basis: '3 invocations (presign, ffprobe, update)', perMillion: 3e6 * PRICES.lambdaRequest },
    {
      item: 'Lambda presign',
      basis: `${presignMs.toFixed(0)} ms × ${fn('PresignFunction').memoryMb} MB, arm64`,
      perMillion: 1e6 * gbSeconds(presignMs, fn('PresignFunction').memoryMb) * PRICES.lambdaArmGbSecond,
    },
    {
      item: 'Lambda ffprobe',
      basis: `${ffprobeMemory.find((c) => c.memoryMb === fn('FfprobeFunction').memoryMb)?.durationMs.toFixed(0) ?? '?'} ms × ${fn('FfprobeFunction').memoryMb} MB, arm64 (corpus mean, warm, over a ${TARGET_RTT_MS} ms link)`,
      perMillion: ffprobeMemory.find((c) => c.memoryMb === fn('FfprobeFunction').memoryMb)?.perMillion ?? Number.NaN,
    },
    {
      item: 'Lambda update',
      basis: `${updateMs.toFixed(0)} ms × ${fn('UpdateFunction').memoryMb} MB, arm64`,
      perMillion: 1e6 * gbSeconds(updateMs, fn('UpdateFunction').memoryMb) * PRICES.lambdaArmGbSecond,
    },
    {
      item: 'Step Functions Express',
      basis: `1 execution per ${assetsPerExecution} assets, ${executionMs.toFixed(0)} ms billed as ${Math.ceil(executionMs / EXPRESS_STEP_MS) * EXPRESS_STEP_MS} ms × 64 MB`,
      perMillion:
        (1e6 / assetsPerExecution) *
        (PRICES.expressRequest +
          ((Math.ceil(executionMs / EXPRESS_STEP_MS) * EXPRESS_STEP_MS) / 1000) * EXPRESS_MEMORY_GB * PRICES.expressGbSecond),
    },
    {
      item: 'EventBridge Pipes',
      basis: `1 request per batch of ${assetsPerExecution} (filtered-out events are free)`,
      perMillion: (1e6 / assetsPerExecution) * PRICES.pipesRequest,
    },
    {
      item: 'Outcome events',
      basis: inputs.publishesOutcomes ? '1 custom event per asset (OutcomeEventBusName)' : 'off',
      perMillion: inputs.publishesOutcomes ? 1e6 * PRICES.customEvent : 0,
    },
    {
      item: 'DynamoDB writes',
      basis: `1 UpdateItem of a ${meanItemKb.toFixed(1)} KB row (corpus mean, write units by the KB)`,
      perMillion: 1e6 * meanItemKb * PRICES.dynamoWriteUnit,
    },
    {
      item: 'S3 requests',
      basis: `1 HEAD + ${gets.toFixed(1)} GETs (relay, corpus mean)${largeOutputs ? ` + a PUT for the ${(largeOutputs * 100).toFixed(0)} % of outputs over the inline limit` : ''}`,
      perMillion: 1e6 * ((1 + gets) * PRICES.s3Get + largeOutputs * PRICES.s3Put),
    },
    {
      item: 'CloudWatch Logs',
      basis: `${formatBytes(logBytes)} per asset at LogLevel ${inputs.logLevel} (measured), PlatformLogLevel ${inputs.platformLogLevel}, StateMachineLogLevel ${inputs.stateMachineLogLevel}`,
      perMillion: ((1e6 * logBytes) / 1e9) * PRICES.logsIngestedGb,
    },
    {
      item: 'X-Ray',
      basis: inputs.tracing ? `${XRAY_DEFAULT_RATE * 100} % of executions traced (default sampling, a backlog)` : 'off',
      perMillion: inputs.tracing ? (1e6 / assetsPerExecution) * XRAY_DEFAULT_RATE * PRICES.xrayTrace : 0,
    },
  ];
  const seedMs = median(SEED.durationsMs);
  const seedItemKb = mean(perFile.map((p) => Math.ceil(p.seedItemBytes / 1024)));
  const seedGets = mean(perFile.map((p) => p.seedGets));
  const seed: CostLine[] = [
    {
      item: 'Lambda requests',
      basis: '2 invocations (the INSERT, and its own MODIFY, filtered in code)',
      perMillion: 2e6 * PRICES.lambdaRequest,
    },
    {
      item: 'Lambda duration',
      basis: `${seedMs} ms (median of the article's four) + ${SEED.modifyMs} ms × ${SEED.memoryMb} MB, x86`,
      perMillion: 1e6 * gbSeconds(seedMs + SEED.modifyMs, SEED.memoryMb) * PRICES.lambdaX86GbSecond,
    },
    {
      item: 'DynamoDB writes',
      basis: `1 UpdateItem of a ${seedItemKb.toFixed(1)} KB row (its command's JSON as printed)`,
      perMillion: 1e6 * seedItemKb * PRICES.dynamoWriteUnit,
    },
    {
      item: 'S3 requests',
      basis: `${seedGets.toFixed(1)} GETs (corpus mean over the ${TARGET_RTT_MS} ms link)`,
      perMillion: 1e6 * seedGets * PRICES.s3Get,
    },
    {
      item: 'CloudWatch Logs',
      basis: "Lambda's START/END/REPORT lines only, about 300 bytes per invocation",
      perMillion: ((2e6 * 300) / 1e9) * PRICES.logsIngestedGb,
    },
  ];
  const logCost = (bytesPerAsset: number) => ((1e6 * bytesPerAsset) / 1e9) * PRICES.logsIngestedGb;
  const info = r.pipeline.logs?.find((l) => l.level === 'INFO');
  const infoBytes = info ? Object.values(info.bytesPerAsset).reduce((a, b) => a + b, 0) - logBytes : Number.NaN;
  const sfnBytes = (STATE_MACHINE_EVENTS_PER_ASSET + 6 / assetsPerExecution) * STATE_MACHINE_EVENT_BYTES;
  const levers: CostLine[] = [
    { item: 'LogLevel INFO', basis: `${formatBytes(infoBytes)} more per asset (measured)`, perMillion: logCost(infoBytes) },
    {
      item: 'PlatformLogLevel INFO',
      basis: `3 invocations × about ${PLATFORM_BYTES_PER_INVOCATION} bytes (estimate)`,
      perMillion: logCost(3 * PLATFORM_BYTES_PER_INVOCATION),
    },
    {
      item: 'StateMachineLogLevel ALL',
      basis: `about ${(STATE_MACHINE_EVENTS_PER_ASSET + 6 / assetsPerExecution).toFixed(1)} events × ${STATE_MACHINE_EVENT_BYTES} bytes = ${formatBytes(sfnBytes)} per asset (estimate)`,
      perMillion: logCost(sfnBytes),
    },
    {
      item: 'TraceSamplingRate 1',
      basis: 'every execution traced',
      perMillion: inputs.tracing ? (1e6 / assetsPerExecution) * PRICES.xrayTrace : Number.NaN,
    },
  ];
  return { ours, levers, seed, ffprobeMemory, chosenFfprobeMemoryMb: chosen.memoryMb, peakMemoryMb };
}

const dollars = (value: number) => (Number.isFinite(value) ? `$${value.toFixed(value < 0.1 ? 3 : 2)}` : '–');
const total = (lines: CostLine[]) => lines.reduce((sum, l) => sum + l.perMillion, 0);

/** The report's section. */
export function renderCost(model: CostModel): string {
  const table = (lines: CostLine[]) =>
    [
      '| Item | Basis | Per 1M assets |',
      '| --- | --- | ---: |',
      ...lines.map((l) => `| ${l.item} | ${l.basis} | ${dollars(l.perMillion)} |`),
      `| **Total** | | **${dollars(total(lines))}** |`,
    ].join('\n');
  const top = [...model.ours].sort((a, b) => b.perMillion - a.perMillion).slice(0, 3);
  return [
    "At list prices (us-east-1, on-demand; storage, data transfer within the region and fixed monthly charges left out), from this run's",
    `measurements and the template's defaults. Prices: ${PRICE_PAGES.map(([name, url]) => `[${name}](${url})`).join(', ')}.`,
    '',
    '### media-probe at its defaults',
    '',
    table(model.ours),
    '',
    `Where the money goes: ${top.map((l) => `${l.item} ${dollars(l.perMillion)}`).join(', ')}.`,
    '',
    'What the logging and tracing levers would add to it:',
    '',
    [
      '| Setting | Basis | Per 1M assets, added |',
      '| --- | --- | ---: |',
      ...model.levers.map((l) => `| ${l.item} | ${l.basis} | ${dollars(l.perMillion)} |`),
    ].join('\n'),
    '',
    "### The seed's single Lambda, at its article's figures",
    '',
    table(model.seed),
    '',
    "### The ffprobe function's memory",
    '',
    `The step's measured peak (Node after init, the relay's cache bound and ffprobe's largest resident set) is about ${model.peakMemoryMb.toFixed(0)} MB. Below 1,769 MB Lambda gives`,
    "a proportional share of one vCPU, so the probe's CPU time stretches while its waiting on S3 does not:",
    '',
    '| Memory | Probe duration (corpus mean) | Lambda cost per 1M |',
    '| ---: | ---: | ---: |',
    ...model.ffprobeMemory.map(
      (c) =>
        `| ${c.memoryMb} MB${c.memoryMb === model.chosenFfprobeMemoryMb ? ' (chosen)' : ''} | ${c.durationMs.toFixed(0)} ms | ${dollars(c.perMillion)} |`,
    ),
    '',
    `Chosen: the cheapest size whose probe takes at most 1.5× its time with a whole vCPU and that holds twice the measured peak.`,
  ].join('\n');
}
