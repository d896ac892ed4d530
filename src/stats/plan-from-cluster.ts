import type { NodePool, Topology } from '../cluster/index.js';
import { planMoves, type Plan, type PlanPolicy } from '../planner/index.js';
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
  const stats = await collectSlotStats(pool, topology, { ...DEFAULT_SLOT_STATS_OPTIONS, sampleKeysPerSlot });
  return planMoves(topology, stats, policy);
}
