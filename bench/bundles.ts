/**
 * The functions as deployed: each entry point bundled with esbuild using the template's own
 * BuildProperties (what `sam build` runs), their sizes, and module initialisation time — the time
 * to `require` the bundle in a fresh Node process with the function's environment, a proxy for
 * the code's share of a cold start.
 */
import { spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { deflateRawSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { readTemplate } from '../local/cfn';
import { hostFfprobe } from '../local/ffprobe-binary';
import { localTemplate } from '../local/template';

export interface BundleResult {
  logicalId: string;
  entryPoint: string;
  jsBytes: number;
  mapBytes: number;
  /** index.js and its map deflated as a zip stores them: roughly the deployment package size. */
  zippedBytes: number;
  /** Milliseconds to require the bundle, one value per fresh process. */
  requireMs: number[];
  /** Spawn to exit of the whole process (Node start-up, require, exit). */
  processMs: number[];
  /** Resident set size right after the require. */
  rssBytes: number[];
  /** requireMs with NODE_OPTIONS=--enable-source-maps, which the template leaves out: what reading the source map would cost. */
  requireMsWithSourceMaps: number[];
}

/** The esbuild settings a function's Metadata.BuildProperties gives SAM. */
interface BuildProperties {
  Target?: string;
  Format?: esbuild.Format;
  MainFields?: string;
  Minify?: boolean | string;
  Sourcemap?: boolean | string;
  SourcesContent?: boolean | string;
}

const LOAD_SCRIPT = `'use strict';
const { performance } = require('node:perf_hooks');
const started = performance.now();
const handlerModule = require(process.argv[2]);
const requireMs = performance.now() - started;
if (typeof handlerModule[process.argv[3]] !== 'function') throw new Error('the bundle exports no ' + process.argv[3]);
process.stdout.write(JSON.stringify({ requireMs, rss: process.memoryUsage().rss }));
`;

/** The variables Lambda's Node.js runtime sets for every function (those the code can observe at init). */
function runtimeEnvironment(logicalId: string, memoryMb: string, taskRoot: string): Record<string, string> {
  return {
    AWS_REGION: 'eu-west-1',
    AWS_DEFAULT_REGION: 'eu-west-1',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_LAMBDA_FUNCTION_NAME: `media-probe-${logicalId}`,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: memoryMb,
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
    AWS_XRAY_DAEMON_ADDRESS: '169.254.79.129:2000',
    LAMBDA_TASK_ROOT: taskRoot,
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
  };
}

/** Resource references in the template's environment become plausible deployed values. */
function deployedValue(name: string, value: string): string {
  if (!value.startsWith('<')) return value;
  return name === 'TABLE_NAME' ? 'media-probe-movies' : `media-probe-${name.toLowerCase().replace(/_/g, '-')}`;
}

function loadOnce(
  nodeBinary: string,
  scriptPath: string,
  bundle: string,
  exportName: string,
  env: Record<string, string>,
): Promise<{ requireMs: number; processMs: number; rss: number }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(nodeBinary, [scriptPath, bundle, exportName], {
      env,
      cwd: path.dirname(bundle),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      const processMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0)
        return reject(new Error(`loading ${bundle} failed (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
      const parsed = JSON.parse(stdout) as { requireMs: number; rss: number };
      resolve({ requireMs: parsed.requireMs, processMs, rss: parsed.rss });
    });
  });
}

/**
 * Bundles every function the state machine uses into `outDir/<LogicalId>/index.js`, then loads
 * each bundle `runs` times in fresh processes, round-robin so background load hits all alike.
 */
export async function benchmarkBundles(repositoryRoot: string, outDir: string, runs: number): Promise<BundleResult[]> {
  const templatePath = path.join(repositoryRoot, 'template.yaml');
  const raw = readTemplate(templatePath);
  const functions = [...new Map(Object.values(localTemplate(templatePath).analysis.substitutions).map((f) => [f.logicalId, f])).values()];
  const scriptPath = path.join(outDir, 'load-bundle.js');
  await mkdir(outDir, { recursive: true });
  writeFileSync(scriptPath, LOAD_SCRIPT);

  const results: BundleResult[] = [];
  const environments: Array<Record<string, string>> = [];
  for (const fn of functions) {
    const resource = raw.Resources?.[fn.logicalId];
    const props = (resource?.Metadata?.BuildProperties ?? {}) as BuildProperties;
    // As deployed with the Defaults (a parameter's value, Globals merged): what Lambda puts in AWS_LAMBDA_FUNCTION_MEMORY_SIZE.
    const memory = String(fn.memoryMb);
    const outfile = path.join(outDir, fn.logicalId, 'index.js');
    await esbuild.build({
      entryPoints: [path.join(repositoryRoot, fn.entryPoint)],
      bundle: true,
      platform: 'node',
      target: String(props.Target ?? 'es2023'),
      format: props.Format ?? 'cjs',
      mainFields: String(props.MainFields ?? 'main').split(','),
      minify: props.Minify === true || props.Minify === 'true',
      sourcemap: props.Sourcemap === true || props.Sourcemap === 'true',
      sourcesContent: String(props.SourcesContent ?? 'true') !== 'false',
      outfile,
      logLevel: 'silent',
    });
    const js = readFileSync(outfile);
    const map = statSync(`${outfile}.map`, { throwIfNoEntry: false });
    const mapBytes = map?.size ?? 0;
    const zippedBytes = deflateRawSync(js).length + (map ? deflateRawSync(readFileSync(`${outfile}.map`)).length : 0);
    results.push({
      logicalId: fn.logicalId,
      entryPoint: fn.entryPoint,
      jsBytes: js.length,
      mapBytes,
      zippedBytes,
      requireMs: [],
      processMs: [],
      rssBytes: [],
      requireMsWithSourceMaps: [],
    });
    const variables = Object.fromEntries(Object.entries(fn.environment).map(([name, value]) => [name, deployedValue(name, value)]));
    // The probe function checks its layer's binary at cold start: the layer's build for this machine stands in for /opt.
    if (variables.FFPROBE_PATH) variables.FFPROBE_PATH = hostFfprobe(repositoryRoot);
    environments.push({ ...runtimeEnvironment(fn.logicalId, memory, path.dirname(outfile)), ...variables });
  }

  for (let i = 0; i < runs; i++) {
    for (const [index, result] of results.entries()) {
      const fn = functions[index];
      const sample = await loadOnce(
        process.execPath,
        scriptPath,
        path.join(outDir, fn.logicalId, 'index.js'),
        fn.exportName,
        environments[index],
      );
      result.requireMs.push(sample.requireMs);
      result.processMs.push(sample.processMs);
      result.rssBytes.push(sample.rss);
      const mapped = await loadOnce(process.execPath, scriptPath, path.join(outDir, fn.logicalId, 'index.js'), fn.exportName, {
        ...environments[index],
        NODE_OPTIONS: '--enable-source-maps',
      });
      result.requireMsWithSourceMaps.push(mapped.requireMs);
    }
  }
  return results;
}
