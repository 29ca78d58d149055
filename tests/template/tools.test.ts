/**
 * Runs the pinned linters from .venv on template.yaml: cfn-lint must report nothing at all, and
 * checkov must fail nothing, with exactly the skips the template declares (each with its reason),
 * both on the SAM template and on the CloudFormation SAM generates from it (roles and policies).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureVenv, type Json, loadTemplate, repoRoot, run, VENV_TIMEOUT_MS, venvTool } from './support';

beforeAll(ensureVenv, VENV_TIMEOUT_MS);

describe('cfn-lint', () => {
  it('reports no error and no warning', () => {
    // .cfnlintrc.yaml names the template; no rule is ignored there.
    const result = run(venvTool('cfn-lint'), [], { timeoutMs: 120_000 });
    expect({ status: result.status, output: (result.stdout + result.stderr).trim() }).toEqual({ status: 0, output: '' });
  }, 120_000);
});

describe('sam validate', () => {
  it('transforms the template without error', () => {
    const result = run(venvTool('sam'), ['validate', '--template-file', 'template.yaml', '--region', 'us-east-1'], { timeoutMs: 120_000 });
    expect({ status: result.status, stderr: result.stderr.trim() }).toEqual({ status: 0, stderr: '' });
    expect(result.stdout).toMatch(/is a valid SAM Template/);
  }, 120_000);
});

describe('checkov', () => {
  const reports = (): Json[] => {
    // .checkov.yaml selects the template, the frameworks and offline mode.
    const result = run(venvTool('checkov'), ['--output', 'json'], { timeoutMs: 300_000 });
    expect(result.stderr).not.toMatch(/Traceback/);
    const parsed = JSON.parse(result.stdout);
    return Array.isArray(parsed) ? parsed : [parsed];
  };

  it('fails no check, and skips exactly the checks the template justifies', () => {
    const all = reports();
    const cloudformation = all.find((r) => r.check_type === 'cloudformation');
    expect(cloudformation).toBeDefined();
    expect(cloudformation.summary.parsing_errors).toBe(0);
    expect(cloudformation.summary.resource_count).toBeGreaterThan(10);
    for (const report of all) {
      expect({
        framework: report.check_type,
        failed: report.results.failed_checks.map((c: Json) => `${c.resource} ${c.check_id}`),
      }).toEqual({
        framework: report.check_type,
        failed: [],
      });
    }

    const declared = Object.entries<Json>(loadTemplate().Resources)
      .flatMap(([id, r]) => ((r.Metadata?.checkov?.skip ?? []) as Json[]).map((s) => `${r.Type}.${id} ${s.id}`))
      .sort();
    const skipped = (cloudformation.results.skipped_checks as Json[]).map((c) => `${c.resource} ${c.check_id}`).sort();
    // A declared skip that checkov no longer reports is stale and hides nothing: remove it.
    expect(skipped).toEqual(declared);
    for (const check of cloudformation.results.skipped_checks as Json[]) {
      expect({ check: `${check.resource} ${check.check_id}`, reason: Boolean(check.check_result?.suppress_comment) }).toEqual({
        check: `${check.resource} ${check.check_id}`,
        reason: true,
      });
    }
  }, 300_000);
});

describe('checkov on the transformed template', () => {
  it('fails no check on the roles and policies SAM generates', () => {
    const workDir = mkdtempSync(path.join(tmpdir(), 'media-probe-transform-'));
    try {
      const transformed = run(
        path.join(repoRoot, '.venv', 'sam', 'bin', 'python'),
        [path.join(repoRoot, 'tools', 'sam-transform.py'), 'template.yaml'],
        {
          timeoutMs: 120_000,
        },
      );
      expect({ status: transformed.status, stderr: transformed.stderr }).toEqual({ status: 0, stderr: '' });
      const file = path.join(workDir, 'transformed.json');
      writeFileSync(file, transformed.stdout);
      expect(Object.values<Json>(JSON.parse(transformed.stdout).Resources).map((r) => r.Type)).toContain('AWS::IAM::Role');
      // Run outside the repository so .checkov.yaml (which names template.yaml) does not apply.
      const result = run(venvTool('checkov'), ['-f', file, '--framework', 'cloudformation', '--skip-download', '--output', 'json'], {
        timeoutMs: 300_000,
        cwd: workDir,
      });
      const report = JSON.parse(result.stdout);
      expect(report.summary.parsing_errors).toBe(0);
      expect(report.results.failed_checks.map((c: Json) => `${c.resource} ${c.check_id}`)).toEqual([]);
      expect(report.summary.passed).toBeGreaterThan(0);
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  }, 420_000);
});
