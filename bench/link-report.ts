/** The report's section on the probe over a realistic link (link.ts, link-probe.ts): per-file tables at each link shape, and the targets. */
import type { LinkMeasurement, LinkRun } from './link-probe';
import type { BenchResults, Check, CorpusEntry } from './report';
import { formatBytes, formatMs, formatRatio, geometricMean, median } from './stats';

/** The link shape the targets are judged at. */
export const TARGET_RTT_MS = 10;
const WALL_TARGET = 0.7;
const BYTES_TARGET = 0.8;

type Linked = CorpusEntry & { link: LinkMeasurement[] };
const linked = (r: BenchResults): Linked[] => r.corpus.filter((f): f is Linked => (f.link?.length ?? 0) > 0);
const wall = (runs: LinkRun[]) => median(runs.map((x) => x.wallMs));
const bytes = (runs: LinkRun[]) => median(runs.map((x) => x.bytesDown));
const at = (f: Linked, rttMs: number) => f.link.find((l) => l.shape.rttMs === rttMs);

const table = (header: string[], rows: string[][]): string =>
  [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

/** Geometric means of ours/seed at one shape (cold and warm), and the files where ours took longer or read more. */
function summary(files: Linked[], rttMs: number) {
  const rows = files.flatMap((f) => {
    const l = at(f, rttMs);
    return l ? [{ key: f.key, l }] : [];
  });
  const ratios = rows.map(({ key, l }) => ({
    key,
    cold: wall(l.runs.ours) / wall(l.runs.seed),
    warm: wall(l.runs.warm ?? []) / wall(l.runs.seed),
    bytes: bytes(l.runs.ours) / bytes(l.runs.seed),
  }));
  return {
    files: rows.length,
    wall: geometricMean(ratios.map((x) => x.cold)),
    warmWall: geometricMean(ratios.map((x) => x.warm)),
    bytes: geometricMean(ratios.map((x) => x.bytes)),
    slower: ratios.filter((x) => x.cold > 1).map((x) => `${x.key} ${x.cold.toFixed(2)}×`),
    slowerWarm: ratios.filter((x) => x.warm > 1).map((x) => `${x.key} ${x.warm.toFixed(2)}×`),
    moreBytes: ratios.filter((x) => x.bytes > 1).map((x) => `${x.key} ${x.bytes.toFixed(2)}×`),
    different: rows.filter(({ l }) => !l.identical).map(({ key }) => key),
    failed: rows.filter(({ l }) => Object.values(l.runs).some((runs) => runs.some((x) => !x.ok))).map(({ key }) => key),
  };
}

/** The link targets, for the report's table of targets. */
export function linkChecks(r: BenchResults): Check[] {
  const files = linked(r);
  if (files.length === 0) {
    return [
      {
        target: `probe over a ${TARGET_RTT_MS} ms link: wall ≤ ${WALL_TARGET}×, bytes ≤ ${BYTES_TARGET}× the seed (geometric means)`,
        result: 'not measured in this run',
        ok: undefined,
      },
    ];
  }
  const s = summary(files, TARGET_RTT_MS);
  return [
    {
      target: `probe wall time over a ${TARGET_RTT_MS} ms link ≤ ${WALL_TARGET}× the seed's command (geometric mean), no file slower: a warm function`,
      result: `${s.warmWall.toFixed(2)}× over ${s.files} files; slower on ${s.slowerWarm.length ? s.slowerWarm.join(', ') : 'none'}`,
      ok: s.warmWall <= WALL_TARGET && s.slowerWarm.length === 0,
    },
    {
      target: `the same, a cold function (its first probe: a new connection to S3)`,
      result: `${s.wall.toFixed(2)}×; slower on ${s.slower.length ? s.slower.join(', ') : 'none'}`,
      ok: s.wall <= WALL_TARGET && s.slower.length === 0,
    },
    {
      target: `bytes over a ${TARGET_RTT_MS} ms link ≤ ${BYTES_TARGET}× the seed's command (geometric mean)`,
      result: `${s.bytes.toFixed(2)}×; more bytes on ${s.moreBytes.length ? s.moreBytes.join(', ') : 'none'}`,
      ok: s.bytes <= BYTES_TARGET,
    },
    {
      target: 'metadata through the relay identical to our invocation read straight from S3',
      result: s.different.length ? `different on ${s.different.join(', ')}` : `identical on all ${s.files} files at every link shape`,
      ok: s.different.length === 0 && files.every((f) => f.link.every((l) => l.identical)),
    },
  ];
}

function shapeTable(files: Linked[], rttMs: number): string {
  return table(
    [
      'File',
      'Wall seed',
      'Wall direct',
      'Wall ours cold',
      'cold/seed',
      'Wall ours warm',
      'warm/seed',
      'Bytes seed',
      'Bytes ours',
      'ours/seed',
      'Connections seed/ours',
      'GETs seed/ours',
    ],
    files.flatMap((f) => {
      const l = at(f, rttMs);
      if (!l) return [];
      const { seed, direct, ours } = l.runs;
      const mid = (runs: LinkRun[], pick: (x: LinkRun) => number) => median(runs.map(pick));
      return [
        [
          `\`${f.key}\`${l.identical ? '' : ' (**metadata differs**)'}`,
          formatMs(wall(seed)),
          formatMs(wall(direct)),
          formatMs(wall(ours)),
          formatRatio(wall(ours), wall(seed)),
          formatMs(wall(l.runs.warm ?? [])),
          formatRatio(wall(l.runs.warm ?? []), wall(seed)),
          formatBytes(bytes(seed)),
          formatBytes(bytes(ours)),
          formatRatio(bytes(ours), bytes(seed)),
          `${mid(seed, (x) => x.connections)} / ${mid(ours, (x) => x.connections)}`,
          `${mid(seed, (x) => x.requests)} / ${mid(ours, (x) => x.requests)}`,
        ],
      ];
    }),
  );
}

/** The section itself. */
export function linkSection(r: BenchResults): string {
  const files = linked(r);
  if (files.length === 0) return '## ffprobe over a realistic link\n\nNot measured in this run.';
  const shapes = files[0].link.map((l) => l.shape);
  const runs = files[0].link[0].runs.seed.length;
  return [
    '## ffprobe over a realistic link',
    '',
    'In AWS the probe talks TLS to S3 across a real round trip; on loopback a round trip costs nothing. Here the local S3 endpoint sits',
    'behind TLS (a CA generated for the run) and a user-space TCP proxy (`bench/link.ts`) that gives every connection a round-trip time,',
    'a bottleneck bandwidth and TCP slow start (an initial window of ten segments, doubling each round trip), since these machines have no',
    "netem. The first data of a connection waits one round trip (the TCP handshake); TLS's own round trips cross the link like any data.",
    '',
    "- **seed:** the article's command on the presigned HTTPS URL (it does not verify the certificate).",
    '- **direct:** our ffprobe invocation (`buildFfprobeArgs`, verifying the certificate) on the presigned HTTPS URL, as the step ran before the relay.',
    '- **ours:** the ffprobe step as it runs now (`probeAsset`, in a process of its own as in Lambda): ffprobe reads a loopback URL of the',
    '  object relay (`functions/lib/object-relay.ts`), which reads S3 over one kept-alive connection opened while ffprobe starts; the faststart',
    "  check and an HDR candidate's second run included. **Cold:** a fresh connection, as a function's first probe. **Warm:** the",
    '  connection the previous probe left, as a warm function reuses it for the next object (its first round is cold; after the idle',
    '  time between probes the link restarts slow start, as Linux does after 200 ms).',
    '',
    `**Wall** is the median of ${runs} runs, spawn (or relay start) to result; **bytes** are what crossed the link towards the client (TLS`,
    "records included, and what was still in flight when a reader hung up); **connections** are the link's (each one a TCP and a TLS set-up);",
    '**GETs** are the requests the S3 endpoint answered. S3 also takes its own time to first byte on every GET (tens of milliseconds), which',
    'this link does not add: it counts against the side with more GETs. The runs alternate seed, direct, ours. Shapes: ' +
      shapes.map((s) => `${s.rttMs} ms RTT at ${(s.bytesPerSecond / 1e6).toFixed(0)} MB/s`).join(', ') +
      '.',
    '',
    ...shapes.flatMap((shape) => {
      const s = summary(files, shape.rttMs);
      return [
        `### ${shape.rttMs} ms round trip, ${(shape.bytesPerSecond / 1e6).toFixed(0)} MB/s`,
        '',
        shapeTable(files, shape.rttMs),
        '',
        `Geometric means of ours/seed: **${s.warmWall.toFixed(2)}×** wall time warm, **${s.wall.toFixed(2)}×** cold, **${s.bytes.toFixed(2)}×** bytes (cold) over ${s.files} files.` +
          (s.failed.length ? ` Runs failed on ${s.failed.join(', ')}.` : ''),
        '',
      ];
    }),
    `![ours vs seed over a ${TARGET_RTT_MS} ms link](${r.linkChartPath ?? 'bench/chart-link.svg'})`,
  ].join('\n');
}
