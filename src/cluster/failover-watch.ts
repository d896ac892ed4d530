import type { ClusterNode, Topology } from './model.js';
import { infoNumber } from './parse-replies.js';
import type { NodePool } from './node-pool.js';

/**
 * Failover elections each node has run since it started: the FAILOVER_AUTH_REQUEST messages it
 * broadcast (`cluster_stats_messages_auth-req_sent` of CLUSTER INFO, left out by Redis while 0).
 * Nodes that do not answer are left out of the map.
 */
export async function electionsRun(
  pool: NodePool,
  nodes: readonly ClusterNode[],
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  await Promise.all(
    nodes.map(async (n) => {
      try {
        const info = await (await pool.get(n)).call('CLUSTER', 'INFO');
        counts.set(n.id, infoNumber(info, 'cluster_stats_messages_auth-req_sent') ?? 0);
      } catch {
        // Unreachable now: nothing can be said about its elections, and the caller skips it.
      }
    }),
  );
  return counts;
}

/** A replica that ran for master while a plan moved slots and is a replica again at the end. */
export interface FailoverNotKept {
  readonly replica: ClusterNode;
  readonly master: ClusterNode | null;
}

/**
 * Replicas whose election count rose between `before` and `after` and that are replicas in
 * `topology` (read after `after`): their failover either lost its election or was undone. Redis
 * undoes a fresh failover when the old master wins a config-epoch collision first (targets bump
 * their epochs without consensus as they take slots); slotshift cannot prevent that, so it says so.
 */
export function failoversNotKept(
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
  topology: Topology,
): FailoverNotKept[] {
  return topology.nodes
    .filter((n) => n.role === 'replica')
    .filter((n) => {
      const was = before.get(n.id);
      const now = after.get(n.id);
      return was !== undefined && now !== undefined && now > was;
    })
    .map((replica) => ({
      replica,
      master: topology.nodes.find((m) => m.id === replica.masterId) ?? null,
    }));
}
