import { Option, type Command } from 'commander';
import { formatRanges, masters, toRanges, type SlotRange, type Topology } from '../cluster/index.js';
import { InvalidOptionError } from '../errors/index.js';
import { isDeepStrictEqual } from 'node:util';
import type { NodePool } from '../cluster/index.js';
import { planFromCluster } from '../stats/index.js';
import {
  AmbiguousNodeRefError,
  NotAMasterError,
  UnknownNodeError,
  resolvePlanPolicy,
  type BalanceBy,
  type Plan,
  type PlanPolicy,
  type ResolvedPlanPolicy,
} from '../planner/index.js';
import { parsePositiveInt, parseThreshold } from './parse-flags.js';
import { noun } from '../text/index.js';

export interface PlanFlags {
  weight?: string[];
  drain?: string[];
  exclude?: string[];
  pin?: string[];
  useEmptyMasters?: boolean;
  threshold?: string;
  balanceBy?: string;
  maxMoves?: string;
  maxPerNode?: string;
  sampleKeys?: string;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/**
 * The flags that make up a plan's policy, by option key. `--sample-keys` is not one: it only sets how
 * the byte estimates are sampled, and a plan file is sampled with it too.
 */
const POLICY_FLAGS = {
  weight: '--weight',
  drain: '--drain',
  exclude: '--exclude',
  pin: '--pin',
  useEmptyMasters: '--use-empty-masters',
  threshold: '--threshold',
  balanceBy: '--balance-by',
  maxMoves: '--max-moves',
  maxPerNode: '--max-per-node',
} as const satisfies Partial<Record<keyof PlanFlags, string>>;

/**
 * The policy flags the user typed (not the ones left at their defaults), as they are spelled on the
 * command line. A default cannot be told from a value typed equal to it by looking at the value.
 */
export function givenPolicyFlags(cmd: Pick<Command, 'getOptionValueSource'>): string[] {
  return Object.entries(POLICY_FLAGS)
    .filter(([key]) => {
      const source = cmd.getOptionValueSource(key);
      return source !== undefined && source !== 'default';
    })
    .map(([, flag]) => flag);
}

/**
 * `-f FILE` brings its own policy (a RebalancePlan's spec, or a saved plan's moves): policy flags
 * next to it were silently dropped, and an apply then moved slots by the file's policy while the
 * user had typed, say, `--drain X`.
 */
export function assertNoPolicyFlagsWithFile(file: string | undefined, given: readonly string[]): void {
  if (!file || given.length === 0) return;
  throw new InvalidOptionError(
    '--file',
    `${given.join(', ')} cannot be combined with -f ${file}: the file's policy would be used and the ${noun(given.length, 'flag')} ignored. ` +
      "Put them in the file (a RebalancePlan's spec, see config/plans/; for a plan saved by `plan -o`, plan again with the flags and -o), or drop -f to plan from the flags",
  );
}

/** The policy flags `plan` and `apply` share. A NODE is a node id, an id prefix (≥ 4) or host:port. */
export function withPlanOptions(cmd: Command): Command {
  return cmd
    .option('--weight <node=w>', 'relative weight of a master (repeat); 0 drains it; others weigh 1', collect)
    .option('--drain <node>', 'move every slot off this master (repeat)', collect)
    .option('--exclude <node>', 'leave this master alone: never source nor target (repeat)', collect)
    .option('--pin <slots>', 'slots that must not move, e.g. 0-99,204 (repeat)', collect)
    .option('--use-empty-masters', 'spread slots onto masters that hold none (e.g. just added)')
    .option('--threshold <pct>', 'leave masters within this percent of their share alone', '2')
    .addOption(
      new Option('--balance-by <measure>', 'what to balance')
        .choices(['slots', 'keys', 'memory'])
        .default('slots'),
    )
    .option('--max-moves <n>', 'move at most this many slots in this run (the rest waits for the next)')
    .option(
      '--max-per-node <n>',
      'wave width: the plan orders its moves in waves with no node in more than this many (the "in N waves" of the plan, and the order slots are enqueued in); it does not limit how many move at once: that is apply\'s and worker\'s --per-node',
      '4',
    )
    .option('--sample-keys <n>', 'keys per slot sampled with MEMORY USAGE for byte estimates (0: none)', '4');
}

export function parseSlotList(option: string, text: string): SlotRange[] {
  const slots: number[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    const start = Number(m?.[1]);
    const end = Number(m?.[2] ?? m?.[1]);
    if (!m || start > end || end > 16383) {
      throw new InvalidOptionError(
        option,
        `"${part}" is not a slot or slot range within 0-16383 (e.g. 0-99,204)`,
      );
    }
    for (let s = start; s <= end; s++) slots.push(s);
  }
  return toRanges(slots);
}

export function policyFromFlags(flags: PlanFlags): PlanPolicy {
  const weights: Record<string, number> = {};
  for (const w of flags.weight ?? []) {
    const eq = w.lastIndexOf('=');
    const ref = w.slice(0, eq);
    const value = Number(w.slice(eq + 1));
    if (eq <= 0 || w.slice(eq + 1).trim() === '' || !Number.isFinite(value)) {
      throw new InvalidOptionError(
        '--weight',
        `"${w}" is not NODE=WEIGHT with a number, e.g. 127.0.0.1:7000=2`,
      );
    }
    weights[ref] = value;
  }
  return {
    weights,
    drain: flags.drain ?? [],
    exclude: flags.exclude ?? [],
    pin: (flags.pin ?? []).flatMap((p) => parseSlotList('--pin', p)),
    useEmptyMasters: Boolean(flags.useEmptyMasters),
    threshold: parseThreshold(flags.threshold ?? '2'),
    balanceBy: (flags.balanceBy ?? 'slots') as BalanceBy,
    maxMoves: flags.maxMoves === undefined ? null : parsePositiveInt('--max-moves', flags.maxMoves),
    maxPerNode: parsePositiveInt('--max-per-node', flags.maxPerNode ?? '4'),
  };
}

/**
 * The fields of a stored plan's resolved policy that `policy` resolves differently on `madeFor`, the
 * topology the plan was made for (`[]`: the same policy, so on that topology the same moves). Resolved
 * there, not on the live cluster: a master a half-done plan filled no longer counts as empty.
 */
export function policyDifferences(
  stored: ResolvedPlanPolicy,
  policy: PlanPolicy,
  madeFor: Topology,
): string[] {
  let mine: ResolvedPlanPolicy;
  try {
    mine = resolvePlanPolicy(madeFor, policy);
  } catch {
    // Valid on the live cluster (checked by the caller) but not on the old one: not the same plan.
    return ['masters'];
  }
  return (Object.keys(stored) as Array<keyof ResolvedPlanPolicy>).filter(
    (k) => !isDeepStrictEqual(stored[k], mine[k]),
  );
}

/** Keys sampled per slot for byte estimates (`--sample-keys`; 0 samples none). */
export function sampleKeysFrom(flags: Pick<PlanFlags, 'sampleKeys'>): number {
  return flags.sampleKeys === '0' ? 0 : parsePositiveInt('--sample-keys', flags.sampleKeys ?? '4');
}

export { planFromCluster };

/**
 * The flag a planner policy field comes from. The planner names fields as a plan file spells them
 * (`weights.e880`, `drain`); a user who typed `--weight e880=2` looks for `--weight`.
 */
export function flagForPolicyField(field: string): string {
  const weight = /^weights\.(.*)$/s.exec(field);
  if (weight) return `--weight ${weight[1]}`;
  if (/^pin\[\d+\]$/.test(field)) return '--pin';
  const flags: Record<string, string> = {
    drain: '--drain',
    exclude: '--exclude',
    threshold: '--threshold',
    balanceBy: '--balance-by',
    maxMoves: '--max-moves',
    maxPerNode: '--max-per-node',
  };
  return flags[field] ?? field;
}

/** The same error, naming the flag instead of the policy field; any other error as it is. */
export function withFlagNames(error: unknown): unknown {
  if (error instanceof UnknownNodeError)
    return new UnknownNodeError(flagForPolicyField(error.option), error.ref);
  if (error instanceof AmbiguousNodeRefError)
    return new AmbiguousNodeRefError(flagForPolicyField(error.option), error.ref, error.candidates);
  if (error instanceof NotAMasterError)
    return new NotAMasterError(flagForPolicyField(error.option), error.ref, error.nodeId, error.masterId);
  if (error instanceof InvalidOptionError && !error.option.startsWith('-')) {
    const detail = error.message.slice(error.option.length + 2);
    return new InvalidOptionError(flagForPolicyField(error.option), detail);
  }
  return error;
}

/** The policy the flags ask for, checked on `topology`; an error names the flag, not the policy field. */
export function resolveFlagPolicy(topology: Topology, policy: PlanPolicy): ResolvedPlanPolicy {
  try {
    return resolvePlanPolicy(topology, policy);
  } catch (e) {
    throw withFlagNames(e);
  }
}

/** planFromCluster for a policy made from flags: refs and numbers are checked first, by flag name. */
export function planFromFlags(
  pool: NodePool,
  topology: Topology,
  policy: PlanPolicy,
  sampleKeys: number,
): Promise<Plan> {
  resolveFlagPolicy(topology, policy);
  return planFromCluster(pool, topology, policy, sampleKeys);
}

/** `from → to: ranges` lines, the form a reviewer reads. */
export function groupMoves(
  plan: Plan,
): Array<{ from: string; to: string; slots: number; keys: number; bytes: number; ranges: string }> {
  const groups = new Map<
    string,
    { from: string; to: string; slots: number[]; keys: number; bytes: number }
  >();
  for (const m of plan.moves) {
    const k = `${m.from}>${m.to}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { from: m.from, to: m.to, slots: [], keys: 0, bytes: 0 }));
    g.slots.push(m.slot);
    g.keys += m.keys;
    g.bytes += m.bytes;
  }
  return [...groups.values()]
    .map((g) => ({
      from: g.from,
      to: g.to,
      slots: g.slots.length,
      keys: g.keys,
      bytes: g.bytes,
      ranges: formatRanges(toRanges(g.slots)),
    }))
    .sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
}

export function addrOf(topology: Topology, id: string): string {
  return masters(topology).find((m) => m.id === id)?.addr ?? id.slice(0, 8);
}
