import calculateSlot from 'cluster-key-slot';
import { clusterChecksums, compareChecksums, type SlotChecksum } from '../src/checksum/index.js';
import { NodePool, masters, openSlots, parseAddress, readTopology } from '../src/cluster/index.js';
import type { LocalCluster } from '../src/localcluster/index.js';

/** What the bench reads of a cluster before and after a contender runs. */
export interface ClusterState {
  /** `owners[slot]` is the id of the master serving the slot. */
  readonly owners: readonly (string | null)[];
  readonly openSlots: number;
  /** DBSIZE of every node, by node id. */
  readonly keysPerNode: ReadonlyMap<string, number>;
  /** Keys with a TTL, summed over the masters that serve slots (INFO keyspace `expires`). */
  readonly ttlKeys: number;
  /** Every slot's checksum, TTL presence included; only when asked for (it reads every key). */
  readonly checksums?: readonly SlotChecksum[];
}

export async function readClusterState(cluster: LocalCluster, withChecksums: boolean): Promise<ClusterState> {
  const pool = new NodePool({});
  try {
    const topology = await readTopology(pool, cluster.seeds.map(parseAddress));
    const serving = new Set(topology.owners);
    const keysPerNode = new Map<string, number>();
    let ttlKeys = 0;
    for (const n of cluster.nodes) {
      const redis = await pool.get(n);
      keysPerNode.set(n.id, await redis.dbsize());
      // A drained master turns into a replica whose keys are copies; see keysPerServingMaster.
      if (serving.has(n.id)) ttlKeys += Number(/expires=(\d+)/.exec(await redis.info('keyspace'))?.[1] ?? 0);
    }
    const checksums = withChecksums
      ? await clusterChecksums(
          await Promise.all(
            masters(topology)
              .filter((m) => m.slots.length > 0)
              .map(async (m) => ({ id: m.id, redis: await pool.get(m), slots: m.slots })),
          ),
          // TTL presence in the digest: a key that lost its TTL in a move shows as a changed slot.
          { includeTtl: true },
        )
      : undefined;
    return {
      owners: topology.owners,
      openSlots: openSlots(topology).length,
      keysPerNode,
      ttlKeys,
      ...(checksums ? { checksums } : {}),
    };
  } finally {
    await pool.close();
  }
}

/** Slots whose owner differs between two states. */
export function movedSlots(before: ClusterState, after: ClusterState): number[] {
  return before.owners.flatMap((owner, slot) => (owner !== after.owners[slot] ? [slot] : []));
}

export interface ContentComparison {
  /** Slots whose key count or content checksum differs. */
  readonly changedSlots: number;
  /** Keys missing afterwards, summed per slot (a key gone from one slot is not offset by another). */
  readonly lostKeys: number;
  readonly keysBefore: number;
  readonly keysAfter: number;
}

/** Compares the slot checksums of two states that both have them. */
export function compareContent(before: ClusterState, after: ClusterState): ContentComparison {
  const a = before.checksums ?? [];
  const b = after.checksums ?? [];
  const afterBySlot = new Map(b.map((c) => [c.slot, c.keys]));
  return {
    changedSlots: compareChecksums(a, b).length,
    lostKeys: a.reduce((n, c) => n + Math.max(0, c.keys - (afterBySlot.get(c.slot) ?? 0)), 0),
    keysBefore: a.reduce((n, c) => n + c.keys, 0),
    keysAfter: b.reduce((n, c) => n + c.keys, 0),
  };
}

/** Keys in the slots that changed owner, counted from the checksums taken before the move. */
export function keysInSlots(state: ClusterState, slots: readonly number[]): number {
  const keysBySlot = new Map((state.checksums ?? []).map((c) => [c.slot, c.keys]));
  return slots.reduce((n, s) => n + (keysBySlot.get(s) ?? 0), 0);
}

/** The big keys whose slot changed owner. */
export function bigKeysMoved(bigKeys: readonly string[], before: ClusterState, after: ClusterState): number {
  return bigKeys.filter((k) => {
    const slot = calculateSlot(k);
    return before.owners[slot] !== after.owners[slot];
  }).length;
}

export interface KeySpread {
  readonly maxKeys: number;
  readonly minKeys: number;
  /** Coefficient of variation (population standard deviation / mean) of the keys per master. */
  readonly cv: number;
}

/**
 * DBSIZE of each master that serves slots. The others are left out: an empty master holds no keys,
 * and a drained one is turned by Redis into a replica of the master that took its last slot, so its
 * DBSIZE counts that master's keys a second time.
 */
export function keysPerServingMaster(state: ClusterState): number[] {
  const serving = new Set(state.owners.filter((o): o is string => o !== null));
  return [...serving].map((id) => state.keysPerNode.get(id) ?? 0);
}

/** Keys per master over the masters that serve slots (see `keysPerServingMaster`). */
export function keySpread(state: ClusterState): KeySpread {
  const counts = keysPerServingMaster(state);
  if (counts.length === 0) return { maxKeys: 0, minKeys: 0, cv: 0 };
  const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
  const variance = counts.reduce((a, c) => a + (c - mean) ** 2, 0) / counts.length;
  return {
    maxKeys: Math.max(...counts),
    minKeys: Math.min(...counts),
    cv: mean === 0 ? 0 : Math.sqrt(variance) / mean,
  };
}
