/**
 * Throwaway `#!/bin/sh` stand-ins for ffprobe and confine. They exercise only runFfprobe's process
 * handling (arguments, environment, timeout, output cap, signals); the real binaries are tested in
 * tests/layer.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A shell line that sets `$url` to the script's last argument: the URL, as ffprobe and confine are given it. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: ${$#} is the shell's last argument, not a template
export const URL_ARGUMENT = 'eval "url=\\${$#}"';

/** A temporary directory for fake executables and the files they write, with a stand-in for the layer's confine beside them. */
export class FakeFfprobeDir {
  readonly dir = mkdtempSync(join(tmpdir(), 'media-probe-unit-'));

  constructor() {
    // Like the real confine: --status answers, options are read up to `--`, then the program replaces it (same pid).
    this.script(
      'confine',
      [
        `if [ "$1" = --status ]; then echo landlock_abi=0; echo 'landlock_error=stand-in'; exit 0; fi`,
        `: > '${this.path('confine.args')}'`,
        `while [ "$1" != -- ]; do printf '%s\\n' "$1" >> '${this.path('confine.args')}'; shift; done`,
        'shift',
        'exec "$@"',
      ].join('\n'),
    );
  }

  /** The options runFfprobe gave confine on its last run, one element per entry. */
  confineOptions(): string[] {
    return readFileSync(this.path('confine.args'), 'utf8').split('\n').slice(0, -1);
  }

  /** A path inside the directory. */
  path(name: string): string {
    return join(this.dir, name);
  }

  /** Writes an executable shell script; the child runs with an empty environment, so commands use absolute paths. */
  script(name: string, body: string): string {
    const file = this.path(name);
    writeFileSync(file, `#!/bin/sh\n${body}\n`);
    chmodSync(file, 0o755);
    return file;
  }

  /** A script that prints a file's contents on stdout and exits 0, like ffprobe on readable media. */
  printing(name: string, json: string): string {
    const output = this.path(`${name}.out`);
    writeFileSync(output, json);
    return this.script(name, `exec /bin/cat '${output}'`);
  }

  /**
   * A script that prints an ffprobe document whose format.filename is the URL it was given (the
   * last argument), as the real ffprobe does. The URL is spliced in unescaped: presigned URLs are
   * percent-encoded and need no JSON escaping.
   */
  reportingUrl(name: string, doc: { streams?: unknown[]; format?: Record<string, unknown> }): string {
    const marker = '@URL@';
    const [prefix, suffix] = JSON.stringify({ ...doc, format: { ...doc.format, filename: marker } }).split(marker);
    writeFileSync(this.path(`${name}.prefix`), prefix);
    writeFileSync(this.path(`${name}.suffix`), suffix);
    return this.script(
      name,
      `${URL_ARGUMENT}\nprintf '%s%s%s' "$(/bin/cat '${this.path(`${name}.prefix`)}')" "$url" "$(/bin/cat '${this.path(`${name}.suffix`)}')"`,
    );
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
