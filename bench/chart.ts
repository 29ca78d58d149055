/** Draws the benchmark's chart as a self-contained SVG: bytes received and wall time against file size, ours vs the seed's command, log–log. */

export interface ChartPoint {
  label: string;
  family: string;
  sizeBytes: number;
  ours: { bytes: number; wallMs: number };
  seed: { bytes: number; wallMs: number };
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#7f7f7f'];
const WIDTH = 1000;
const HEIGHT = 500;
const PANEL = { top: 50, height: 300, width: 390 };
const PANEL_LEFT = [80, 570];

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function sizeLabel(value: number, unit: 'bytes' | 'ms'): string {
  if (unit === 'ms') return value >= 1000 ? `${Number((value / 1000).toPrecision(3))} s` : `${Number(value.toPrecision(3))} ms`;
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let u = 0;
  let v = value;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u += 1;
  }
  return `${Number(v.toPrecision(3))} ${units[u]}`;
}

/** Log-scale axis spanning whole decades around the values, with a tick at each 1, 2 and 5 that fits. */
function logAxis(values: number[]): { min: number; max: number; ticks: number[] } {
  const positive = values.filter((v) => v > 0 && Number.isFinite(v));
  const min = 10 ** Math.floor(Math.log10(Math.min(...positive)));
  const max = 10 ** Math.ceil(Math.log10(Math.max(...positive)));
  const decades = Math.log10(max / min);
  const steps = decades <= 2 ? [1, 2, 5] : [1];
  const ticks: number[] = [];
  for (let decade = min; decade <= max; decade *= 10) for (const s of steps) if (decade * s <= max) ticks.push(decade * s);
  return { min, max, ticks };
}

interface PanelSpec {
  title: string;
  unit: 'bytes' | 'ms';
  value: (side: ChartPoint['ours']) => number;
}

function panel(points: ChartPoint[], spec: PanelSpec, left: number, colours: Map<string, string>): string {
  const x = logAxis(points.map((p) => p.sizeBytes));
  const y = logAxis(points.flatMap((p) => [spec.value(p.ours), spec.value(p.seed)]));
  const px = (v: number) => left + (Math.log10(v / x.min) / Math.log10(x.max / x.min)) * PANEL.width;
  const py = (v: number) => PANEL.top + PANEL.height - (Math.log10(v / y.min) / Math.log10(y.max / y.min)) * PANEL.height;
  const parts: string[] = [];
  parts.push(
    `<text x="${left + PANEL.width / 2}" y="${PANEL.top - 16}" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(spec.title)}</text>`,
  );
  parts.push(`<rect x="${left}" y="${PANEL.top}" width="${PANEL.width}" height="${PANEL.height}" fill="none" stroke="#333"/>`);
  for (const t of x.ticks) {
    const at = px(t).toFixed(1);
    parts.push(`<line x1="${at}" x2="${at}" y1="${PANEL.top}" y2="${PANEL.top + PANEL.height}" stroke="#ddd"/>`);
    parts.push(
      `<text x="${at}" y="${PANEL.top + PANEL.height + 16}" text-anchor="middle" font-size="11">${escapeXml(sizeLabel(t, 'bytes'))}</text>`,
    );
  }
  for (const t of y.ticks) {
    const at = py(t).toFixed(1);
    parts.push(`<line x1="${left}" x2="${left + PANEL.width}" y1="${at}" y2="${at}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 6}" y="${Number(at) + 4}" text-anchor="end" font-size="11">${escapeXml(sizeLabel(t, spec.unit))}</text>`);
  }
  parts.push(
    `<text x="${left + PANEL.width / 2}" y="${PANEL.top + PANEL.height + 36}" text-anchor="middle" font-size="12">file size</text>`,
  );
  for (const p of points) {
    const colour = colours.get(p.family) ?? '#000';
    const cx = px(p.sizeBytes).toFixed(1);
    const title = `<title>${escapeXml(`${p.label}: ours ${sizeLabel(spec.value(p.ours), spec.unit)}, seed ${sizeLabel(spec.value(p.seed), spec.unit)}`)}</title>`;
    parts.push(
      `<circle cx="${cx}" cy="${py(spec.value(p.seed)).toFixed(1)}" r="8" fill="none" stroke="${colour}" stroke-width="2">${title}</circle>`,
    );
    parts.push(`<circle cx="${cx}" cy="${py(spec.value(p.ours)).toFixed(1)}" r="4" fill="${colour}">${title}</circle>`);
  }
  return parts.join('\n');
}

/** The whole chart: two panels and a legend of formats and markers. */
/** The two panels' titles: what the bytes and the wall time are, for the run they come from. */
export interface ChartTitles {
  bytes: string;
  wallMs: string;
}

const LOOPBACK_TITLES: ChartTitles = { bytes: 'Bytes ffprobe received (fewest of the runs)', wallMs: 'ffprobe wall time (median)' };

export function renderChart(points: ChartPoint[], subtitle: string, titles: ChartTitles = LOOPBACK_TITLES): string {
  const families = [...new Set(points.map((p) => p.family))];
  const colours = new Map(families.map((f, i) => [f, PALETTE[i % PALETTE.length]]));
  const legendY = PANEL.top + PANEL.height + 58;
  const legend: string[] = [
    `<circle cx="80" cy="${legendY}" r="4" fill="#333"/><text x="90" y="${legendY + 4}" font-size="12">ours</text>`,
    `<circle cx="150" cy="${legendY}" r="8" fill="none" stroke="#333" stroke-width="2"/><text x="164" y="${legendY + 4}" font-size="12">seed's command</text>`,
  ];
  const columnWidth = 170;
  const perRow = Math.floor((WIDTH - 80) / columnWidth);
  families.forEach((family, i) => {
    const lx = 80 + (i % perRow) * columnWidth;
    const ly = legendY + 22 * (1 + Math.floor(i / perRow));
    legend.push(
      `<rect x="${lx - 5}" y="${ly - 5}" width="10" height="10" fill="${colours.get(family)}"/><text x="${lx + 10}" y="${ly + 4}" font-size="12">${escapeXml(family)}</text>`,
    );
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    panel(points, { title: titles.bytes, unit: 'bytes', value: (s) => s.bytes }, PANEL_LEFT[0], colours),
    panel(points, { title: titles.wallMs, unit: 'ms', value: (s) => s.wallMs }, PANEL_LEFT[1], colours),
    legend.join('\n'),
    `<text x="${WIDTH / 2}" y="${HEIGHT - 12}" text-anchor="middle" font-size="11" fill="#555">${escapeXml(subtitle)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
