import { writeOutputFile } from '../output-file.js';
import Table from 'cli-table3';
import type { Command } from 'commander';
import { NodePool, readTopology, type Topology } from '../../cluster/index.js';
import { InvalidOptionError } from '../../errors/index.js';
import { planToJson, planToYaml, type Plan } from '../../planner/index.js';
import {
  connectionFrom,
  seedsFrom,
  withConnectionOptions,
  type ConnectionFlags,
} from '../connection-options.js';
import { formatBytes, formatCount, shortId } from '../format.js';
import { parsePositiveInt } from '../parse-flags.js';
import { assertPlanApplies, planForDesiredState, readPlanSource } from '../plan-source.js';
import {
  addrOf,
  assertNoPolicyFlagsWithFile,
  givenPolicyFlags,
  groupMoves,
  planFromFlags,
  policyFromFlags,
  sampleKeysFrom,
  withPlanOptions,
  type PlanFlags,
} from '../plan-flags.js';
import { noun, plural } from '../../text/index.js';

interface PlanCommandFlags extends ConnectionFlags, PlanFlags {
  json?: boolean;
  file?: string;
  output?: string;
  latencyBudgetMs?: string;
}

export function planCommand(program: Command): void {
  withConnectionOptions(
    withPlanOptions(
      program
        .command('plan')
        .summary('Compute the fewest slot moves for the balance asked for and show them (a dry run).')
        .description(
          'Compute the fewest slot moves for the balance asked for and show them (a dry run: nothing changes).\n\n' +
            'NODE is a node id, an id prefix of at least 4 characters, or host:port.',
        )
        .option(
          '-f, --file <plan.yaml>',
          'plan for the desired state in a RebalancePlan file (see config/plans/) instead of the flags',
        )
        .option('-o, --output <file>', 'write the plan to a file (.json or .yaml) for review and `apply -f`')
        .option(
          '--latency-budget-ms <ms>',
          "saved in the plan's limits for `apply -f` (whose own --latency-budget-ms still wins); default: the -f file's spec.limits.latencyBudgetMs",
        )
        .option(
          '--json',
          'print { planId, moves: [{slot, from, to, keys, bytes}], before, after, ... } as JSON',
        ),
    ),
  ).action(async (flags: PlanCommandFlags, cmd: Command) => {
    assertNoPolicyFlagsWithFile(flags.file, givenPolicyFlags(cmd));
    const seeds = seedsFrom(flags);
    const policy = policyFromFlags(flags);
    const sample = sampleKeysFrom(flags);
    const latencyBudgetFlag =
      flags.latencyBudgetMs === undefined
        ? null
        : parsePositiveInt('--latency-budget-ms', flags.latencyBudgetMs);
    const pool = new NodePool(connectionFrom(flags));
    try {
      const topology = await readTopology(pool, seeds);
      const planned = flags.file
        ? await planFromFile(pool, topology, flags.file, sample)
        : { plan: await planFromFlags(pool, topology, policy, sample), latencyBudgetMs: null };
      // Saved with the plan: `plan -f desired.yaml -o saved.yaml` dropped the file's latency budget,
      // so `apply -f saved.yaml` moved slots with the default.
      const latencyBudgetMs = latencyBudgetFlag ?? planned.latencyBudgetMs;
      const plan: Plan =
        latencyBudgetMs === null ? planned.plan : { ...planned.plan, limits: { latencyBudgetMs } };
      if (flags.output) writePlan(flags.output, plan);
      process.stdout.write(
        flags.json
          ? `${JSON.stringify(planDocument(plan), null, 2)}\n`
          : renderPlan(plan, topology, flags.output),
      );
    } finally {
      await pool.close();
    }
  });
}

export function writePlan(path: string, plan: Plan): void {
  if (!/\.(ya?ml|json)$/i.test(path))
    throw new InvalidOptionError('--output', `"${path}" must end in .yaml, .yml or .json`);
  writeOutputFile('--output', path, /\.json$/i.test(path) ? planToJson(plan) + '\n' : planToYaml(plan));
}

export function renderPlan(plan: Plan, topology: Topology, written?: string): string {
  const table = new Table({
    head: [
      'master',
      'id',
      'slots before',
      'slots after',
      'keys before',
      'keys after',
      'bytes after',
      'share after',
    ],
    colAligns: ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right'],
    style: { head: [], border: [], compact: true },
  });
  const ids = Object.keys(plan.before).sort((a, b) =>
    addrOf(topology, a).localeCompare(addrOf(topology, b), 'en', { numeric: true }),
  );
  for (const id of ids) {
    const b = plan.before[id]!;
    const a = plan.after[id] ?? b;
    table.push([
      addrOf(topology, id),
      shortId(id),
      formatCount(b.slots),
      formatCount(a.slots),
      formatCount(b.keys),
      formatCount(a.keys),
      formatBytes(a.bytes),
      `${(a.share * 100).toFixed(2)}%`,
    ]);
  }
  const lines = [`plan ${plan.planId} (balance by ${plan.balanceBy})`, table.toString()];
  if (plan.moves.length === 0) {
    lines.push(`no moves: ${plan.reason ?? 'already balanced'}`);
  } else {
    lines.push(
      `${formatCount(plan.totals.slots)} ${noun(plan.totals.slots, 'slot')} ${plan.totals.slots === 1 ? 'moves' : 'move'}, about ${formatCount(plan.totals.keys)} ${noun(plan.totals.keys, 'key')} and ${formatBytes(plan.totals.bytes)}, in ${plural(plan.waves.length, 'wave')}:`,
    );
    for (const g of groupMoves(plan)) {
      lines.push(
        `  ${addrOf(topology, g.from)} -> ${addrOf(topology, g.to)}: ${formatCount(g.slots)} ${noun(g.slots, 'slot')}, ${formatCount(g.keys)} ${noun(g.keys, 'key')}: ${elide(g.ranges, 160)}`,
      );
    }
  }
  if (plan.deferred)
    lines.push(
      `${plural(plan.deferred, 'more move')} ${plan.deferred === 1 ? 'is' : 'are'} deferred by the limits; run plan again after this one is applied`,
    );
  if (written) lines.push(`plan written to ${written}; apply it with: slotshift apply -f ${written}`);
  return `${lines.join('\n')}\n`;
}

/** Fragmented moves compact to thousands of ranges; the table shows the start, --json/-o hold all. */
function elide(ranges: string, max: number): string {
  if (ranges.length <= max) return ranges;
  const cut = ranges.lastIndexOf(',', max);
  const shown = ranges.slice(0, cut > 0 ? cut : max);
  const total = ranges.split(',').length;
  return `${shown},... (${total} ranges in all; --json or -o lists every slot)`;
}

/**
 * `plan --json`: the plan, with `before`/`after` as node id → slot count (the documented contract)
 * and the full per-node loads (slots, keys, bytes, share) under `beforeLoad`/`afterLoad`.
 */
export function planDocument(plan: Plan): Record<string, unknown> {
  const counts = (loads: Plan['before']): Record<string, number> =>
    Object.fromEntries(Object.entries(loads).map(([id, l]) => [id, l.slots]));
  return {
    ...plan,
    before: counts(plan.before),
    after: counts(plan.after),
    beforeLoad: plan.before,
    afterLoad: plan.after,
  };
}

/** The plan `-f` names, with the latency budget it sets for `apply -f` (null: none). */
async function planFromFile(
  pool: NodePool,
  topology: Topology,
  path: string,
  sample: number,
): Promise<{ plan: Plan; latencyBudgetMs: number | null }> {
  const source = readPlanSource(path);
  if (source.kind === 'saved') {
    assertPlanApplies(source.plan, topology, { file: path });
    return { plan: source.plan, latencyBudgetMs: source.plan.limits?.latencyBudgetMs ?? null };
  }
  return {
    plan: await planForDesiredState(pool, topology, source.file, sample),
    latencyBudgetMs: source.file.limits.latencyBudgetMs,
  };
}
