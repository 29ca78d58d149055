/**
 * `sam build` of template.yaml into a temporary directory (never .aws-sam): the three function
 * bundles load in Node 22 and export their handlers, and the ffprobe layer holds bin/ffprobe
 * built for the template's default architecture. The first layer build compiles FFmpeg and
 * takes minutes; later ones reuse the layer Makefile's cache.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { hostFfprobe } from '../../local/ffprobe-binary';
import { Evaluator, ensureVenv, type Json, loadTemplate, repoRoot, run, VENV_TIMEOUT_MS, venvTool } from './support';

const BUILD_TIMEOUT_MS = 45 * 60_000;
const template = loadTemplate();
const defaults = new Evaluator(template);
const architecture = defaults.evaluate({ Ref: 'Architecture' }) as string;

/** ELF e_machine values of the two Lambda architectures. */
const ELF_MACHINE: Record<string, number> = { arm64: 183, x86_64: 62 };

let buildDir: string;

beforeAll(() => {
  ensureVenv();
  buildDir = mkdtempSync(path.join(tmpdir(), 'media-probe-sam-build-'));
  // Build flags come from samconfig.toml (build_in_source, parameters); only the output moves.
  const result = run(venvTool('sam'), ['build', '--template-file', 'template.yaml', '--build-dir', buildDir, '--no-cached'], {
    timeoutMs: BUILD_TIMEOUT_MS,
  });
  if (result.status !== 0) throw new Error(`sam build failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
}, VENV_TIMEOUT_MS + BUILD_TIMEOUT_MS);

afterAll(() => {
  if (buildDir) rmSync(buildDir, { recursive: true, force: true });
});

/** The environment a function gets in Lambda: Globals merged with its own variables. */
function environmentOf(logicalId: string): Record<string, string> {
  const globals = defaults.evaluate(template.Globals.Function.Environment.Variables) as Json;
  const own = defaults.evaluate(template.Resources[logicalId].Properties.Environment?.Variables ?? {}) as Json;
  return Object.fromEntries(Object.entries({ ...globals, ...own }).map(([k, v]) => [k, String(v)]));
}

/** Loads a bundle in a fresh Node 22 process with a function's Lambda environment, as the runtime would. */
function loadBundle(bundle: string, environment: Record<string, string>) {
  return spawnSync(process.execPath, ['-e', `const m = require(${JSON.stringify(bundle)}); process.stdout.write(typeof m.handler);`], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { PATH: process.env.PATH, AWS_REGION: 'eu-west-1', ...environment },
  });
}

describe('sam build', () => {
  it.each(['PresignFunction', 'FfprobeFunction', 'UpdateFunction', 'SelectFunction', 'ObjectEventFunction'])(
    'bundles %s into a module that loads and exports its handler',
    (logicalId) => {
      const bundle = path.join(buildDir, logicalId, 'index.js');
      expect(existsSync(bundle)).toBe(true);
      expect(existsSync(`${bundle}.map`)).toBe(true);
      // The probe function checks its layer at cold start; here the layer's build for this machine stands in for /opt.
      const layer: Record<string, string> = logicalId === 'FfprobeFunction' ? { FFPROBE_PATH: hostFfprobe(repoRoot) } : {};
      const probe = loadBundle(bundle, { ...environmentOf(logicalId), ...layer });
      expect({ stderr: probe.stderr, handler: probe.stdout }).toEqual({ stderr: '', handler: 'function' });
    },
    60_000,
  );

  it('refuses to start the probe function without its layer, saying so', () => {
    const probe = loadBundle(path.join(buildDir, 'FfprobeFunction', 'index.js'), {
      ...environmentOf('FfprobeFunction'),
      FFPROBE_PATH: path.join(buildDir, 'no-such-layer', 'ffprobe'),
    });
    expect(probe.stdout).toBe('');
    expect(probe.stderr).toMatch(/ConfigurationError: ffprobe not found at .*: is the ffprobe layer attached to the function\?/);
  }, 60_000);

  it(`puts an executable ffprobe for ${architecture} at bin/ffprobe of the layer (/opt/bin/ffprobe)`, () => {
    const binary = path.join(buildDir, 'FfprobeLayer', 'bin', 'ffprobe');
    expect(existsSync(binary)).toBe(true);
    accessSync(binary, constants.X_OK);
    const header = Buffer.alloc(20);
    const fd = openSync(binary, 'r');
    try {
      readSync(fd, header, 0, header.length, 0);
    } finally {
      closeSync(fd);
    }
    expect(header.subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
    expect({ elfClass64: header[4] === 2, littleEndian: header[5] === 1, machine: header.readUInt16LE(18) }).toEqual({
      elfClass64: true,
      littleEndian: true,
      machine: ELF_MACHINE[architecture],
    });
  });

  it('writes a template whose functions and layer point at the built artifacts', () => {
    const built = readFileSync(path.join(buildDir, 'template.yaml'), 'utf8');
    for (const artifact of ['PresignFunction', 'FfprobeFunction', 'UpdateFunction', 'SelectFunction', 'ObjectEventFunction']) {
      expect(built).toMatch(new RegExp(`CodeUri: ${artifact}\\b`));
    }
    expect(built).toMatch(/ContentUri: FfprobeLayer\b/);
  });
});
