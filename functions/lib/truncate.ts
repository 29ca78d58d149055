/** Cuts text to a length, marking the cut: every string the pipeline copies from a file or a row into a state or an item goes through this. */

/** `text` when it has at most `maxLength` characters, else its start and "…", `maxLength` characters in all. */
export function truncate(text: string, maxLength: number): string {
  return text.length > maxLength ? `${text.slice(0, maxLength - 1)}…` : text;
}
