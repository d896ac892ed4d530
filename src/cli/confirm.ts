import { createInterface } from 'node:readline/promises';
import { InvalidOptionError } from '../errors/index.js';

/** Asks on the terminal; without one, only `--yes` may proceed (a cron job must not hang on a prompt). */
export async function confirmOrRefuse(yes: boolean | undefined, question: string): Promise<boolean> {
  if (yes) return true;
  if (!process.stdin.isTTY) {
    throw new InvalidOptionError('--yes', 'no terminal to confirm on; pass --yes to proceed without asking');
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(`${question} [y/N] `);
  rl.close();
  return /^y(es)?$/i.test(answer.trim());
}
