import { toRanges, type Topology } from '../cluster/index.js';
import { InvalidPlanError, StalePlanError, type MoveProblem } from './errors.js';
import { fingerprintTopology } from './fingerprint.js';
import type { Plan } from './plan.js';

/** Refuses a plan made for another topology than `topology`. */
export function assertPlanFits(topology: Topology, plan: Plan): void {
  const actual = fingerprintTopology(topology);
  if (actual !== plan.topologyFingerprint)
    throw new StalePlanError(plan.planId, plan.topologyFingerprint, actual);
}

/**
 * What is wrong with each move of `plan` on `topology`, the topology it was made for (its fingerprint
 * matched): every move must take a slot from the master that owns it to another master, and each
 * slot move once. The fingerprint covers the owners and the masters, not the moves, so a plan edited
 * by hand passes it. Pure; an empty list means every move can run.
 */
export function moveProblems(topology: Topology, plan: Plan): MoveProblem[] {
  const byId = new Map(topology.nodes.map((n) => [n.id, n]));
  const name = (id: string): string => {
    const n = byId.get(id);
    return n ? `${n.addr} (${id.slice(0, 8)})` : id;
  };
  const notAMaster = (id: string, what: string): string | null => {
    const n = byId.get(id);
    if (!n) return `its ${what} ${id} is not a node of this cluster`;
    return n.role === 'master' ? null : `its ${what} ${name(id)} is a replica, not a master`;
  };
  const firstIndex = new Map<number, number>();
  const problems: MoveProblem[] = [];
  plan.moves.forEach((m, index) => {
    const owner = topology.owners[m.slot] ?? null;
    const earlier = firstIndex.get(m.slot);
    const problem =
      earlier !== undefined
        ? `slot ${m.slot} also moves in moves[${earlier}]`
        : m.from === m.to
          ? `it moves slot ${m.slot} from ${name(m.from)} to itself`
          : (notAMaster(m.to, 'target') ??
            notAMaster(m.from, 'source') ??
            (owner === m.from
              ? null
              : owner === m.to
                ? `slot ${m.slot} is already on its target ${name(m.to)}`
                : `slot ${m.slot} is owned by ${owner ? name(owner) : 'nobody'}, not by its source ${name(m.from)}`));
    if (earlier === undefined) firstIndex.set(m.slot, index);
    if (problem) problems.push({ index, slot: m.slot, problem });
  });
  return problems;
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
