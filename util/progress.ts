/** A status line for long runs: redrawn in place on a terminal, a plain line every few seconds in a log. */

const TERMINAL_REDRAW_MS = 100;
const LOG_LINE_MS = 2_000;

/** A remaining time as a progress line shows it: "42 s", "3 min 5 s", "2 h 14 min". */
export function durationText(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m} min ${Math.round(seconds % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  /** Show nothing unless the stream is a terminal: a running count is noise in a log. */
  terminalOnly?: boolean;
  now?: () => number;
}

export class Progress {
  /** Whether the line is redrawn in place (a terminal) or printed as lines (a log). */
  readonly terminal: boolean;
  private readonly stream: NodeJS.WriteStream;
  private readonly silent: boolean;
  private readonly now: () => number;
  private lastDrawn: number;
  private lastText = '';
  private shown = false;

  constructor(options: ProgressOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.now = options.now ?? Date.now;
    this.terminal = Boolean(this.stream.isTTY);
    this.silent = Boolean(options.terminalOnly) && !this.terminal;
    // A terminal shows the line at once; a log gets its first line once there is something worth reading.
    this.lastDrawn = this.terminal ? -Infinity : this.now();
  }

  /** Shows `text` unless it is what is shown already or the last line went out too recently. */
  update(text: string): void {
    if (this.silent || text === this.lastText) return;
    if (this.now() - this.lastDrawn < (this.terminal ? TERMINAL_REDRAW_MS : LOG_LINE_MS)) return;
    this.draw(text);
  }

  /** Shows the final line, or erases the line when there is none, and leaves the cursor on a fresh line. */
  finish(text?: string): void {
    if (this.silent) return;
    if (text !== undefined) this.draw(text);
    else if (this.shown && this.terminal) this.stream.write('\r\x1b[K');
    if (text !== undefined && this.terminal) this.stream.write('\n');
  }

  private draw(text: string): void {
    // \x1b[K clears what a longer previous line left behind.
    this.stream.write(this.terminal ? `\r${text}\x1b[K` : `${text}\n`);
    this.lastText = text;
    this.lastDrawn = this.now();
    this.shown = true;
  }
}
