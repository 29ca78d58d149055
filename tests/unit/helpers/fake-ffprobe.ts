/**
 * Throwaway `#!/bin/sh` stand-ins for ffprobe. They exercise only runFfprobe's process handling
 * (arguments, environment, timeout, output cap, signals); the real binary is tested in tests/layer.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temporary directory for fake executables and the files they write. */
export class FakeFfprobeDir {
  readonly dir = mkdtempSync(join(tmpdir(), 'media-probe-unit-'));

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
    // biome-ignore lint/suspicious/noTemplateCurlyInString: ${$#} is the shell's last argument, not a template
    const last = 'eval "url=\\${$#}"';
    return this.script(
      name,
      `${last}\nprintf '%s%s%s' "$(/bin/cat '${this.path(`${name}.prefix`)}')" "$url" "$(/bin/cat '${this.path(`${name}.suffix`)}')"`,
    );
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
