import { SLOT_COUNT, toRanges, type ClusterNode, type SlotRange, type Topology } from '../cluster/index.js';
import { InvalidOptionError } from '../errors/index.js';
import { AmbiguousNodeRefError, NotAMasterError, UnknownNodeError } from './errors.js';

export type BalanceBy = 'slots' | 'keys' | 'memory';

/**
 * What a user may ask of the planner. A node ref is a full node id, an unambiguous id prefix of at
 * least 4 characters, or `host:port`.
 */
export interface PlanPolicy {
  /**
   * Node ref → weight (finite, ≥ 0). Masters not named weigh 1; weight 0 drains the node.
   * @defaultValue `{}`
   */
  readonly weights?: Readonly<Record<string, number>>;
  /** Node refs to empty completely (same as weight 0). @defaultValue `[]` */
  readonly drain?: readonly string[];
  /**
   * Whether masters without slots receive slots. As in redis-cli they are left out by default so
   * that a freshly joined node is not filled by accident; a master given an explicit weight > 0 in
   * `weights` takes part anyway, because naming it is an explicit request.
   * @defaultValue `false`
   */
  readonly useEmptyMasters?: boolean;
  /** Node refs left alone: never source nor target, their slots not counted. @defaultValue `[]` */
  readonly exclude?: readonly string[];
  /** Slots that must not move. @defaultValue `[]` */
  readonly pin?: readonly SlotRange[];
  /**
   * Percent. A master is balanced when `|have - want| / want * 100 <= threshold` (want = 0 needs
   * have = 0). redis-cli divides by `have` instead, which lets a donor look less unbalanced than a
   * receiver with the same difference.
   * @defaultValue `2`
   */
  readonly threshold?: number;
  /** Measure spread in proportion to the weights. @defaultValue `'slots'` */
  readonly balanceBy?: BalanceBy;
  /**
   * Percent, for `keys`/`memory` only: each master's slot count stays within this much of its
   * weighted slot share, so a master holding only cold slots is not handed thousands of them.
   * @defaultValue `10`
   */
  readonly slotTolerance?: number;
  /** At most this many moves in one plan; the rest is reported as `deferred`. @defaultValue `null` (no limit) */
  readonly maxMoves?: number | null;
  /** At most this many estimated bytes moved in one plan. @defaultValue `null` (no limit) */
  readonly maxBytes?: number | null;
  /** Wave width: in one wave no node is source or target of more than this many moves. @defaultValue `4` */
  readonly maxPerNode?: number;
}

/** The policy with every default applied and every node ref turned into a node id. Stored in the plan. */
export interface ResolvedPlanPolicy {
  /** Weight of every master taking part, by node id, in id order. */
  readonly weights: Readonly<Record<string, number>>;
  /** Excluded master ids, sorted. */
  readonly exclude: readonly string[];
  /** Pinned slots, merged and sorted. */
  readonly pin: readonly SlotRange[];
  readonly useEmptyMasters: boolean;
  readonly threshold: number;
  readonly balanceBy: BalanceBy;
  readonly slotTolerance: number;
  readonly maxMoves: number | null;
  readonly maxBytes: number | null;
  readonly maxPerNode: number;
}

export const DEFAULT_PLAN_POLICY = {
  weights: {},
  drain: [],
  useEmptyMasters: false,
  exclude: [],
  pin: [],
  threshold: 2,
  balanceBy: 'slots',
  slotTolerance: 10,
  maxMoves: null,
  maxBytes: null,
  maxPerNode: 4,
} as const satisfies Required<PlanPolicy>;

const MIN_PREFIX_LENGTH = 4;

/** Finds the one node a ref names, or throws a typed error saying why it cannot. */
export function resolveNodeRef(topology: Topology, ref: string, option: string): ClusterNode {
  const exact = topology.nodes.find((n) => n.id === ref || n.addr === ref || `${n.host}:${n.port}` === ref);
  if (exact) return exact;
  const lower = ref.toLowerCase();
  if (lower.length < MIN_PREFIX_LENGTH || !/^[0-9a-f]+$/.test(lower)) throw new UnknownNodeError(option, ref);
  const matches = topology.nodes.filter((n) => n.id.startsWith(lower));
  const [only, second] = matches;
  if (!only) throw new UnknownNodeError(option, ref);
  if (second) {
    throw new AmbiguousNodeRefError(
      option,
      ref,
      matches.map((n) => n.id),
    );
  }
  return only;
}

function resolveMaster(topology: Topology, ref: string, option: string): ClusterNode {
  const node = resolveNodeRef(topology, ref, option);
  if (node.role !== 'master') throw new NotAMasterError(option, ref, node.id, node.masterId);
  return node;
}

function checkNumber(
  option: string,
  value: number,
  { min, integer }: { min: number; integer: boolean },
): number {
  if (!Number.isFinite(value)) throw new InvalidOptionError(option, `must be a finite number, got ${value}`);
  if (integer && !Number.isInteger(value))
    throw new InvalidOptionError(option, `must be an integer, got ${value}`);
  if (value < min) throw new InvalidOptionError(option, `must be at least ${min}, got ${value}`);
  return value;
}

function checkPin(pin: readonly SlotRange[]): SlotRange[] {
  const slots: number[] = [];
  pin.forEach((r, i) => {
    const option = `pin[${i}]`;
    for (const bound of [r.start, r.end]) {
      if (!Number.isInteger(bound) || bound < 0 || bound >= SLOT_COUNT) {
        throw new InvalidOptionError(option, `slot ${bound} is not an integer in 0..${SLOT_COUNT - 1}`);
      }
    }
    if (r.start > r.end) throw new InvalidOptionError(option, `start ${r.start} is after end ${r.end}`);
    for (let s = r.start; s <= r.end; s++) slots.push(s);
  });
  return toRanges(slots);
}

function slotsOwnedBy(topology: Topology): Map<string, number> {
  const counts = new Map<string, number>();
  for (const owner of topology.owners) if (owner !== null) counts.set(owner, (counts.get(owner) ?? 0) + 1);
  return counts;
}

/**
 * Applies defaults, checks every value and turns refs into node ids. Which masters take part is
 * decided here (and recorded in `weights`) so the plan shows it.
 */
export function resolvePlanPolicy(topology: Topology, policy: PlanPolicy = {}): ResolvedPlanPolicy {
  const threshold = checkNumber('threshold', policy.threshold ?? DEFAULT_PLAN_POLICY.threshold, {
    min: 0,
    integer: false,
  });
  const slotTolerance = checkNumber(
    'slotTolerance',
    policy.slotTolerance ?? DEFAULT_PLAN_POLICY.slotTolerance,
    {
      min: 0,
      integer: false,
    },
  );
  const maxPerNode = checkNumber('maxPerNode', policy.maxPerNode ?? DEFAULT_PLAN_POLICY.maxPerNode, {
    min: 1,
    integer: true,
  });
  const maxMoves =
    policy.maxMoves == null ? null : checkNumber('maxMoves', policy.maxMoves, { min: 1, integer: true });
  const maxBytes =
    policy.maxBytes == null ? null : checkNumber('maxBytes', policy.maxBytes, { min: 0, integer: false });
  const balanceBy = policy.balanceBy ?? DEFAULT_PLAN_POLICY.balanceBy;
  if (!['slots', 'keys', 'memory'].includes(balanceBy)) {
    throw new InvalidOptionError('balanceBy', `must be slots, keys or memory, got ${String(balanceBy)}`);
  }
  const useEmptyMasters = policy.useEmptyMasters ?? DEFAULT_PLAN_POLICY.useEmptyMasters;
  const pin = checkPin(policy.pin ?? []);

  const excluded = new Set<string>();
  for (const ref of policy.exclude ?? []) excluded.add(resolveMaster(topology, ref, 'exclude').id);

  const explicit = new Map<string, number>();
  const claim = (id: string, weight: number, option: string, ref: string): void => {
    if (excluded.has(id))
      throw new InvalidOptionError(option, `"${ref}" is also excluded; keep it in one list`);
    const earlier = explicit.get(id);
    if (earlier !== undefined && earlier !== weight) {
      throw new InvalidOptionError(option, `"${ref}" is given weight ${weight} and also ${earlier}`);
    }
    explicit.set(id, weight);
  };
  for (const [ref, weight] of Object.entries(policy.weights ?? {})) {
    const option = `weights.${ref}`;
    checkNumber(option, weight, { min: 0, integer: false });
    claim(resolveMaster(topology, ref, option).id, weight, option, ref);
  }
  for (const ref of policy.drain ?? []) claim(resolveMaster(topology, ref, 'drain').id, 0, 'drain', ref);

  const owned = slotsOwnedBy(topology);
  const weights: Record<string, number> = {};
  const masterIds = topology.nodes
    .filter((n) => n.role === 'master')
    .map((n) => n.id)
    .sort();
  for (const id of masterIds) {
    if (excluded.has(id)) continue;
    const weight = explicit.get(id);
    const hasSlots = (owned.get(id) ?? 0) > 0;
    if (hasSlots || useEmptyMasters || (weight !== undefined && weight > 0)) weights[id] = weight ?? 1;
  }

  return {
    weights,
    exclude: [...excluded].sort(),
    pin,
    useEmptyMasters,
    threshold,
    balanceBy,
    slotTolerance,
    maxMoves,
    maxBytes,
    maxPerNode,
  };
}
