/** Number of hash slots in every Redis Cluster. */
export const SLOT_COUNT = 16384;

/** Inclusive range of hash slots, `start <= end`. */
export interface SlotRange {
  readonly start: number;
  readonly end: number;
}

export type NodeRole = 'master' | 'replica';

/** A slot this node is handing over (`to`) or receiving (`from`): an open slot. */
export interface MigratingSlot {
  readonly slot: number;
  readonly to: string;
}
export interface ImportingSlot {
  readonly slot: number;
  readonly from: string;
}

export interface ClusterNode {
  /** 40-hex node id. */
  readonly id: string;
  readonly host: string;
  readonly port: number;
  /** `host:port` as the cluster announces it. */
  readonly addr: string;
  readonly role: NodeRole;
  /** Id of the master a replica follows; null for masters. */
  readonly masterId: string | null;
  /** Slots this node serves, as seen by the node itself; always empty for replicas. Sorted, merged. */
  readonly slots: readonly SlotRange[];
  /** Open slots, as reported by the node itself (only a node knows its own open slots). */
  readonly migrating: readonly MigratingSlot[];
  readonly importing: readonly ImportingSlot[];
  /** Raw CLUSTER NODES flags, e.g. `master`, `fail?`, `handshake`. `myself` is removed. */
  readonly flags: readonly string[];
  /** `fail` or `fail?` seen by the seed, or the node did not answer. */
  readonly failing: boolean;
  readonly handshake: boolean;
  readonly connected: boolean;
  readonly configEpoch: number;
  /** Whether slotshift could talk to the node itself while reading the topology. */
  readonly reachable: boolean;
}

/** One node's view of one slot's owner differs from the reference view. */
export interface SlotDisagreement {
  /** The node whose view differs. */
  readonly nodeId: string;
  readonly slot: number;
  /** Owner according to the reference (the majority of reachable masters). */
  readonly expected: string | null;
  /** Owner according to `nodeId`. */
  readonly seen: string | null;
}

/**
 * The cluster as slotshift sees it: plain data, no connections, so the planner and tests can build
 * one by hand. Nodes are sorted by id so two reads of the same cluster compare equal.
 */
export interface Topology {
  readonly nodes: readonly ClusterNode[];
  /** `owners[slot]` is the id of the master serving `slot` in the reference view, or null. Length SLOT_COUNT. */
  readonly owners: readonly (string | null)[];
  /** True when every reachable node reports the same owner for every slot. */
  readonly agreed: boolean;
  /** At most a bounded sample of disagreements (a split view can differ on all 16384 slots). */
  readonly disagreements: readonly SlotDisagreement[];
}

export function masters(topology: Topology): ClusterNode[] {
  return topology.nodes.filter((n) => n.role === 'master');
}

export function replicasOf(topology: Topology, masterId: string): ClusterNode[] {
  return topology.nodes.filter((n) => n.role === 'replica' && n.masterId === masterId);
}

export function slotCount(ranges: readonly SlotRange[]): number {
  let total = 0;
  for (const r of ranges) total += r.end - r.start + 1;
  return total;
}

/** Open slots of the whole cluster, one entry per node that has the slot open. */
export interface OpenSlot {
  readonly slot: number;
  readonly nodeId: string;
  readonly state: 'migrating' | 'importing';
  /** The other side named by the node: target for migrating, source for importing. */
  readonly peerId: string;
}

export function openSlots(topology: Topology): OpenSlot[] {
  const out: OpenSlot[] = [];
  for (const n of topology.nodes) {
    for (const m of n.migrating) out.push({ slot: m.slot, nodeId: n.id, state: 'migrating', peerId: m.to });
    for (const i of n.importing) out.push({ slot: i.slot, nodeId: n.id, state: 'importing', peerId: i.from });
  }
  return out.sort((a, b) => a.slot - b.slot || a.nodeId.localeCompare(b.nodeId));
}

/** How many slots the entries name: a half-moved slot is two (MIGRATING on its source, IMPORTING on its target). */
export function countOpenSlots(open: readonly Pick<OpenSlot, 'slot'>[]): number {
  return new Set(open.map((o) => o.slot)).size;
}

/**
 * Slots (among `slots`, default all) that moved, or began or finished moving, between two reads of
 * the cluster: their owner, the masters that claim them in their own view, or their open state
 * differ. Own views count because `owners` is a majority vote, which can lag behind a move that
 * finished while gossip spreads it.
 */
export function slotsChangedBetween(before: Topology, after: Topology, slots?: Iterable<number>): number[] {
  const stateOf = (t: Topology): string[] => {
    const state = Array.from({ length: SLOT_COUNT }, (_, s) => `owner ${t.owners[s] ?? '-'}`);
    for (const m of masters(t)) {
      for (const r of m.slots) for (let s = r.start; s <= r.end; s++) state[s] += ` claimed ${m.id}`;
    }
    for (const o of openSlots(t)) state[o.slot] += ` ${o.nodeId} ${o.state} ${o.peerId}`;
    return state;
  };
  const was = stateOf(before);
  const is = stateOf(after);
  const candidates =
    slots === undefined ? Array.from({ length: SLOT_COUNT }, (_, s) => s) : [...new Set(slots)];
  return candidates.filter((s) => was[s] !== is[s]).sort((a, b) => a - b);
}

/** Compacts sorted or unsorted slot numbers into ranges: [0,1,2,5] → [{0,2},{5,5}]. */
export function toRanges(slots: Iterable<number>): SlotRange[] {
  const sorted = [...new Set(slots)].sort((a, b) => a - b);
  const out: SlotRange[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && last.end + 1 === s) out[out.length - 1] = { start: last.start, end: s };
    else out.push({ start: s, end: s });
  }
  return out;
}

/** `0-99,204` — the form used in CLI output and plan files. */
export function formatRanges(ranges: readonly SlotRange[]): string {
  return ranges.map((r) => (r.start === r.end ? `${r.start}` : `${r.start}-${r.end}`)).join(',');
}

/** Derives `owners` from the masters' own slot lists (used when building topologies by hand). */
export function ownersFromNodes(nodes: readonly ClusterNode[]): (string | null)[] {
  const owners = new Array<string | null>(SLOT_COUNT).fill(null);
  for (const n of nodes) {
    if (n.role !== 'master') continue;
    for (const r of n.slots) for (let s = r.start; s <= r.end; s++) owners[s] = n.id;
  }
  return owners;
}

/**
 * Masters marked failed (`fail`, agreed by the cluster) that no live replica follows any more: no
 * election will replace them, so Redis leaves the slots they still own to nobody. A replica elected
 * in place of a target that died just after taking slots claims only the slots it had heard of.
 */
export function deadMastersNotReplaced(topology: Topology): Set<string> {
  const dead = new Set<string>();
  for (const m of masters(topology)) {
    if (!m.flags.includes('fail')) continue;
    const followed = topology.nodes.some((n) => n.role === 'replica' && n.masterId === m.id && !n.failing);
    if (!followed) dead.add(m.id);
  }
  return dead;
}
