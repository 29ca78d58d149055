/** The backfill's progress on stderr: a bar redrawn in place on a terminal, plain lines every few seconds otherwise. */

export interface ProgressCounts {
  /** Rows the run set out to start. */
  total: number;
  started: number;
  skipped: number;
  failed: number;
  executions: number;
}

const BAR_WIDTH = 24;
const TTY_REDRAW_MS = 100;
const PLAIN_LINE_MS = 2_000;

function seconds(s: number): string {
  if (s < 60) return `${Math.ceil(s)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** "[######------] 120/200 rows · 12 executions · 19.8 rows/s · ETA 4 s · 1 failed to start" */
export function progressText(counts: ProgressCounts, elapsedMs: number, bar: boolean): string {
  const done = counts.started + counts.skipped + counts.failed;
  const fraction = counts.total ? Math.min(1, done / counts.total) : 1;
  const rate = elapsedMs > 0 ? (done / elapsedMs) * 1000 : 0;
  const remaining = counts.total - done;
  const parts = [
    `${done}/${counts.total} rows`,
    `${counts.executions} execution${counts.executions === 1 ? '' : 's'}`,
    `${rate.toFixed(1)} rows/s`,
    remaining <= 0 ? 'done' : rate > 0 ? `ETA ${seconds(remaining / rate)}` : 'ETA -',
  ];
  if (counts.skipped) parts.push(`${counts.skipped} skipped`);
  if (counts.failed) parts.push(`${counts.failed} failed to start`);
  const filled = Math.round(fraction * BAR_WIDTH);
  return `${bar ? `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ` : 'backfill: '}${parts.join(' · ')}`;
}

export interface ProgressReporter {
  update(counts: ProgressCounts): void;
  /** Draws the final state and leaves the cursor on a fresh line. */
  finish(counts: ProgressCounts): void;
}

export function progressReporter(stream: NodeJS.WriteStream = process.stderr, now: () => number = Date.now): ProgressReporter {
  const startedAt = now();
  const tty = Boolean(stream.isTTY);
  // A terminal shows the bar at once; a log gets its first line once there is a rate worth reading.
  let lastDrawn = tty ? -Infinity : startedAt;
  const draw = (counts: ProgressCounts) => {
    const text = progressText(counts, now() - startedAt, tty);
    // \x1b[K clears what a longer previous line left behind.
    stream.write(tty ? `\r${text}\x1b[K` : `${text}\n`);
    lastDrawn = now();
  };
  return {
    update(counts) {
      if (now() - lastDrawn >= (tty ? TTY_REDRAW_MS : PLAIN_LINE_MS)) draw(counts);
    },
    finish(counts) {
      draw(counts);
      if (tty) stream.write('\n');
    },
  };
}

/** A count of the rows a long scan has read so far; shown on a terminal only, and erased when the scan ends. */
export function scanProgress(stream: NodeJS.WriteStream = process.stderr): { update: (scanned: number) => void; finish: () => void } {
  let shown = false;
  let lastDrawn = 0;
  return {
    update(scanned) {
      if (!stream.isTTY || Date.now() - lastDrawn < TTY_REDRAW_MS) return;
      stream.write(`\rscanning the table: ${scanned} rows read\x1b[K`);
      shown = true;
      lastDrawn = Date.now();
    },
    finish() {
      if (shown) stream.write('\r\x1b[K');
    },
  };
}
