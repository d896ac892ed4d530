import type { NodePool, Topology } from '../cluster/index.js';
import { ImpossiblePolicyError, planMoves, type Plan, type PlanPolicy } from '../planner/index.js';
import { collectSlotStats, DEFAULT_SLOT_STATS_OPTIONS } from './collect-slot-stats.js';

/**
 * The I/O side of planning: reads slot stats, then calls the pure planner. Stats are read before
 * planning so the plan carries key/byte estimates. Shared by `plan`, `apply` and the daemon.
 */
export async function planFromCluster(
  pool: NodePool,
  topology: Topology,
  policy: PlanPolicy,
  sampleKeysPerSlot: number,
): Promise<Plan> {
  assertStatsServePolicy(policy, sampleKeysPerSlot);
  const stats = await collectSlotStats(pool, topology, { ...DEFAULT_SLOT_STATS_OPTIONS, sampleKeysPerSlot });
  return planMoves(topology, stats, policy);
}

/**
 * Balancing by memory with no key sampled would see every slot at 0 bytes and call any cluster
 * balanced; say so instead of planning nothing.
 */
export function assertStatsServePolicy(policy: PlanPolicy, sampleKeysPerSlot: number): void {
  if (policy.balanceBy === 'memory' && sampleKeysPerSlot === 0) {
    throw new ImpossiblePolicyError(
      'balancing by memory needs byte estimates, and --sample-keys 0 (sampleKeysPerSlot) samples no key: sample at least 1 key per slot (default 4), or balance by slots or keys',
    );
  }
}
