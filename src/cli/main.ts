import { Command, CommanderError } from 'commander';
import { isSlotshiftError } from '../errors/index.js';
import { logLevelFromEnv } from '../log/index.js';
import { applyCommand } from './commands/apply.js';
import { controlCommands } from './commands/control.js';
import { daemonCommand } from './commands/daemon.js';
import { fixCommand } from './commands/fix.js';
import { verifyCommand } from './commands/verify.js';
import { workerCommand } from './commands/worker.js';
import { planCommand } from './commands/plan.js';
import { statusCommand } from './commands/status.js';

/**
 * Exit codes: 0 done; 1 the command ran and found a problem it reports (e.g. a verification
 * mismatch or slots left to move); 2 bad input or a cluster slotshift cannot use as given
 * (unreachable seed, wrong password, unknown node, malformed plan) — nothing was changed.
 */
export const EXIT_OK = 0;
export const EXIT_PROBLEM = 1;
export const EXIT_BAD_INPUT = 2;

export function buildProgram(): Command {
  const program = new Command()
    .name('slotshift')
    .description(
      'Redis Cluster slot rebalancer: reads the cluster, plans the fewest slot moves for the balance you ask for, moves slots in parallel through BullMQ workers and verifies every move.\n\n' +
        'Exit codes: 0 done, 1 ran but found a problem it reports, 2 bad input or unusable cluster (nothing changed).',
    )
    .version('0.1.0')
    .option('--debug', 'show stack traces on errors')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    // Before any command runs, so a bad level is one clear error for all of them (not only for
    // those that make a logger, and not midway through one).
    .hook('preAction', () => void logLevelFromEnv());
  statusCommand(program);
  planCommand(program);
  applyCommand(program);
  workerCommand(program);
  fixCommand(program);
  verifyCommand(program);
  controlCommands(program);
  daemonCommand(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    // Commands report a finished-but-not-clean outcome (mismatches, slots left) through exitCode.
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are successes; every other commander error is a usage error.
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0
        ? EXIT_OK
        : EXIT_BAD_INPUT;
    }
    const debug = argv.includes('--debug');
    if (isSlotshiftError(e)) {
      process.stderr.write(`slotshift: ${e.message}\n`);
      if (debug && e.stack) process.stderr.write(`${e.stack}\n`);
      return e.exitCode;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    process.stderr.write(`slotshift: unexpected error: ${err.message}\n`);
    process.stderr.write(debug ? `${err.stack ?? ''}\n` : 'run again with --debug for the stack trace\n');
    return EXIT_PROBLEM;
  }
}
