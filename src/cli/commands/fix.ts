import type { Command } from 'commander';
import { NodePool, readTopology } from '../../cluster/index.js';
import { createLogger } from '../../log/index.js';
import { applyFix, computeFix, type FixAction } from '../../migrate/index.js';
import {
  connectionFrom,
  seedsFrom,
  withConnectionOptions,
  type ConnectionFlags,
} from '../connection-options.js';
import { shortId } from '../format.js';
import { confirmOrRefuse } from '../confirm.js';

interface FixFlags extends ConnectionFlags {
  yes?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

export function fixCommand(program: Command): void {
  withConnectionOptions(
    program
      .command('fix')
      .description(
        'Close open slots left by anything (slotshift, redis-cli, a crash): migrating/importing pairs,\n' +
          'one-sided open slots, uncovered slots, masters that disagree on an owner, and slots a dead\n' +
          'master no replica replaces still owns (given to the only live master holding their keys).\n' +
          'Prints what it will do and asks first. A half-done move is finished towards its target, never undone.',
      )
      .option('-y, --yes', 'do not ask for confirmation (required without a terminal)')
      .option('--dry-run', 'only print what would be done')
      .option('--json', 'print the actions as JSON (with --dry-run: and do nothing)'),
  ).action(async (flags: FixFlags) => {
    const seeds = seedsFrom(flags);
    const connection = connectionFrom(flags);
    const pool = new NodePool(connection);
    try {
      const topology = await readTopology(pool, seeds);
      const actions = await computeFix(pool, topology);
      if (flags.json) process.stdout.write(`${JSON.stringify({ actions }, null, 2)}\n`);
      else process.stdout.write(renderActions(actions));
      if (actions.length === 0 || flags.dryRun) return;
      if (!(await confirmOrRefuse(flags.yes, `apply ${actions.length} repair(s)?`))) {
        process.exitCode = 2;
        return;
      }
      await applyFix(
        pool,
        topology,
        actions,
        { user: connection.user, password: connection.password },
        createLogger(),
      );
      const after = await computeFix(pool, await readTopology(pool, seeds));
      const unfixable = actions.filter((a) => a.kind === 'unfixable').length;
      process.stdout.write(
        after.length === 0
          ? 'cluster repaired: no open slots left\n'
          : `${after.length} problem(s) remain:\n${renderActions(after)}`,
      );
      if (after.length > 0 || unfixable > 0) process.exitCode = 1;
    } finally {
      await pool.close();
    }
  });
}

function renderActions(actions: readonly FixAction[]): string {
  if (actions.length === 0) return 'nothing to fix: no open, uncovered or disputed slots\n';
  const what = (a: FixAction): string => {
    switch (a.kind) {
      case 'finish-move':
        return `finish move ${shortId(a.from)} -> ${shortId(a.to)} (${a.reason})`;
      case 'close':
        return `SETSLOT STABLE on ${shortId(a.node)} (${a.reason})`;
      case 'assign':
        return `assign to ${shortId(a.owner)} (${a.reason})`;
      case 'announce':
        return `tell ${shortId(a.node)} the owner is ${shortId(a.owner)} (${a.reason})`;
      case 'unfixable':
        return `cannot fix automatically: ${a.reason}`;
    }
  };
  // Consecutive slots with the same repair share a line: a dead master's thousands of slots would
  // otherwise print one line each.
  const runs: Array<{ first: number; last: number; text: string }> = [];
  for (const a of actions) {
    const text = what(a);
    const run = runs.at(-1);
    if (run && run.text === text && a.slot === run.last + 1) run.last = a.slot;
    else runs.push({ first: a.slot, last: a.slot, text });
  }
  const lines = runs.map((r) =>
    r.first === r.last ? `slot ${r.first}: ${r.text}` : `slots ${r.first}-${r.last}: ${r.text}`,
  );
  return `${lines.join('\n')}\n`;
}
