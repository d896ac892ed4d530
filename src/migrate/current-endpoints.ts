import { parseClusterNodes, type NodePool } from '../cluster/index.js';
import type { SlotEndpoint, SlotMoveSpec } from './migrate-slot.js';

/**
 * A move's source and target as the cluster has them now: a node that a failover turned into a
 * replica is replaced by the master it now follows (which holds its data, replicated). Called when
 * a slot job is retried, so the fast path pays nothing for it.
 */
export async function currentEndpoints(
  pool: NodePool,
  move: SlotMoveSpec,
  others: readonly SlotEndpoint[],
): Promise<SlotMoveSpec> {
  for (const node of [move.from, move.to, ...others]) {
    let lines;
    try {
      lines = parseClusterNodes(await (await pool.get(node)).call('CLUSTER', 'NODES'));
    } catch {
      // That node is down (perhaps the one that failed over): ask the next.
      continue;
    }
    const byId = new Map(lines.map((l) => [l.id, l]));
    const resolve = (e: SlotEndpoint): SlotEndpoint => {
      const line = byId.get(e.id);
      if (!line || line.role === 'master' || !line.masterId) return e;
      const master = byId.get(line.masterId);
      return master ? { id: master.id, host: master.host, port: master.port } : e;
    };
    return { slot: move.slot, from: resolve(move.from), to: resolve(move.to) };
  }
  return move;
}
