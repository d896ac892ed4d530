import { z } from 'zod';
import {
  SLOT_COUNT,
  deadMastersNotReplaced,
  formatRanges,
  masters,
  countOpenSlots,
  openSlots,
  readTopology,
  replicasOf,
  slotCount,
  parseInfo,
  type NodeAddress,
  type NodePool,
  type Topology,
} from '../cluster/index.js';
import { plural } from '../text/index.js';

/**
 * The `slotshift status --json` document. Version 1 is stable: fields may be added, never renamed
 * or removed. Documented in README.md ("status --json").
 */
export const StatusReportSchema = z.object({
  version: z.literal(1),
  clusterState: z.enum(['ok', 'fail', 'unknown']),
  masters: z.array(
    z.object({
      id: z.string().length(40),
      addr: z.string(),
      slots: z.number().int().min(0).max(SLOT_COUNT),
      ranges: z.string(),
      sharePct: z.number(),
      keys: z.number().int().nullable(),
      usedMemoryBytes: z.number().int().nullable(),
      failing: z.boolean(),
      reachable: z.boolean(),
      replicas: z.array(z.object({ id: z.string(), addr: z.string(), failing: z.boolean() })),
    }),
  ),
  openSlots: z.array(
    z.object({
      slot: z.number().int(),
      nodeId: z.string(),
      state: z.enum(['migrating', 'importing']),
      peerId: z.string(),
    }),
  ),
  uncoveredSlots: z.number().int(),
  /** Slots still owned by a dead master that no replica replaces: the cluster is down for them. */
  deadOwnerSlots: z.number().int(),
  agreed: z.boolean(),
  disagreements: z.array(
    z.object({
      nodeId: z.string(),
      slot: z.number().int(),
      expected: z.string().nullable(),
      seen: z.string().nullable(),
    }),
  ),
  balance: z.object({
    thresholdPct: z.number(),
    balanced: z.boolean(),
    /** Largest |slots - even share| / even share among masters holding slots, in percent. */
    maxDeviationPct: z.number(),
    mastersWithSlots: z.number().int(),
    emptyMasters: z.number().int(),
    verdict: z.string(),
  }),
});
export type StatusReport = z.infer<typeof StatusReportSchema>;

/** redis-cli's default rebalance threshold: a master within 2% of its share is left alone. */
export const DEFAULT_THRESHOLD_PCT = 2;

export interface BalanceVerdict {
  balanced: boolean;
  maxDeviationPct: number;
  mastersWithSlots: number;
  emptyMasters: number;
  verdict: string;
}

/** The condition named by status wherever it advises `slotshift fix`: fix must not race a move. */
export const NOTHING_MOVING = 'no slotshift apply, worker or daemon (nor redis-cli --cluster) is running';

/**
 * Why `slotshift plan` would refuse this cluster, with what to do first; null when it would plan.
 * An open slot is also what a move under way looks like, so waiting is the first advice, fix the
 * second.
 */
function planBlocker(topology: Topology): string | null {
  const open = countOpenSlots(openSlots(topology));
  if (open > 0)
    return `${plural(open, 'slot')} ${open === 1 ? 'is' : 'are'} open, so slotshift plan refuses for now: a move may be under way (let it finish); if ${NOTHING_MOVING}, run slotshift fix, then slotshift plan`;
  const uncovered = topology.owners.filter((o) => o === null).length;
  if (uncovered > 0)
    return `${plural(uncovered, 'slot')} ${uncovered === 1 ? 'has' : 'have'} no owner, so slotshift plan refuses for now: run slotshift fix, then slotshift plan`;
  return null;
}

/**
 * Even-share verdict over the masters that hold slots, like redis-cli; empty masters are named
 * separately because adding them is a deliberate step (`plan --use-empty-masters`).
 */
export function balanceVerdict(topology: Topology, thresholdPct: number): BalanceVerdict {
  const counts = masters(topology).map((m) => slotCount(m.slots));
  const holding = counts.filter((c) => c > 0);
  const emptyMasters = counts.length - holding.length;
  const even = holding.length ? SLOT_COUNT / holding.length : 0;
  const maxDeviationPct = holding.length
    ? Math.max(...holding.map((c) => (Math.abs(c - even) / even) * 100))
    : 0;
  const rounded = Math.round(maxDeviationPct * 100) / 100;
  const balanced = rounded <= thresholdPct;
  // `slotshift plan` refuses a cluster with open or ownerless slots (OpenSlotsError,
  // UncoveredSlotsError): the verdict then says what comes first instead of sending the user there.
  const blocker = planBlocker(topology);
  const base = balanced
    ? `balanced: ${plural(holding.length, 'master')} within ${thresholdPct}% of an even share (max deviation ${rounded}%)`
    : `unbalanced: a master is ${rounded}% off an even share (threshold ${thresholdPct}%)${blocker ? '' : '; run slotshift plan'}`;
  const empty = emptyMasters
    ? `; ${plural(emptyMasters, 'master')} ${emptyMasters === 1 ? 'holds' : 'hold'} no slots${blocker ? '' : ` (slotshift plan --use-empty-masters spreads slots onto ${emptyMasters === 1 ? 'it' : 'them'})`}`
    : '';
  return {
    balanced,
    maxDeviationPct: rounded,
    mastersWithSlots: holding.length,
    emptyMasters,
    verdict: base + empty + (blocker ? `; ${blocker}` : ''),
  };
}

export async function readClusterStatus(
  pool: NodePool,
  seeds: readonly NodeAddress[],
  thresholdPct = DEFAULT_THRESHOLD_PCT,
): Promise<{ topology: Topology; report: StatusReport }> {
  const topology = await readTopology(pool, seeds);
  const rows = await Promise.all(
    masters(topology).map(async (m) => {
      let keys: number | null = null;
      let usedMemoryBytes: number | null = null;
      let clusterState: string | null = null;
      if (m.reachable) {
        try {
          const redis = await pool.get(m);
          const [dbsize, memory, cluster] = await Promise.all([
            redis.dbsize(),
            redis.info('memory'),
            redis.call('CLUSTER', 'INFO'),
          ]);
          keys = dbsize;
          usedMemoryBytes = Number(parseInfo(memory).get('used_memory') ?? NaN);
          clusterState = parseInfo(cluster).get('cluster_state') ?? null;
        } catch {
          // The node went away between reading the topology and asking for its size: shown as unknown.
        }
      }
      const slots = slotCount(m.slots);
      return {
        clusterState,
        row: {
          id: m.id,
          addr: m.addr,
          slots,
          ranges: formatRanges(m.slots),
          sharePct: Math.round((slots / SLOT_COUNT) * 10000) / 100,
          keys,
          usedMemoryBytes: Number.isFinite(usedMemoryBytes) ? usedMemoryBytes : null,
          failing: m.failing,
          reachable: m.reachable,
          replicas: replicasOf(topology, m.id).map((r) => ({ id: r.id, addr: r.addr, failing: r.failing })),
        },
      };
    }),
  );
  const states = rows.map((r) => r.clusterState).filter((s): s is string => s !== null);
  const clusterState = states.length === 0 ? 'unknown' : states.every((s) => s === 'ok') ? 'ok' : 'fail';
  const verdict = balanceVerdict(topology, thresholdPct);
  const dead = deadMastersNotReplaced(topology);
  const report: StatusReport = {
    version: 1,
    clusterState,
    masters: rows.map((r) => r.row).sort((a, b) => a.addr.localeCompare(b.addr, 'en', { numeric: true })),
    openSlots: openSlots(topology),
    uncoveredSlots: topology.owners.filter((o) => o === null).length,
    deadOwnerSlots: topology.owners.filter((o) => o !== null && dead.has(o)).length,
    agreed: topology.agreed,
    disagreements: [...topology.disagreements],
    balance: { thresholdPct, ...verdict },
  };
  return { topology, report };
}
