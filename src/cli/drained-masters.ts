import { masters, slotCount, type Topology } from '../cluster/index.js';
import type { Plan } from '../planner/index.js';
import { shortId } from './format.js';

/**
 * One line per master the plan drained (weight 0, a source of its moves) that now holds no slots:
 * what became of it, read from the topology after the plan, and how to take it out of the cluster.
 * Redis 7 turns a master that gives away its last slot into a replica of the node that took it
 * (cluster-allow-replica-migration, on by default), so a drained master silently reappears as a
 * replica; without this line nothing said so.
 */
export function drainedMasterNotes(plan: Plan, after: Topology): string[] {
  const sources = new Set(plan.moves.map((m) => m.from));
  const byId = new Map(after.nodes.map((n) => [n.id, n]));
  // redis-cli del-node is pointed at a node that stays: the first master still holding slots.
  const stays = masters(after)
    .filter((m) => slotCount(m.slots) > 0)
    .sort((a, b) => a.id.localeCompare(b.id))[0];
  const notes: string[] = [];
  for (const [id, weight] of Object.entries(plan.policy.weights)) {
    const node = byId.get(id);
    if (weight !== 0 || !sources.has(id) || !node) continue;
    if (node.role === 'master' && slotCount(node.slots) > 0) continue;
    if (after.owners.includes(id)) continue;
    const name = `${node.addr} (${shortId(id)})`;
    const master = node.masterId ? byId.get(node.masterId) : undefined;
    const now =
      node.role === 'replica'
        ? `Redis made it a replica of ${master ? `${master.addr} (${shortId(master.id)})` : shortId(node.masterId ?? '')}, as it does with a master left without slots`
        : 'it is still a master, with no slots';
    notes.push(
      `drained: ${name} holds no slots now; ${now}. To remove it from the cluster: redis-cli --cluster del-node ${stays?.addr ?? 'HOST:PORT'} ${id} (it forgets the node everywhere and shuts it down), or CLUSTER FORGET ${id} on every other node within 60 s`,
    );
  }
  return notes;
}
