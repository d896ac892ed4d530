import type { Redis } from 'ioredis';
import type { Move, Plan } from '../planner/index.js';
import type { Topology } from '../cluster/index.js';
import { masters, replicasOf } from '../cluster/index.js';
import type { BigKey, PlannedMaster } from '../migrate/index.js';

export const DEFAULT_QUEUE_NAME = 'slotshift';
export const MOVE_SLOT_JOB = 'move-slot';

export interface JobEndpoint {
  readonly id: string;
  readonly host: string;
  readonly port: number;
}

/** Everything a worker on any host needs to move one slot. Addresses only: never credentials. */
export interface SlotJobData {
  readonly planId: string;
  readonly slot: number;
  readonly from: JobEndpoint;
  readonly to: JobEndpoint;
  /** Estimated keys and bytes, for progress. */
  readonly keys: number;
  readonly bytes: number;
}

export interface SlotJobResult {
  readonly slot: number;
  readonly outcome: 'moved' | 'already-moved' | 'cancelled';
  readonly keys: number;
  readonly batches: number;
  readonly durationMs: number;
  /** Keys over the big-key threshold, each moved in a MIGRATE of its own. */
  readonly bigKeys: readonly BigKey[];
  readonly verified?: boolean;
  readonly mismatches?: readonly { key: string; problem: 'missing' | 'changed' }[];
}

/** Deterministic, so enqueueing the same plan twice adds nothing (BullMQ ignores a known job id). */
export function slotJobId(planId: string, slot: number): string {
  return `plan-${planId}-slot-${slot}`;
}

/**
 * Every master when the plan was made, so a worker can announce new owners without a topology read.
 * Stored once per plan (PlanQueue.enqueue), not in every job: with 100 masters it was 8 KB a job.
 */
export function planMasters(topology: Topology): PlannedMaster[] {
  // Replicas too: a master that dies is replaced by one of them, and nothing in the cluster then
  // links the two (see endpointsNow).
  return masters(topology).map((m) => ({
    id: m.id,
    host: m.host,
    port: m.port,
    replicaIds: replicasOf(topology, m.id).map((r) => r.id),
  }));
}

/**
 * Jobs in an order that keeps every node pair busy: the plan's waves already cap the moves per node,
 * and taking moves wave by wave interleaves the pairs so workers pulling from the head of the queue
 * rarely wait on a node limit.
 */
export function slotJobsFor(plan: Plan, topology: Topology): SlotJobData[] {
  const byId = new Map(planMasters(topology).map((m) => [m.id, m]));
  const endpoint = (id: string): JobEndpoint => {
    const e = byId.get(id);
    if (!e) throw new Error(`plan names node ${id}, which the topology does not have`);
    return e;
  };
  const ordered: Move[] = plan.waves.length
    ? plan.waves.flatMap((w) => w.map((i) => plan.moves[i]!))
    : [...plan.moves];
  return ordered.map((m) => ({
    planId: plan.planId,
    slot: m.slot,
    from: endpoint(m.from),
    to: endpoint(m.to),
    keys: m.keys,
    bytes: m.bytes,
  }));
}

/** The plan's masters as PlanQueue.enqueue stored them (planMasters); null when it stored none. */
export async function readPlanMasters(
  redis: Redis,
  queueName: string,
  planId: string,
): Promise<PlannedMaster[] | null> {
  const json = await redis.get(planKeys(queueName, planId).masters);
  return json === null ? null : (JSON.parse(json) as PlannedMaster[]);
}

/** Keys in the queue Redis, next to BullMQ's own. */
export const planKeys = (queueName: string, planId: string) => ({
  done: `${queueName}:slotshift:plan:${planId}:done`,
  failed: `${queueName}:slotshift:plan:${planId}:failed`,
  stats: `${queueName}:slotshift:plan:${planId}:stats`,
  cancel: `${queueName}:slotshift:plan:${planId}:cancel`,
  masters: `${queueName}:slotshift:plan:${planId}:masters`,
  /**
   * Prefix of per-slot lists (`<moved>:<slot>`, one JSON array of [key, digest] pairs per batch) of
   * the keys the slot's attempts have moved, so the attempt that finishes the slot after a failed
   * or killed one verifies them too. (`moved-batches`, not `moved`: earlier builds kept a hash per
   * slot under `moved`, which a list command would meet as WRONGTYPE on a resumed plan.)
   */
  moved: `${queueName}:slotshift:plan:${planId}:moved-batches`,
  /** Prefix of the per-slot hashes (key → digest) earlier builds kept instead; read on resume only. */
  legacyMoved: `${queueName}:slotshift:plan:${planId}:moved`,
  /** Hash: big key name → `{slot, bytes}` JSON, for the summary. */
  bigKeys: `${queueName}:slotshift:plan:${planId}:bigkeys`,
  /**
   * The close turn shared by worker processes, and the highest config epoch their closes left: per
   * plan, because epochs belong to one cluster, and a queue may serve another cluster later.
   */
  closeTurn: `${queueName}:slotshift:plan:${planId}:close-turn`,
  closeEpoch: `${queueName}:slotshift:plan:${planId}:close-epoch`,
});
export const nodeLimitKey = (queueName: string, nodeId: string, role: 'source' | 'target'): string =>
  `${queueName}:slotshift:node:${nodeId}:${role}`;
/** Sorted set of the slot-worker processes alive on a queue (see WorkerPresence). */
export const workerProcessesKey = (queueName: string): string => `${queueName}:slotshift:worker-processes`;
/** Hash: BullMQ worker id → the machine and pid of the process running it (see reclaimDeadWorkersJobs). */
export const workerOwnersKey = (queueName: string): string => `${queueName}:slotshift:worker-owners`;
/**
 * Lua that sets `now` to the queue server's clock in ms: leases and heartbeats are judged by one
 * clock, so workers on hosts with skewed clocks agree.
 */
export const LUA_SERVER_NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;
