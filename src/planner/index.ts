export * from './errors.js';
export { fingerprintTopology } from './fingerprint.js';
export { PLAN_API_VERSION, PLAN_KIND, type Move, type NodeLoad, type Plan, type SlotStats } from './plan.js';
export {
  planMoves,
  REASON_ALREADY_BALANCED,
  REASON_NOTHING_TO_BALANCE,
  REASON_NO_IMPROVING_MOVE,
} from './plan-moves.js';
export {
  DEFAULT_PLAN_POLICY,
  resolveNodeRef,
  resolvePlanPolicy,
  type BalanceBy,
  type PlanPolicy,
  type ResolvedPlanPolicy,
} from './policy.js';
export { parsePlan, planSchema, planToJson, planToYaml } from './serialize.js';
export { assertPlanFits, moveProblems, simulatePlan } from './simulate-plan.js';
export { slotsNotWherePlanned, type SlotNotWherePlanned } from './plan-outcome.js';
export { apportion, thresholdBand, withinThreshold } from './targets.js';
export { buildWaves } from './waves.js';
