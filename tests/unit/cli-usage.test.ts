/** The command line as a user meets it: generated help on every command, and one usage-error path (exit 2) for commander's checks and ours. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const NODE = path.join(ROOT, 'node_modules/.bin/node');
const CLI = path.join(ROOT, 'cli/bin/media-probe.js');
const COMMANDS = ['demo', 'local', 'up', 'put', 'status', 'reanalyze', 'backfill', 'resummarise'];

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(NODE, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('help', () => {
  it('lists every command', () => {
    const { status, stdout } = cli('--help');
    expect(status).toBe(0);
    for (const command of COMMANDS) expect(stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
  });

  it.each(COMMANDS)('%s --help exits 0 with the usage of that command', (command) => {
    const { status, stdout } = cli(command, '--help');
    expect(status).toBe(0);
    expect(stdout).toContain(`Usage: media-probe ${command}`);
  });
});

describe('usage errors', () => {
  it.each([
    [['backfill', '--local', '--rate', 'abc'], "option '--rate <per-second>' argument 'abc' is invalid. it must be a positive number"],
    [['backfill', '--local', '--failed', '--all'], "option '--failed' cannot be used with option '--all'"],
    [
      ['backfill', '--local', '--concurrency', '65'],
      "option '--concurrency <n>' argument '65' is invalid. it must be an integer from 1 to 64",
    ],
    [['status', '--local', '--id', '4.5'], "option '--id <n>' argument '4.5' is invalid. it must be an integer movie_id"],
    [['status', '--local', '--id', '4', '--failed'], '--failed and --limit list the table; they do not combine with --id'],
    [['reanalyze', '--local'], "required option '--id <n>' not specified"],
    [['reanalyze', '--local', '--id', '4', '--timeout', '5'], '--timeout applies to --wait'],
    [['put', '--local', '--id', '3'], "required option '--title <title>' not specified"],
    [['backfill'], 'choose a target: --stack NAME'],
    [['local'], 'local needs a directory, --rows FILE, or both'],
    [['nope'], "unknown command 'nope'"],
  ])('%j exits 2 and says why, with the hint to --help', (args, message) => {
    const { status, stderr } = cli(...args);
    expect(stderr).toContain(`error: ${message}`);
    expect(stderr).toContain('--help');
    expect(status).toBe(2);
  });

  it('takes --verbose after the command as well as before it', () => {
    const { status, stderr } = cli('status', '--local', '--data', path.join(ROOT, 'no-such-dir'), '--verbose');
    expect(stderr).toMatch(/^media-probe status: no local stack is running/);
    expect(status).toBe(1);
  });
});
