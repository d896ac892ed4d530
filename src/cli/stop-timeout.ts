import type { Command } from 'commander';
import { parsePositiveInt } from './parse-flags.js';

/**
 * `--stop-timeout <s>`: how long a stop (Ctrl-C, SIGTERM) waits for the slots in flight. 60 s is
 * under systemd's 90 s before it sends SIGKILL, so the process exits on its own, saying why.
 */
export function withStopTimeoutOption(command: Command): Command {
  return command.option(
    '--stop-timeout <s>',
    'after Ctrl-C or SIGTERM, wait at most this many seconds for the slots in flight, then exit (code 1) naming the `slotshift fix` command for any left open',
    '60',
  );
}

export function stopTimeoutMsFrom(text: string): number {
  return parsePositiveInt('--stop-timeout', text) * 1000;
}

/**
 * After `ms`, calls `report` with why and exits 1. The slots in flight may never finish (their nodes
 * or the queue gone), and a supervisor's single SIGTERM must still end the process: before this, an
 * apply so stopped waited until it was killed, saying nothing. Does not keep the process alive.
 */
export function exitAfterStopTimeout(ms: number, report: (why: string) => void): void {
  setTimeout(() => {
    report(
      `stopping took longer than --stop-timeout ${ms / 1000} s (slots in flight not finishing, or the cluster or queue not answering)`,
    );
    process.exit(1);
  }, ms).unref();
}
