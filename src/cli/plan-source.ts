import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { openSlots, type NodePool, type Topology } from '../cluster/index.js';
import { parsePlanFileText, policyFromPlanFile, type PlanFile } from '../config/index.js';
import { InvalidOptionError } from '../errors/index.js';
import {
  fingerprintTopology,
  InvalidPlanError,
  moveProblems,
  OpenSlotsError,
  PlanMovesMismatchError,
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
  if (kind === 'SlotPlan') {
    try {
      return { kind: 'saved', plan: parsePlan(text) };
    } catch (e) {
      // The parser knows the field, not the file: a user with several saved plans needs both.
      if (e instanceof InvalidPlanError) throw new InvalidPlanError(e.field, e.detail, path);
      throw e;
    }
  }
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
 * The topology `plan` was made for, from the live one: the live one itself, or the live one with
 * some of the plan's own moves already done (an interrupted apply), undone. Anything else is a
 * stale plan (StalePlanError); a slot left open is refused (OpenSlotsError) unless it is one of
 * this plan's own moves and `allowOwnOpenSlots` says its job will finish it.
 */
export function topologyPlanWasMadeFor(plan: Plan, topology: Topology, allowOwnOpenSlots = false): Topology {
  const moves = new Map(plan.moves.map((m) => [m.slot, m]));
  const open = openSlots(topology).filter((o) => {
    const m = moves.get(o.slot);
    // A slot left open by this very plan's move (a crash mid-slot) is finished by its job.
    const own = m && new Set([m.from, m.to]).has(o.nodeId) && new Set([m.from, m.to]).has(o.peerId);
    return !(allowOwnOpenSlots && own);
  });
  if (open.length) throw new OpenSlotsError(open);
  const actual = fingerprintTopology(topology);
  if (actual === plan.topologyFingerprint) return topology;
  const owners = [...topology.owners];
  for (const m of plan.moves) if (owners[m.slot] === m.to) owners[m.slot] = m.from;
  const before = { ...topology, owners };
  if (fingerprintTopology(before) !== plan.topologyFingerprint) {
    throw new StalePlanError(plan.planId, plan.topologyFingerprint, actual);
  }
  return before;
}

/**
 * A saved plan applies to the topology it was made for (see topologyPlanWasMadeFor), and each of
 * its moves to that topology: the fingerprint does not cover the moves, so a plan edited by hand
 * (a target that is no node, a slot its source does not own) passed it and then half-ran.
 * `file` names the plan in the error. Returns the topology the plan was made for.
 */
export function assertPlanApplies(
  plan: Plan,
  topology: Topology,
  { allowOwnOpenSlots = false, file = 'the plan' }: { allowOwnOpenSlots?: boolean; file?: string } = {},
): Topology {
  const before = topologyPlanWasMadeFor(plan, topology, allowOwnOpenSlots);
  const problems = moveProblems(before, plan);
  if (problems.length) throw new PlanMovesMismatchError(file, problems);
  return before;
}
