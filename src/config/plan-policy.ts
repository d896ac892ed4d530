import type { Topology } from '../cluster/index.js';
import type { PlanPolicy } from '../planner/index.js';
import { assertKnownNodes, type PlanFile } from './plan-file.js';

/**
 * The planner policy a declarative plan file asks for, on this cluster. Node refs are checked here,
 * against the live topology, so an unknown node is reported with the plan file's line and field.
 */
export function policyFromPlanFile(plan: PlanFile, topology: Topology): PlanPolicy {
  const resolved = assertKnownNodes(
    plan,
    topology.nodes.map((n) => ({ id: n.id, addr: n.addr })),
  );
  const id = (ref: string): string => resolved.get(ref) ?? ref;
  return {
    weights: Object.fromEntries(Object.entries(plan.policy.weights).map(([ref, w]) => [id(ref), w])),
    drain: plan.policy.drain.map(id),
    exclude: plan.policy.exclude.map(id),
    pin: plan.policy.pin,
    useEmptyMasters: plan.policy.useEmptyMasters,
    threshold: plan.policy.threshold,
    balanceBy: plan.policy.balanceBy,
    ...(plan.policy.slotTolerance === null ? {} : { slotTolerance: plan.policy.slotTolerance }),
    maxMoves: plan.limits.maxMoves,
    maxBytes: plan.limits.maxBytes,
    ...(plan.limits.maxPerNode === null ? {} : { maxPerNode: plan.limits.maxPerNode }),
  };
}
