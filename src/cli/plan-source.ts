import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { openSlots, type NodePool, type Topology } from '../cluster/index.js';
import { parsePlanFileText, policyFromPlanFile, type PlanFile } from '../config/index.js';
import { InvalidOptionError } from '../errors/index.js';
import {
  fingerprintTopology,
  OpenSlotsError,
  parsePlan,
  StalePlanError,
  type Plan,
  type PlanPolicy,
} from '../planner/index.js';
import { planFromCluster } from './plan-flags.js';

/** What `-f FILE` names: a desired state to plan for, or a plan saved by `plan -o` to apply as is. */
export type PlanSource = { kind: 'desired'; file: PlanFile } | { kind: 'saved'; plan: Plan };

export function readPlanSource(path: string): PlanSource {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InvalidOptionError('--file', `cannot read ${path}: ${(e as Error).message}`);
  }
  let kind: unknown;
  try {
    kind = (parseYaml(text) as { kind?: unknown } | null)?.kind;
  } catch {
    // Not even YAML: the RebalancePlan parser reports the syntax error with file and line.
    kind = 'RebalancePlan';
  }
  if (kind === 'SlotPlan') return { kind: 'saved', plan: parsePlan(text) };
  return { kind: 'desired', file: parsePlanFileText(text, path) };
}

/** The plan for a desired-state file on this cluster (the dry-run diff `plan -f` prints). */
export function planForDesiredState(
  pool: NodePool,
  topology: Topology,
  file: PlanFile,
  sampleKeys: number,
): Promise<Plan> {
  const policy: PlanPolicy = policyFromPlanFile(file, topology);
  return planFromCluster(pool, topology, policy, sampleKeys);
}

/**
 * A saved plan applies to the topology it was made for, or to that topology with some of the
 * plan's own moves already done (an interrupted apply). Anything else is a stale plan.
 */
export function assertPlanApplies(plan: Plan, topology: Topology, allowOwnOpenSlots = false): void {
  const moves = new Map(plan.moves.map((m) => [m.slot, m]));
  const open = openSlots(topology).filter((o) => {
    const m = moves.get(o.slot);
    // A slot left open by this very plan's move (a crash mid-slot) is finished by its job.
    const own = m && new Set([m.from, m.to]).has(o.nodeId) && new Set([m.from, m.to]).has(o.peerId);
    return !(allowOwnOpenSlots && own);
  });
  if (open.length) throw new OpenSlotsError(open);
  const actual = fingerprintTopology(topology);
  if (actual === plan.topologyFingerprint) return;
  const owners = [...topology.owners];
  for (const m of plan.moves) if (owners[m.slot] === m.to) owners[m.slot] = m.from;
  if (fingerprintTopology({ ...topology, owners }) !== plan.topologyFingerprint) {
    throw new StalePlanError(plan.planId, plan.topologyFingerprint, actual);
  }
}
