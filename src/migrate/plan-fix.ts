import { deadMastersNotReplaced, masters, type Topology } from '../cluster/index.js';
import { plural } from '../text/index.js';

/** What `fix` does for one slot. Computed purely from the topology and key counts, then executed. */
export type FixAction =
  | { kind: 'finish-move'; slot: number; from: string; to: string; reason: string }
  | { kind: 'close'; slot: number; node: string; reason: string }
  | { kind: 'assign'; slot: number; owner: string; reason: string }
  | { kind: 'announce'; slot: number; owner: string; node: string; reason: string }
  | {
      kind: 'settle-dispute';
      slot: number;
      /** The claimant that keeps the slot; the others hand it their keys and their claim. */
      owner: string;
      others: string[];
      rule: DisputeRule;
      /** What the choice rests on. Not compared between fix's two reads: clients keep writing. */
      claims: SlotClaim[];
      reason: string;
    }
  | { kind: 'unfixable'; slot: number; reason: string };

/** One master's claim on a slot that several claim: its own view says it serves the slot. */
export interface SlotClaim {
  readonly node: string;
  /** Keys it holds in the slot (CLUSTER COUNTKEYSINSLOT). */
  readonly keys: number;
  readonly configEpoch: number;
}

/** What decided a dispute: see `chooseDisputedOwner`. */
export type DisputeRule = 'most-keys' | 'config-epoch' | 'node-id';

/**
 * Which of the masters that each claim a slot keeps it. The keys decide: the claimant holding the
 * most keys of the slot keeps it and the others' keys move to it, as redis-cli --cluster fix does
 * (clusterManagerFixMultipleSlotOwners keeps clusterManagerGetNodeWithMostKeysInSlot). A majority of
 * the other nodes' views says only whose claim they heard last; following it could give the slot
 * to a claimant holding none of its keys. Ties, in order: the higher config epoch, the claim Redis's
 * own gossip lets win (a node takes a slot's owner from the claim with the greater epoch); then the
 * smaller node id, the node Redis's epoch-collision rule leaves with the higher epoch (of two masters
 * with the same epoch, the one with the smaller id bumps its epoch). Deterministic for any order of
 * `claims`; `claims` must not be empty.
 */
export function chooseDisputedOwner(claims: readonly SlotClaim[]): { owner: string; rule: DisputeRule } {
  const ranked = [...claims].sort(
    (a, b) =>
      b.keys - a.keys || b.configEpoch - a.configEpoch || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0),
  );
  const [first, second] = ranked;
  if (!first) throw new RangeError('chooseDisputedOwner needs at least one claim');
  const rule: DisputeRule =
    !second || first.keys > second.keys
      ? 'most-keys'
      : first.configEpoch > second.configEpoch
        ? 'config-epoch'
        : 'node-id';
  return { owner: first.node, rule };
}

const DISPUTE_REASON: Record<DisputeRule, string> = {
  'most-keys': 'it holds the most keys of the slot',
  'config-epoch':
    'no claimant holds more keys; it has the highest config epoch, the claim Redis itself lets win',
  'node-id':
    'same keys and config epoch; it has the smallest node id, the one Redis settles an epoch collision for',
};

/**
 * Slots that more than one reachable master claims in its own view (a dispute), with the claimants
 * sorted. Read from the masters' own slot lists, not from `disagreements`, which is only a sample.
 */
export function disputedSlots(topology: Topology): Map<number, string[]> {
  const claimants = new Map<number, string[]>();
  for (const m of masters(topology)) {
    if (!m.reachable) continue;
    for (const r of m.slots)
      for (let s = r.start; s <= r.end; s++) claimants.set(s, [...(claimants.get(s) ?? []), m.id]);
  }
  return new Map([...claimants].filter(([, ids]) => ids.length > 1).map(([s, ids]) => [s, [...ids].sort()]));
}

/** Keys each master holds in the slots `fix` looks at: `counts.get(nodeId)?.get(slot)`. */
export type SlotKeyCounts = ReadonlyMap<string, ReadonlyMap<number, number>>;

/** Slots `fix` needs key counts for: every open, uncovered or disputed slot, and those of dead masters. */
export function slotsNeedingRepair(topology: Topology): number[] {
  const slots = new Set<number>();
  const dead = deadMastersNotReplaced(topology);
  topology.owners.forEach((o, s) => {
    if (o !== null && dead.has(o)) slots.add(s);
  });
  for (const n of topology.nodes) {
    for (const m of n.migrating) slots.add(m.slot);
    for (const i of n.importing) slots.add(i.slot);
  }
  topology.owners.forEach((o, s) => {
    if (o === null) slots.add(s);
  });
  for (const d of topology.disagreements) slots.add(d.slot);
  for (const s of disputedSlots(topology).keys()) slots.add(s);
  return [...slots].sort((a, b) => a - b);
}

/**
 * Decides how to close every open slot, cover every uncovered slot and settle disputed owners.
 * The rule is to move forward, never back: a half-done move whose keys already reached the target is
 * finished towards the target (MIGRATE cannot be undone key by key without risking loss); a slot
 * opened on one side only, with no keys on the other side, is simply closed.
 */
export function planFix(topology: Topology, counts: SlotKeyCounts): FixAction[] {
  const actions: FixAction[] = [];
  const keysOn = (node: string, slot: number): number => counts.get(node)?.get(slot) ?? 0;
  const masterIds = new Set(masters(topology).map((m) => m.id));
  const dead = deadMastersNotReplaced(topology);
  const disputes = disputedSlots(topology);
  const epochOf = new Map(topology.nodes.map((n) => [n.id, n.configEpoch]));
  for (const slot of slotsNeedingRepair(topology)) {
    const owner = topology.owners[slot] ?? null;
    const migrating = topology.nodes.flatMap((n) =>
      n.migrating.filter((m) => m.slot === slot).map((m) => ({ node: n.id, peer: m.to })),
    );
    const importing = topology.nodes.flatMap((n) =>
      n.importing.filter((i) => i.slot === slot).map((i) => ({ node: n.id, peer: i.from })),
    );

    if (owner !== null && dead.has(owner) && migrating.length === 0 && importing.length === 0) {
      // Only with the keys as evidence: the live master holding them got them by replication from
      // the dead one (the replica elected in its place). With none, nothing says who should own it.
      const holders = [...masterIds].filter((id) => !dead.has(id) && keysOn(id, slot) > 0);
      if (holders.length === 1) {
        actions.push({
          kind: 'assign',
          slot,
          owner: holders[0]!,
          reason: `owned by ${owner.slice(0, 8)}, a failed master no replica replaces; the only live master holding its keys takes it`,
        });
      } else {
        actions.push({
          kind: 'unfixable',
          slot,
          reason: `owned by ${owner.slice(0, 8)}, a failed master no replica replaces, and ${holders.length ? `keys on ${plural(holders.length, 'master')}` : 'no live master holds its keys'}: give each to the master that should serve it with CLUSTER SETSLOT <slot> NODE <id> on that master, then on the others`,
        });
      }
      continue;
    }

    // Masters that each serve the slot in their own view: the keys decide who keeps it. Only when
    // the slot is open on claimants alone (a claimant migrating is handled by the settling); another
    // node importing it is left to the open-slot rules below.
    const claimants = disputes.get(slot);
    if (claimants && importing.length === 0 && migrating.every((m) => claimants.includes(m.node))) {
      const claims = claimants.map((node) => ({
        node,
        keys: keysOn(node, slot),
        configEpoch: epochOf.get(node) ?? 0,
      }));
      const { owner: keeper, rule } = chooseDisputedOwner(claims);
      actions.push({
        kind: 'settle-dispute',
        slot,
        owner: keeper,
        others: claimants.filter((c) => c !== keeper),
        rule,
        claims,
        reason: DISPUTE_REASON[rule],
      });
      continue;
    }

    if (owner === null) {
      const holders = [...masterIds].filter((id) => keysOn(id, slot) > 0);
      if (holders.length > 1) {
        actions.push({
          kind: 'unfixable',
          slot,
          reason: `no owner and keys on ${plural(holders.length, 'master')}; move them to one master by hand`,
        });
        continue;
      }
      const chosen = holders[0] ?? fewestSlots(topology);
      if (chosen)
        actions.push({
          kind: 'assign',
          slot,
          owner: chosen,
          reason: holders.length
            ? 'uncovered; the only master holding its keys takes it'
            : 'uncovered and empty; the master with the fewest slots takes it',
        });
      continue;
    }

    const handled = new Set<string>();
    for (const m of migrating) {
      const pair = importing.find((i) => i.node === m.peer && i.peer === m.node);
      if (m.node !== owner) {
        actions.push({
          kind: 'close',
          slot,
          node: m.node,
          reason: 'migrating on a node that does not own the slot',
        });
        handled.add(m.node);
        continue;
      }
      if (pair || keysOn(m.peer, slot) > 0) {
        actions.push({
          kind: 'finish-move',
          slot,
          from: m.node,
          to: m.peer,
          reason: pair
            ? 'open migrating/importing pair: finish the move'
            : 'migrating, and the target already holds keys: finish the move',
        });
        handled.add(m.node).add(m.peer);
      } else {
        actions.push({
          kind: 'close',
          slot,
          node: m.node,
          reason: 'migrating only, nothing moved yet: close it',
        });
        handled.add(m.node);
      }
    }
    for (const i of importing) {
      if (handled.has(i.node)) continue;
      if (i.node === owner) {
        actions.push({
          kind: 'close',
          slot,
          node: i.node,
          reason: 'importing on the owner itself: close it',
        });
      } else if (keysOn(i.node, slot) > 0) {
        actions.push({
          kind: 'finish-move',
          slot,
          from: owner,
          to: i.node,
          reason: 'importing only, but keys already arrived: finish the move',
        });
      } else {
        actions.push({
          kind: 'close',
          slot,
          node: i.node,
          reason: 'importing only, nothing arrived: close it',
        });
      }
      handled.add(i.node);
    }
    for (const d of topology.disagreements.filter((x) => x.slot === slot)) {
      if (handled.has(d.nodeId) || !masterIds.has(d.nodeId)) continue;
      if (keysOn(d.nodeId, slot) > 0 && d.nodeId !== owner) {
        actions.push({
          kind: 'finish-move',
          slot,
          from: d.nodeId,
          to: owner,
          reason: 'a master that disagrees on the owner still holds keys: move them to the owner',
        });
      } else {
        actions.push({
          kind: 'announce',
          slot,
          owner,
          node: d.nodeId,
          reason: `node sees ${d.seen ?? 'no owner'}; tell it the owner`,
        });
      }
      handled.add(d.nodeId);
    }
  }
  return actions;
}

function fewestSlots(topology: Topology): string | null {
  const ms = masters(topology).filter((m) => !m.failing);
  const count = new Map(ms.map((m) => [m.id, 0]));
  for (const o of topology.owners) if (o !== null && count.has(o)) count.set(o, count.get(o)! + 1);
  return [...count].sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? null;
}

/** A dispute's key counts and epochs change under writes without the repair changing: not compared. */
function withoutClaims(a: FixAction): FixAction {
  if (a.kind !== 'settle-dispute') return a;
  const { claims: _claims, ...rest } = a;
  return { ...rest, claims: [] };
}

/** One look at the cluster by `fix`: the repairs planned from it and the key counts they rest on. */
export interface FixRead {
  readonly actions: readonly FixAction[];
  readonly counts: SlotKeyCounts;
}

/**
 * The repairs `fix` may carry out: those of slots whose problem is the same in two reads some time
 * apart (the same repairs, with keys on the same masters). A move under way (apply, a worker, the daemon,
 * redis-cli) opens a slot, moves its keys and closes it, and the masters learn the new owner by
 * gossip a moment later; a repair planned from such a moment undoes the move or races it. Slots seen
 * in the second read only, or planned differently in the two, are `changing` and left alone. A slot
 * only the first read needed no longer needs anything. Which masters hold keys is compared, not how
 * many: clients writing to a slot a crash left open (new keys go to the importing side) change the
 * counts without anything moving, and such a slot must still be repaired.
 */
export function stableRepairs(first: FixRead, second: FixRead): { actions: FixAction[]; changing: number[] } {
  const bySlot = (read: FixRead): Map<number, string> => {
    const groups = new Map<number, FixAction[]>();
    for (const a of read.actions) groups.set(a.slot, [...(groups.get(a.slot) ?? []), withoutClaims(a)]);
    const nodes = [...read.counts.keys()].sort();
    return new Map(
      [...groups].map(([slot, actions]) => [
        slot,
        JSON.stringify({ actions, holders: nodes.filter((n) => (read.counts.get(n)?.get(slot) ?? 0) > 0) }),
      ]),
    );
  };
  const before = bySlot(first);
  const after = bySlot(second);
  const changing = [...after].filter(([slot, seen]) => before.get(slot) !== seen).map(([slot]) => slot);
  const skip = new Set(changing);
  return { actions: second.actions.filter((a) => !skip.has(a.slot)), changing };
}
