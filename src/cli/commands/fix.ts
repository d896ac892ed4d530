import type { Command } from 'commander';
import { NodePool, formatRanges, readTopology, toRanges, type Topology } from '../../cluster/index.js';
import { isSlotshiftError } from '../../errors/index.js';
import { createLogger } from '../../log/index.js';
import {
  BusyKeyConflictError,
  SlotProtocolError,
  SlotsStillChangingError,
  applyFix,
  computeFix,
  readFix,
  stableRepairs,
  type FailedRepair,
  type FixAction,
} from '../../migrate/index.js';
import {
  connectionFrom,
  seedsFrom,
  withConnectionOptions,
  type ConnectionFlags,
} from '../connection-options.js';
import { noun, plural } from '../../text/index.js';
import { shortId } from '../format.js';
import { confirmOrRefuse } from '../confirm.js';
import { parsePositiveInt } from '../parse-flags.js';

interface FixFlags extends ConnectionFlags {
  yes?: boolean;
  dryRun?: boolean;
  json?: boolean;
  recheckMs: string;
}

/** How far apart fix's two reads are: gossip settles a finished move within this, many times over. */
const DEFAULT_RECHECK_MS = 1000;

export function fixCommand(program: Command): void {
  withConnectionOptions(
    program
      .command('fix')
      .summary('Close open slots and settle slot owners left by anything (slotshift, redis-cli, a crash).')
      .description(
        'Close open slots left by anything (slotshift, redis-cli, a crash): migrating/importing pairs, one-sided open slots, uncovered slots, masters that disagree on an owner, and slots a dead master no replica replaces still owns (given to the only live master holding their keys).\n\n' +
          'Prints what it will do and asks first. A half-done move is finished towards its target, never undone.\n\n' +
          'It reads the cluster twice, --recheck-ms apart, and repairs only what is the same in both: a slot that changed is being moved (apply, a worker, the daemon) and is left alone (exit 1, or 2 when nothing else was repaired).',
      )
      .option('-y, --yes', 'do not ask for confirmation (required without a terminal)')
      .option('--dry-run', 'only print what would be done')
      .option('--json', 'print the actions as JSON (with --dry-run: and do nothing)')
      .option(
        '--recheck-ms <ms>',
        'read the cluster twice this far apart; repair only the problems seen in both reads',
        String(DEFAULT_RECHECK_MS),
      ),
  ).action(async (flags: FixFlags) => {
    const seeds = seedsFrom(flags);
    const connection = connectionFrom(flags);
    const recheckMs = parsePositiveInt('--recheck-ms', flags.recheckMs);
    const pool = new NodePool(connection);
    try {
      const first = await readFix(pool, await readTopology(pool, seeds));
      let actions: readonly FixAction[] = [];
      let changing: number[] = [];
      let topology: Topology | null = null;
      if (first.actions.length > 0) {
        // A move under way looks like a repair for a moment (an open slot, an owner not yet
        // gossiped); only a problem that outlasts the pause is one to repair.
        await new Promise((r) => setTimeout(r, recheckMs));
        topology = await readTopology(pool, seeds);
        ({ actions, changing } = stableRepairs(first, await readFix(pool, topology)));
      }
      if (flags.json) process.stdout.write(`${JSON.stringify({ actions, changing }, null, 2)}\n`);
      else process.stdout.write(renderActions(actions, changing, first.actions.length > 0));
      if (flags.dryRun || !topology) return;
      if (actions.length === 0) {
        if (changing.length) throw new SlotsStillChangingError(changing, recheckMs);
        return;
      }
      if (!(await confirmOrRefuse(flags.yes, `apply ${plural(actions.length, 'repair')}?`))) {
        process.exitCode = 2;
        return;
      }
      const { failed } = await applyFix(
        pool,
        topology,
        actions,
        { user: connection.user, password: connection.password },
        createLogger(),
      );
      const after = await computeFix(pool, await readTopology(pool, seeds));
      process.stdout.write(renderOutcome(actions, failed, changing, recheckMs));
      const unfixable = actions.filter((a) => a.kind === 'unfixable').length;
      process.stdout.write(
        after.length === 0
          ? 'cluster repaired: no open slots left\n'
          : `${plural(after.length, 'problem')} ${after.length === 1 ? 'remains' : 'remain'}:\n${renderActions(after, [], true)}`,
      );
      if (after.length > 0 || unfixable > 0 || failed.length > 0 || changing.length > 0) process.exitCode = 1;
    } finally {
      await pool.close();
    }
  });
}

/**
 * The per-slot tally after repairs: how many slots were repaired, and for each one left, why and
 * what to do. A failed repair does not stop the others, so this is what a user reads first.
 */
export function renderOutcome(
  actions: readonly FixAction[],
  failed: readonly FailedRepair[],
  changing: readonly number[],
  recheckMs: number,
): string {
  const tried = new Set(actions.filter((a) => a.kind !== 'unfixable').map((a) => a.slot));
  const failedSlots = new Set(failed.map((f) => f.action.slot));
  const unfixable = new Set(actions.filter((a) => a.kind === 'unfixable').map((a) => a.slot));
  const total = new Set([...tried, ...unfixable, ...changing]).size;
  const left = new Set([...failedSlots, ...unfixable, ...changing]);
  const repaired = [...tried].filter((s) => !left.has(s)).length;
  if (left.size === 0) return `${repaired} of ${plural(total, 'slot')} repaired\n`;
  const lines = [`${repaired} of ${plural(total, 'slot')} repaired, ${left.size} left:`];
  // One line per run of consecutive slots that failed the same way: a node that refuses every
  // repair (unknown to another node, say) would otherwise print a line for each of its slots.
  for (const line of slotRuns(
    failed.map((f) => ({ slot: f.action.slot, text: failureText(f.error, f.action.slot) })),
  ))
    lines.push(`  ${line}`);
  if (unfixable.size)
    lines.push(
      `  ${noun(unfixable.size, 'slot')} ${formatRanges(toRanges(unfixable))}: cannot be fixed automatically (see above)`,
    );
  if (changing.length)
    lines.push(
      `  ${noun(changing.length, 'slot')} ${formatRanges(toRanges(changing))}: ${STILL_CHANGING} between two reads ${recheckMs} ms apart; left alone. ${RUN_AGAIN}`,
    );
  return `${lines.join('\n')}\n`;
}

const STILL_CHANGING = 'still changing (a move under way?)';
const RUN_AGAIN =
  'If no slotshift apply, worker or daemon (nor redis-cli --cluster) is running, run slotshift fix again';

/** Why a repair of `slot` failed, for a line that already starts with `slot N:`. */
function failureText(error: unknown, slot: number): string {
  // The slot errors start with the slot themselves: "slot 7: slot 7: ..." otherwise.
  const own = (message: string): string =>
    message.startsWith(`slot ${slot}: `) ? message.slice(`slot ${slot}: `.length) : message;
  // The conflict is resolved by hand, then by fix again: the error's default advice is for apply.
  if (error instanceof BusyKeyConflictError) return own(error.forCommand('slotshift fix').message);
  // Its advice is for apply too ("slotshift fix closes the slot"), and this is fix.
  if (error instanceof SlotProtocolError)
    return `${own(error.message).replace(/; slotshift fix closes the slot if it stays open$/, '')}; run slotshift fix again`;
  const message = error instanceof Error ? error.message : String(error);
  return isSlotshiftError(error) ? own(message) : `${message}; run slotshift fix again`;
}

/** Who claims the slot, with what each holds, who keeps it and why. */
function renderDispute(a: Extract<FixAction, { kind: 'settle-dispute' }>): string {
  const claims = a.claims
    .map((c) => `${shortId(c.node)} ${plural(c.keys, 'key')}, config epoch ${c.configEpoch}`)
    .join('; ');
  const moving = a.claims.filter((c) => c.node !== a.owner && c.keys > 0).length > 0;
  return (
    `claimed by ${plural(a.claims.length, 'master')} (${claims}): ${shortId(a.owner)} keeps it, because ${a.reason}` +
    `${moving ? `; the others' keys move to it` : ''}; then every master is told`
  );
}

function renderActions(
  actions: readonly FixAction[],
  changing: readonly number[],
  sawProblems: boolean,
): string {
  if (!sawProblems) return 'nothing to fix: no open, uncovered or disputed slots\n';
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
      case 'settle-dispute':
        return renderDispute(a);
      case 'unfixable':
        return `cannot fix automatically: ${a.reason}`;
    }
  };
  // Consecutive slots with the same repair share a line: a dead master's thousands of slots would
  // otherwise print one line each.
  const lines = slotRuns(actions.map((a) => ({ slot: a.slot, text: what(a) })));
  if (changing.length)
    lines.push(
      `${noun(changing.length, 'slot')} ${formatRanges(toRanges(changing))}: ${STILL_CHANGING}; left alone`,
    );
  if (lines.length === 0) lines.push('nothing to fix: the problems seen a moment ago are gone');
  return `${lines.join('\n')}\n`;
}

/** `slot N: text` lines, consecutive slots with the same text on one line (`slots 5-9: text`). */
function slotRuns(items: ReadonlyArray<{ slot: number; text: string }>): string[] {
  const runs: Array<{ first: number; last: number; text: string }> = [];
  for (const { slot, text } of items) {
    const run = runs.at(-1);
    if (run && run.text === text && slot === run.last + 1) run.last = slot;
    else runs.push({ first: slot, last: slot, text });
  }
  return runs.map((r) =>
    r.first === r.last ? `slot ${r.first}: ${r.text}` : `slots ${r.first}-${r.last}: ${r.text}`,
  );
}
