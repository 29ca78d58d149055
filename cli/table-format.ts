/** Text for the terminal: aligned plain-text tables, and row data made safe to print (a title or key can hold escape sequences). */

/**
 * C0 and C1 control characters (escape sequences, carriage returns, bells, newlines) and the
 * Unicode direction overrides that can make printed text read differently from what it is.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is this expression's purpose
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** Text as it can be shown safely on one line: every control character written as its escape (`\x1b`, `\u202e`). */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** An aligned table; every cell goes through `printable`, since cells hold what rows and files say. */
export function formatTable(headers: string[], rows: string[][]): string {
  const safeRows = rows.map((row) => row.map((cell) => printable(cell ?? '')));
  const widths = headers.map((h, i) => Math.max(h.length, ...safeRows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...safeRows.map(line)].join('\n');
}
