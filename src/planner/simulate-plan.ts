import { toRanges, type Topology } from '../cluster/index.js';
import { InvalidPlanError, StalePlanError } from './errors.js';
import { fingerprintTopology } from './fingerprint.js';
import type { Plan } from './plan.js';

/** Refuses a plan made for another topology than `topology`. */
export function assertPlanFits(topology: Topology, plan: Plan): void {
  const actual = fingerprintTopology(topology);
  if (actual !== plan.topologyFingerprint)
    throw new StalePlanError(plan.planId, plan.topologyFingerprint, actual);
}

/**
 * The topology after every move of `plan` has been applied: owners and the masters' slot lists
 * change, nothing else. Throws `StalePlanError` when the plan was made for another topology.
 */
export function simulatePlan(topology: Topology, plan: Plan): Topology {
  assertPlanFits(topology, plan);
  const owners = [...topology.owners];
  plan.moves.forEach((m, i) => {
    if (owners[m.slot] !== m.from) {
      throw new InvalidPlanError(
        `moves.${i}`,
        `slot ${m.slot} is owned by ${owners[m.slot] ?? 'nobody'}, not ${m.from}`,
      );
    }
    owners[m.slot] = m.to;
  });
  const slotsOf = new Map<string, number[]>();
  owners.forEach((owner, slot) => {
    if (owner === null) return;
    const list = slotsOf.get(owner);
    if (list) list.push(slot);
    else slotsOf.set(owner, [slot]);
  });
  return {
    ...topology,
    owners,
    nodes: topology.nodes.map((n) =>
      n.role === 'master' ? { ...n, slots: toRanges(slotsOf.get(n.id) ?? []) } : n,
    ),
  };
}
