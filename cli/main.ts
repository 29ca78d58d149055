/** The media-probe command line: one commander program, one file per command under commands/, one error path. */
import { Command, CommanderError } from '@commander-js/extra-typings';
import { backfillCommand } from './commands/backfill';
import { demoCommand } from './commands/demo';
import { localCommand } from './commands/local';
import { putCommand } from './commands/put';
import { reanalyzeCommand } from './commands/reanalyze';
import { resummariseCommand } from './commands/resummarise';
import { statusCommand } from './commands/status';
import { upCommand } from './commands/up';
import { UsageError } from './errors';
import { printable } from './table-format';

/** Exit status of a command line that cannot work (commander's own parse errors and UsageError alike). */
const USAGE_EXIT = 2;

export function buildProgram(): Command {
  const program = new Command('media-probe')
    .description(
      "Keeps a media library's technical metadata up to date. Run the pipeline locally (demo, local, up: no AWS account, no Docker) and operate a library (put, status, reanalyze, backfill, resummarise: --stack NAME for a deployed stack, or --local for `media-probe up`; docs/operate.md).",
    )
    .option('--verbose', "show the functions' logs (Powertools JSON)")
    .showHelpAfterError("(add --help for this command's usage)")
    .exitOverride()
    .hook('preAction', (thisCommand) => {
      if (thisCommand.opts().verbose) process.env.MEDIA_PROBE_LOG_LEVEL = 'INFO';
    });
  for (const command of [
    demoCommand(),
    localCommand(),
    upCommand(),
    putCommand(),
    statusCommand(),
    reanalyzeCommand(),
    backfillCommand(),
    resummariseCommand(),
  ]) {
    program.addCommand(command.exitOverride().showHelpAfterError("(add --help for this command's usage)"));
  }
  return program;
}

/**
 * Runs a command line and exits with its status: 0 for help, 2 for a command line that cannot work
 * (printed by commander, with the hint to --help), 1 for a failure (printed after the command's
 * name), else what the command returned.
 */
export async function run(argv: string[]): Promise<never> {
  const program = buildProgram();
  let status: number;
  try {
    await program.parseAsync(argv, { from: 'user' });
    status = typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    status = exitStatusOf(program, error);
  }
  // The SDK clients' keep-alive sockets and the local components' timers must not hold the process open.
  process.exit(status);
}

function exitStatusOf(program: Command, error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : USAGE_EXIT;
  const command = program.commands.find((c) => c.name() === program.args[0]) ?? program;
  if (error instanceof UsageError) {
    try {
      command.error(`error: ${error.message}`, { exitCode: USAGE_EXIT, code: 'media-probe.usage' });
    } catch {
      // exitOverride turns error() into a throw once the message and the help hint are printed.
    }
    return USAGE_EXIT;
  }
  // Messages can quote what a row holds (a title, a key): each line is made safe to print.
  const message = ((error as Error)?.message ?? String(error)).split('\n').map(printable).join('\n');
  process.stderr.write(`media-probe ${command.name()}: ${message}\n`);
  return 1;
}
