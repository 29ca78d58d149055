/**
 * Shared helpers for the template tests: reading template.yaml with CloudFormation's short-form
 * tags, evaluating the intrinsic functions the template uses for a given set of parameters, and
 * running the Python tools from the project's .venv (created by tools/venv.sh).
 */
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import path from 'node:path';
import { readTemplate } from '../../local/cfn';

export const repoRoot = path.resolve(__dirname, '..', '..');
export const templatePath = path.join(repoRoot, 'template.yaml');

/** Template data as the tests dig into it: any path, checked by the assertion that reads it. */
export type Json = any;

/** template.yaml as plain data, short-form tags turned into their long form (`!Ref X` → `{Ref: X}`). */
export function loadTemplate(): Json {
  return readTemplate(templatePath);
}

export { attOf, type Deployment, Evaluator, refOf } from '../../local/cfn';

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command from the repository root, never through a shell. */
export function run(command: string, args: string[], options: { timeoutMs: number; env?: NodeJS.ProcessEnv; cwd?: string }): RunResult {
  const result: SpawnSyncReturns<string> = spawnSync(command, args, {
    cwd: options.cwd ?? repoRoot,
    encoding: 'utf8',
    timeout: options.timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
    // SAM CLI would otherwise try to send telemetry, which only slows runs without network.
    env: { ...process.env, SAM_CLI_TELEMETRY: '0', ...options.env },
  });
  if (result.error) throw new Error(`${command} ${args.join(' ')} could not run: ${result.error.message}`);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Path of a tool installed by tools/venv.sh. */
export const venvTool = (name: 'sam' | 'cfn-lint' | 'checkov'): string => path.join(repoRoot, '.venv', 'bin', name);

/** Creates or refreshes .venv (fast when it is up to date); fails with the installer's output. */
export function ensureVenv(): void {
  const result = run('bash', [path.join(repoRoot, 'tools', 'venv.sh')], { timeoutMs: 15 * 60_000 });
  if (result.status !== 0) {
    throw new Error(`tools/venv.sh failed (exit ${result.status}); the template checks need its tools.\n${result.stderr}${result.stdout}`);
  }
}

/** Time the slow suites may take: venv creation on a cold pip cache, and the layer build. */
export const VENV_TIMEOUT_MS = 16 * 60_000;
