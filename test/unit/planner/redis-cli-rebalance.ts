import { SLOT_COUNT, type Topology } from '../../../src/cluster/index.js';

export interface ReferenceMove {
  readonly slot: number;
  readonly from: string;
  readonly to: string;
}

/**
 * A port of redis-cli's `clusterManagerCommandRebalance` (src/redis-cli.c) to compare slotshift
 * against. Kept faithful on purpose, including its quirks:
 * - expected = (int)(16384 / totalWeight * weight), truncated; the leftover goes one slot at a time to
 *   the nodes with balance <= 0 in cluster order (the #4941 fix);
 * - a node is over the threshold when |100 - 100 * expected / slots| > threshold, i.e. relative to
 *   what it has; an empty node only when expected > 1; threshold 0 means "never rebalance";
 * - masters with no slots take part only with useEmpty (their weight is forced to 0 otherwise);
 * - each source gives its lowest-numbered slots (clusterManagerComputeReshardTable with one source).
 * Deviation: arithmetic is in doubles where redis-cli uses float, and the sort is stable (qsort is
 * not), so results are reproducible.
 */
export function redisCliRebalance(
  topology: Topology,
  weightsById: ReadonlyMap<string, number>,
  { useEmpty = false, threshold = 2 }: { useEmpty?: boolean; threshold?: number } = {},
): ReferenceMove[] | 'no rebalancing needed' {
  const slotsOf = new Map<string, Set<number>>();
  topology.owners.forEach((owner, slot) => {
    if (owner === null) return;
    const set = slotsOf.get(owner) ?? new Set<number>();
    set.add(slot);
    slotsOf.set(owner, set);
  });
  interface RefNode {
    id: string;
    weight: number;
    balance: number;
  }
  const involved: RefNode[] = [];
  let totalWeight = 0;
  for (const n of topology.nodes) {
    if (n.role !== 'master') continue;
    const count = slotsOf.get(n.id)?.size ?? 0;
    if (!useEmpty && count === 0) continue;
    const weight = weightsById.get(n.id) ?? 1;
    totalWeight += weight;
    involved.push({ id: n.id, weight, balance: 0 });
  }
  let thresholdReached = false;
  let totalBalance = 0;
  for (const n of involved) {
    const count = slotsOf.get(n.id)?.size ?? 0;
    const expected = Math.trunc((SLOT_COUNT / totalWeight) * n.weight);
    n.balance = count - expected;
    totalBalance += n.balance;
    if (threshold > 0) {
      if (count > 0) {
        if (Math.abs(100 - (100 * expected) / count) > threshold) thresholdReached = true;
      } else if (expected > 1) {
        thresholdReached = true;
      }
    }
  }
  if (!thresholdReached) return 'no rebalancing needed';
  while (totalBalance > 0) {
    for (const n of involved) {
      if (n.balance <= 0 && totalBalance > 0) {
        n.balance--;
        totalBalance--;
      }
    }
  }
  const sorted = [...involved].sort((a, b) => a.balance - b.balance);
  const moves: ReferenceMove[] = [];
  let dst = 0;
  let src = sorted.length - 1;
  while (dst < src) {
    const d = sorted[dst];
    const s = sorted[src];
    if (!d || !s) break;
    const numslots = Math.min(Math.abs(d.balance), Math.abs(s.balance));
    if (numslots > 0) {
      const owned = [...(slotsOf.get(s.id) ?? [])].sort((a, b) => a - b).slice(0, numslots);
      for (const slot of owned) {
        moves.push({ slot, from: s.id, to: d.id });
        slotsOf.get(s.id)?.delete(slot);
        const target = slotsOf.get(d.id) ?? new Set<number>();
        target.add(slot);
        slotsOf.set(d.id, target);
      }
    }
    d.balance += numslots;
    s.balance -= numslots;
    if (d.balance === 0) dst++;
    if (s.balance === 0) src--;
  }
  return moves;
}
