import { SLOT_COUNT, type ClusterNode, type SlotDisagreement, type Topology } from './model.js';
import type { NodesLine, Shard } from './parse-replies.js';

/** What the reader gathered: the seed's view plus each node's own view (null when it did not answer). */
export interface TopologyObservation {
  readonly seedView: readonly NodesLine[];
  /** Keyed by node id. */
  readonly ownViews: ReadonlyMap<string, readonly NodesLine[] | null>;
  /** CLUSTER SHARDS of the seed, when the server has it. */
  readonly shards: readonly Shard[] | null;
}

const MAX_DISAGREEMENTS = 100;

/**
 * Turns the raw views into the typed model. The reference owner of a slot is the one most masters
 * agree on (ties go to the seed), because during a failover or a half-finished SETSLOT the seed alone
 * may be the node that is wrong.
 */
export function buildTopology(obs: TopologyObservation): Topology {
  const health = new Map<string, string>();
  for (const shard of obs.shards ?? []) for (const n of shard.nodes) health.set(n.id, n.health);

  const nodes: ClusterNode[] = obs.seedView
    .filter((line) => !line.flags.includes('noaddr') || obs.ownViews.get(line.id))
    .map((seedLine) => {
      const own = obs.ownViews.get(seedLine.id);
      const self = own?.find((l) => l.myself);
      const line = self ?? seedLine;
      const failing =
        seedLine.flags.includes('fail') ||
        seedLine.flags.includes('fail?') ||
        !own ||
        ['fail', 'failed'].includes(health.get(seedLine.id) ?? '');
      return {
        id: seedLine.id,
        host: seedLine.host,
        port: seedLine.port,
        addr: formatAddr(seedLine.host, seedLine.port),
        role: line.role,
        masterId: line.role === 'replica' ? line.masterId : null,
        slots: line.role === 'master' ? line.slots : [],
        migrating: self?.migrating ?? [],
        importing: self?.importing ?? [],
        flags: seedLine.flags,
        failing,
        handshake: seedLine.flags.includes('handshake'),
        connected: seedLine.connected || seedLine.myself,
        configEpoch: line.configEpoch,
        reachable: own !== null && own !== undefined,
      };
    })
    .sort((a, b) => a.id.localeCompare(b.id));

  const views: Array<{ nodeId: string; owners: (string | null)[] }> = [];
  for (const [nodeId, view] of obs.ownViews) {
    const self = view?.find((l) => l.myself);
    if (view && self && self.role === 'master') views.push({ nodeId, owners: ownersOf(view) });
  }
  const seedOwners = ownersOf(obs.seedView);
  const owners = new Array<string | null>(SLOT_COUNT);
  const disagreements: SlotDisagreement[] = [];
  let agreed = true;
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    const counts = new Map<string | null, number>();
    for (const v of views) {
      const o = v.owners[slot] ?? null;
      counts.set(o, (counts.get(o) ?? 0) + 1);
    }
    let best: string | null = seedOwners[slot] ?? null;
    let bestCount = counts.get(best) ?? 0;
    for (const [owner, count] of counts) {
      if (count > bestCount) {
        best = owner;
        bestCount = count;
      }
    }
    owners[slot] = best;
    for (const v of views) {
      const seen = v.owners[slot] ?? null;
      if (seen !== best) {
        agreed = false;
        if (disagreements.length < MAX_DISAGREEMENTS)
          disagreements.push({ nodeId: v.nodeId, slot, expected: best, seen });
      }
    }
  }
  return { nodes, owners, agreed, disagreements };
}

function ownersOf(view: readonly NodesLine[]): (string | null)[] {
  const owners = new Array<string | null>(SLOT_COUNT).fill(null);
  for (const line of view) {
    if (line.role !== 'master') continue;
    for (const r of line.slots) for (let s = r.start; s <= r.end; s++) owners[s] = line.id;
  }
  return owners;
}

export function formatAddr(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
