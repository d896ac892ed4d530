import { parseClusterNodes, type NodePool, type NodesLine } from '../cluster/index.js';
import { SlotProtocolError } from './errors.js';
import type { SlotEndpoint, SlotMoveSpec } from './migrate-slot.js';

/** A master as the plan saw it, with the ids of its replicas then (absent in plans of older builds). */
export interface PlannedMaster extends SlotEndpoint {
  readonly replicaIds?: readonly string[];
}

/**
 * A move's source and target as the cluster has them now: a node that a failover turned into a
 * replica is replaced by the master it now follows (which holds its data, replicated). Called when
 * a slot job is retried, so the fast path pays nothing for it.
 */
export async function currentEndpoints(
  pool: NodePool,
  move: SlotMoveSpec,
  planned: readonly PlannedMaster[],
): Promise<SlotMoveSpec> {
  for (const node of [move.from, move.to, ...planned]) {
    let lines;
    try {
      lines = parseClusterNodes(await (await pool.get(node)).call('CLUSTER', 'NODES'));
    } catch {
      // That node is down (perhaps the one that failed over): ask the next.
      continue;
    }
    return endpointsNow(lines, move, planned);
  }
  return move;
}

/** `currentEndpoints` on one node's CLUSTER NODES: pure, so every failover shape is unit-tested. */
export function endpointsNow(
  lines: readonly NodesLine[],
  move: SlotMoveSpec,
  planned: readonly PlannedMaster[],
): SlotMoveSpec {
  const byId = new Map(lines.map((l) => [l.id, l]));
  const endpoint = (l: NodesLine): SlotEndpoint => ({ id: l.id, host: l.host, port: l.port });
  const failed = (e: SlotEndpoint): boolean => {
    const line = byId.get(e.id);
    return line?.role === 'master' && line.flags.includes('fail');
  };
  // A master that died (SIGKILL, a crash, a lost host) is not a replica of anyone: it stays a failed
  // master with no slots in its peers' eyes, and the replica elected in its place names no link to
  // it. Its replicas when the plan was made say which master replaced it.
  const electedFor = (e: SlotEndpoint): SlotEndpoint | null => {
    const replicaIds = planned.find((p) => p.id === e.id)?.replicaIds ?? [];
    const elected = lines.find(
      (l) => replicaIds.includes(l.id) && l.role === 'master' && !l.flags.includes('fail'),
    );
    return elected ? endpoint(elected) : null;
  };
  const resolve = (e: SlotEndpoint): SlotEndpoint => {
    const line = byId.get(e.id);
    if (!line) return e;
    if (failed(e)) return electedFor(e) ?? e;
    if (line.role === 'master' || !line.masterId) return e;
    const master = byId.get(line.masterId);
    return master ? endpoint(master) : e;
  };
  // A plan of an older build does not name replicas; a dead source's slot's current owner is then
  // the replica elected in its place, holding the slot's keys by replication. Only for a failed
  // source: a third node owning the slot of a healthy one is a stale plan.
  const owner = lines.find(
    (l) => l.role === 'master' && l.slots.some((r) => r.start <= move.slot && move.slot <= r.end),
  );
  const from =
    failed(move.from) &&
    !electedFor(move.from) &&
    owner &&
    owner.id !== move.from.id &&
    owner.id !== move.to.id
      ? endpoint(owner)
      : resolve(move.from);
  return { slot: move.slot, from, to: resolve(move.to) };
}

/** How long a job waits for a replaced master to say it is a replica: a manual failover pauses it up to 10 s. */
const DEMOTION_WAIT_MS = 10_000;

/**
 * Waits until `was`, a master that a failover replaced by `now`, says itself that it is a replica
 * (or cannot be reached). Until then the failover is not settled: other nodes may already list
 * `now` as the master while `was`, paused, has not heard of it, and if `was` then wins a config-epoch
 * collision with a master taking slots, Redis undoes the failover and `now` turns replica again,
 * dropping every write it accepted as master, keys moved to it included. So nothing is moved to or
 * from `now` before `was` agrees. A `was` still master after the wait throws a retryable error: the
 * retry reads the endpoints again, which names `was` again if the failover was undone.
 */
export async function awaitDemotion(
  pool: NodePool,
  slot: number,
  was: SlotEndpoint,
  now: SlotEndpoint,
  timeoutMs = DEMOTION_WAIT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
    let role: unknown[];
    try {
      role = (await (await pool.get(was)).call('ROLE')) as unknown[];
    } catch {
      // Down: it cannot claim its slots back before it hears of the new master.
      return;
    }
    if (role[0] === 'slave') return;
    if (Date.now() > deadline) {
      throw new SlotProtocolError(
        slot,
        'failover check',
        was.id,
        `its replica ${now.host}:${now.port} is listed as the new master but it still says it is a master; nothing moves until the failover settles`,
        true,
      );
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}
