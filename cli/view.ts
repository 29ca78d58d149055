/** How the operator commands show a row's analysis: its status, one line of media or error, and the per-step table. */
import type { Analysis, StepName } from '../functions/lib/analysis';
import { STEP_NAMES } from '../functions/lib/analysis';
import { MEDIA_SCHEMA_VERSION, type StoredMediaSummary } from '../functions/lib/media-schema';
import { describeMedia } from '../functions/lib/media-summary';
import { itemToRow, type PlainRow, recordedOutcome } from './rows';
import type { Item } from './table';
import { formatTable, printable } from './table-format';

export type RowStatus = 'SUCCEEDED' | 'FAILED' | 'STALE' | 'DELETED' | 'NOT_ANALYSED';

export const STATUS_LABELS: Record<RowStatus, string> = {
  SUCCEEDED: 'SUCCEEDED',
  FAILED: 'FAILED',
  STALE: 'STALE (re-pointed)',
  DELETED: 'DELETED (object removed)',
  NOT_ANALYSED: 'not analysed',
};

/** Whether S3 told that the object analysed was deleted since (`analysis.object_state`). */
export function isDeleted(row: PlainRow | undefined): boolean {
  return (row?.analysis as { object_state?: unknown } | undefined)?.object_state === 'DELETED';
}

/**
 * Whether the row points at another object than its analysis was of (`analysis.object`): re-pointed
 * with UpdateItem after its analysis, which the pipe passes by. Rows analysed before `analysis.object`
 * existed can't tell, and are not stale.
 */
export function isStale(row: PlainRow | undefined): boolean {
  const analysed =
    row?.analysis && typeof row.analysis === 'object'
      ? (row.analysis as { object?: { bucket?: unknown; key?: unknown } }).object
      : undefined;
  return analysed !== undefined && (analysed.bucket !== row?.S3_bucket || analysed.key !== row?.S3_object);
}

export function statusOf(row: PlainRow | undefined): RowStatus {
  const outcome = recordedOutcome(row);
  if (outcome !== 'SUCCEEDED' && outcome !== 'FAILED') return 'NOT_ANALYSED';
  return isStale(row) ? 'STALE' : isDeleted(row) ? 'DELETED' : outcome;
}

function analysisOf(row: PlainRow): Partial<Analysis> | undefined {
  return row.analysis && typeof row.analysis === 'object' ? (row.analysis as Partial<Analysis>) : undefined;
}

/** The row's `media` map, version 1 or 2 (describeMedia copes with a hand-written one that lacks lists). */
function mediaOf(row: PlainRow): StoredMediaSummary | undefined {
  return row.media && typeof row.media === 'object' ? (row.media as StoredMediaSummary) : undefined;
}

/** "NotMediaError in ffprobe: …", the media summary, or '' when there is neither. */
export function outcomeLine(row: PlainRow): string {
  const error = analysisOf(row)?.error;
  if (error) return `${error.type} in ${error.step}: ${error.message}`;
  const media = mediaOf(row);
  return media ? describeMedia(media) : '';
}

/** A version 2 summary's QC findings, one line each ("warning  not_faststart: …"), and how many were left out. */
function findingLines(row: PlainRow): string[] {
  const media = mediaOf(row);
  if (media?.schema_version !== MEDIA_SCHEMA_VERSION || !Array.isArray(media.findings)) return [];
  const lines = media.findings.map((f) => `${f.severity.padEnd(7)}  ${f.rule}: ${f.message}`);
  if (media.findings_omitted) lines.push(`… and ${media.findings_omitted} more`);
  return lines;
}

/** A failed row as the status listing shows it, in text and in JSON. */
export interface FailedRow {
  /** A number, as on the row. */
  movie_id: unknown;
  movie_title?: string;
  object?: string;
  error?: Analysis['error'];
  finished_at?: string;
}

export function failedRowOf(item: Item): FailedRow {
  const row = itemToRow(item);
  const analysis = analysisOf(row);
  const object =
    typeof row.S3_bucket === 'string' && typeof row.S3_object === 'string' ? `s3://${row.S3_bucket}/${row.S3_object}` : undefined;
  return {
    movie_id: row.movie_id,
    ...(typeof row.movie_title === 'string' ? { movie_title: row.movie_title } : {}),
    ...(object ? { object } : {}),
    ...(analysis?.error ? { error: analysis.error } : {}),
    ...(analysis?.finished_at ? { finished_at: analysis.finished_at } : {}),
  };
}

export function failedTable(rows: readonly FailedRow[]): string {
  return formatTable(
    ['ID', 'TITLE', 'ERROR'],
    rows.map((r) => [
      String(r.movie_id),
      r.movie_title ?? '',
      r.error ? `${r.error.type} in ${r.error.step}: ${r.error.message}` : '(no error recorded)',
    ]),
  );
}

function durationText(ms: number | undefined): string {
  if (ms === undefined) return '-';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** The readable account of one row: where its media is, the outcome, and each step. */
export function rowReport(row: PlainRow, inlineOutputBytes: number | undefined): string {
  const status = statusOf(row);
  const analysis = analysisOf(row);
  const fields: Array<[string, string]> = [
    ['movie_id', String(row.movie_id)],
    ['title', String(row.movie_title ?? '')],
    ['object', `s3://${String(row.S3_bucket ?? '?')}/${String(row.S3_object ?? '?')}`],
    ['status', STATUS_LABELS[status]],
  ];
  if (analysis) {
    const started = analysis.started_at ? Date.parse(analysis.started_at) : NaN;
    const finished = analysis.finished_at ? Date.parse(analysis.finished_at) : NaN;
    const took = Number.isFinite(started) && Number.isFinite(finished) ? ` (took ${durationText(finished - started)})` : '';
    fields.push(['started', `${analysis.started_at ?? '?'}${took}`]);
    if (analysis.execution) fields.push(['execution', analysis.execution]);
  }
  const line = outcomeLine(row);
  if (line) fields.push([analysis?.error ? 'error' : 'media', line]);
  if (!analysis?.error) for (const finding of findingLines(row)) fields.push(['finding', finding]);
  if (typeof row.ffprobe_output_location === 'string') fields.push(['ffprobe JSON', row.ffprobe_output_location]);
  else if (inlineOutputBytes !== undefined) fields.push(['ffprobe JSON', `on the row (ffprobe_output, ${inlineOutputBytes} bytes)`]);
  const width = Math.max(...fields.map(([k]) => k.length));
  const text = fields.map(([k, v]) => `${k.padEnd(width)}  ${printable(v)}`);
  const steps = analysis?.steps;
  if (steps) {
    const rows = STEP_NAMES.map((name: StepName) => {
      const step = steps[name];
      return [
        name,
        step?.status ?? '-',
        step ? String(step.attempts) : '-',
        step?.status === 'SKIPPED' ? '-' : durationText(step?.duration_ms),
        step?.error ?? '',
      ];
    });
    text.push('', formatTable(['STEP', 'STATUS', 'ATTEMPTS', 'DURATION', 'ERROR'], rows));
  }
  return text.join('\n');
}
