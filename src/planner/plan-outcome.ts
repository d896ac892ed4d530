import type { Topology } from '../cluster/index.js';
import type { Move } from './plan.js';

/** A moved slot that is not where the plan put it. */
export interface SlotNotWherePlanned {
  readonly slot: number;
  /** The plan's target. */
  readonly planned: string;
  /** Who owns the slot now (null: nobody, in the reference view). */
  readonly owner: string | null;
}

/**
 * Moves reported done whose slot is now owned by neither their target nor the master that replaced
 * it in a failover. A slot can go back after its move was verified: when a source's replica wins an
 * election with a config epoch above the one the target took the slot with, Redis gives the slot to
 * the new master, and the target drops the keys it had received. Per-slot verification ran before
 * that and cannot see it; this check can.
 * The replacement is the master the old target now follows as a replica, or, for a target that died
 * (it follows no one), a node that was its replica in `before`, the topology the plan ran on.
 */
export function slotsNotWherePlanned(
  moves: readonly Move[],
  done: ReadonlySet<number>,
  topology: Topology,
  before?: Topology,
): SlotNotWherePlanned[] {
  const byId = new Map(topology.nodes.map((n) => [n.id, n]));
  const replicasBefore = new Map<string, Set<string>>();
  for (const n of before?.nodes ?? []) {
    if (n.role !== 'replica' || !n.masterId) continue;
    let set = replicasBefore.get(n.masterId);
    if (!set) replicasBefore.set(n.masterId, (set = new Set()));
    set.add(n.id);
  }
  const out: SlotNotWherePlanned[] = [];
  for (const m of moves) {
    if (!done.has(m.slot)) continue;
    const owner = topology.owners[m.slot] ?? null;
    if (owner === m.to) continue;
    const target = byId.get(m.to);
    if (owner !== null && target?.role === 'replica' && target.masterId === owner) continue;
    const targetDead = !target || target.failing || !target.reachable;
    if (owner !== null && targetDead && replicasBefore.get(m.to)?.has(owner)) continue;
    out.push({ slot: m.slot, planned: m.to, owner });
  }
  return out;
}
