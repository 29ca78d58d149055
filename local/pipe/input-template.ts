/**
 * EventBridge Pipes' input transformation, as far as a JSON template of `<$.path>` values goes: the
 * local pipe applies the template's InputTemplate to each record of a batch before it starts the
 * state machine, as Pipes does for a Step Functions target. What Pipes documents, and what the local
 * rendering of a missing path rests on, is in docs/pipes-semantics.md, section 7.
 */

/** A placeholder: a JSON path (or, unsupported locally, a reserved variable) between angle brackets. */
const PLACEHOLDER = /<([^<>]*)>/g;
/** The JSON path syntax Pipes documents, less wildcards: dot notation with dashes and underscores, array indices. */
const PATH = /^\$((\.[A-Za-z0-9_-]+)|(\[\d+\]))+$/;
const STEP = /\.([A-Za-z0-9_-]+)|\[(\d+)\]/g;

export class InputTemplateError extends Error {
  override name = 'InputTemplateError';
}

/** The template's text split at its placeholders, each placeholder a JSON path's steps. */
interface Part {
  text: string;
  path?: Array<string | number>;
}

export class InputTemplate {
  private constructor(private readonly parts: Part[]) {}

  /**
   * Reads a template. The local pipe renders JSON templates whose placeholders are JSON values (not
   * parts of strings) and JSON paths without wildcards; anything else fails the local run at start
   * rather than being rendered differently from Pipes.
   */
  static parse(template: string): InputTemplate {
    const parts: Part[] = [];
    let last = 0;
    for (const match of template.matchAll(PLACEHOLDER)) {
      const [whole, path] = match;
      const at = match.index ?? 0;
      if (insideString(template, at))
        throw new InputTemplateError(`the local pipe renders placeholders only as JSON values, not inside strings: ${whole}`);
      if (!PATH.test(path)) throw new InputTemplateError(`the local pipe renders only JSON paths without wildcards: ${whole}`);
      parts.push({ text: template.slice(last, at) }, { text: whole, path: steps(path) });
      last = at + whole.length;
    }
    parts.push({ text: template.slice(last) });
    const withNulls = parts.map((part) => (part.path ? 'null' : part.text)).join('');
    try {
      const parsed: unknown = JSON.parse(withNulls);
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    } catch (error) {
      throw new InputTemplateError(`the input template is not a JSON object once its placeholders are filled: ${(error as Error).message}`);
    }
    return new InputTemplate(parts);
  }

  /**
   * The template filled from one record: a string value quoted, an object or array as JSON, and a
   * path the record does not have as an empty string, as EventBridge's input transformer renders it.
   */
  render(record: unknown): unknown {
    const text = this.parts
      .map((part) => {
        if (!part.path) return part.text;
        const value = valueAt(record, part.path);
        return JSON.stringify(value === undefined ? '' : value);
      })
      .join('');
    return JSON.parse(text);
  }
}

function steps(path: string): Array<string | number> {
  return [...path.slice(1).matchAll(STEP)].map(([, key, index]) => (key === undefined ? Number(index) : key));
}

function valueAt(value: unknown, path: Array<string | number>): unknown {
  let current = value;
  for (const step of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[step];
  }
  return current;
}

/** Whether a position of a JSON text lies inside a string literal. */
function insideString(text: string, position: number): boolean {
  let inside = false;
  for (let i = 0; i < position; i += 1) {
    if (text[i] === '\\') i += 1;
    else if (text[i] === '"') inside = !inside;
  }
  return inside;
}
