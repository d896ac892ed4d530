import type { BalanceBy, ResolvedPlanPolicy } from './policy.js';

/** Per-slot statistics, each an array of length SLOT_COUNT; an absent array means unknown. */
export interface SlotStats {
  readonly keys?: readonly number[];
  readonly bytes?: readonly number[];
}

/** One slot changing owner; `keys`/`bytes` are estimates from the stats (0 when unknown). */
export interface Move {
  readonly slot: number;
  readonly from: string;
  readonly to: string;
  readonly keys: number;
  readonly bytes: number;
}

/** What a master holds. `share` is its fraction of the balanced measure over all masters. */
export interface NodeLoad {
  readonly slots: number;
  readonly keys: number;
  readonly bytes: number;
  readonly share: number;
}

export const PLAN_API_VERSION = 'slotshift/v1';
export const PLAN_KIND = 'SlotPlan';

/** A whole rebalance as data: printed by `plan`, executed unchanged by `apply`. */
export interface Plan {
  readonly apiVersion: typeof PLAN_API_VERSION;
  readonly kind: typeof PLAN_KIND;
  readonly planId: string;
  /** `fingerprintTopology` of the topology the plan was made for. */
  readonly topologyFingerprint: string;
  readonly policy: ResolvedPlanPolicy;
  readonly balanceBy: BalanceBy;
  /** Most useful first: a prefix of the moves is itself a sensible plan. */
  readonly moves: readonly Move[];
  /** Indices into `moves`; in one wave no node is source or target of more than `policy.maxPerNode` moves. */
  readonly waves: readonly (readonly number[])[];
  /** Slot count each taking-part master is balanced towards, by node id. */
  readonly targets: Readonly<Record<string, number>>;
  /** Every master, by node id. */
  readonly before: Readonly<Record<string, NodeLoad>>;
  readonly after: Readonly<Record<string, NodeLoad>>;
  readonly totals: { readonly slots: number; readonly keys: number; readonly bytes: number };
  /** Why the plan is empty or short, when it is. */
  readonly reason?: string;
  /** Moves left out by `maxMoves`/`maxBytes`; a later plan picks them up. */
  readonly deferred: number;
  /**
   * How `apply -f` of the saved plan moves its slots where its own flags do not say: `plan -o` writes
   * it from `--latency-budget-ms` or the desired-state file's `spec.limits`. Not part of the plan's
   * identity (planId): it changes how fast slots move, not which.
   */
  readonly limits?: { readonly latencyBudgetMs: number };
}
