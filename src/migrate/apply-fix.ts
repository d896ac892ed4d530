import type { Logger } from 'pino';
import { masters, type ClusterNode, type NodePool, type Topology } from '../cluster/index.js';
import { Migrator } from './migrator.js';
import { planFix, slotsNeedingRepair, type FixAction, type FixRead, type SlotKeyCounts } from './plan-fix.js';

/** Key counts of the slots `fix` looks at, on every reachable master (I/O side of `planFix`). */
export async function readRepairCounts(pool: NodePool, topology: Topology): Promise<SlotKeyCounts> {
  const slots = slotsNeedingRepair(topology);
  const counts = new Map<string, Map<number, number>>();
  await Promise.all(
    masters(topology)
      .filter((m) => m.reachable)
      .map(async (m) => {
        const redis = await pool.get(m);
        const pipe = redis.pipeline();
        for (const s of slots) pipe.call('CLUSTER', 'COUNTKEYSINSLOT', String(s));
        const replies = (await pipe.exec()) ?? [];
        counts.set(m.id, new Map(slots.map((s, i) => [s, Number(replies[i]?.[1] ?? 0)])));
      }),
  );
  return counts;
}

export async function computeFix(pool: NodePool, topology: Topology): Promise<readonly FixAction[]> {
  return (await readFix(pool, topology)).actions;
}

/** The repairs a topology needs, with the key counts they were planned from (see `stableRepairs`). */
export async function readFix(pool: NodePool, topology: Topology): Promise<FixRead> {
  const counts = await readRepairCounts(pool, topology);
  return { actions: planFix(topology, counts), counts };
}

/** A repair that failed, with why; the others were still carried out. */
export interface FailedRepair {
  readonly action: FixAction;
  readonly error: unknown;
}

/**
 * Carries out the actions in order; `finish-move` runs the same idempotent protocol as `apply`. A
 * repair that fails (a key on both sides with different content, a node that does not answer) does
 * not stop the others: each slot is repaired on its own, and the failures are returned to report.
 */
export async function applyFix(
  pool: NodePool,
  topology: Topology,
  actions: readonly FixAction[],
  auth: { user?: string; password?: string },
  log?: Logger,
): Promise<{ failed: FailedRepair[] }> {
  const failed: FailedRepair[] = [];
  const byId = new Map(topology.nodes.map((n) => [n.id, n]));
  const node = (id: string) => {
    const n = byId.get(id);
    if (!n) throw new Error(`fix names node ${id}, which the topology does not have`);
    return n;
  };
  const migrator = new Migrator(pool, masters(topology), auth, undefined, undefined, log);
  for (const a of actions) {
    try {
      await applyOne(a);
      log?.info({ slot: a.slot, action: a.kind, reason: a.reason }, 'fixed slot');
    } catch (error) {
      failed.push({ action: a, error });
    }
  }
  await migrator.flush();
  return { failed };

  async function applyOne(a: FixAction): Promise<void> {
    switch (a.kind) {
      case 'close':
        await (await pool.get(node(a.node))).call('CLUSTER', 'SETSLOT', String(a.slot), 'STABLE');
        break;
      case 'finish-move': {
        const from = node(a.from);
        const to = node(a.to);
        await migrator.migrate({ slot: a.slot, from, to });
        break;
      }
      case 'assign':
        await claim(a.slot, node(a.owner));
        break;
      case 'settle-dispute': {
        const owner = node(a.owner);
        // Keys first, the claim after, and a failure stops here: a claimant that hears the owner's
        // claim with a higher epoch while it still holds keys of the slot deletes them (Redis counts
        // them as a dirty slot), so the owner's epoch is bumped only once every other claimant has
        // handed over its keys and its claim.
        for (const id of a.others) {
          const from = node(id);
          // MIGRATING on the claimant first: a key it has handed over is then answered with ASK to
          // the owner rather than as missing, and a new key goes to the owner.
          await (await pool.get(from)).call('CLUSTER', 'SETSLOT', String(a.slot), 'MIGRATING', owner.id);
          // The owner already serves the slot, so the move closes at once and the claimant's keys go
          // over in the close's loop for keys still on the source (see migrateSlot's finalize).
          await migrator.migrate({ slot: a.slot, from, to: owner });
        }
        await claim(a.slot, owner);
        break;
      }
      case 'announce':
        await (await pool.get(node(a.node))).call('CLUSTER', 'SETSLOT', String(a.slot), 'NODE', a.owner);
        break;
      case 'unfixable':
        break;
    }
  }

  /** Makes `owner` the slot's owner on every reachable master, with an epoch that wins over gossip. */
  async function claim(slot: number, owner: ClusterNode): Promise<void> {
    // SETSLOT NODE rather than ADDSLOTS: it also takes a slot a dead master still owns in this
    // node's view, which ADDSLOTS refuses as busy.
    await (await pool.get(owner)).call('CLUSTER', 'SETSLOT', String(slot), 'NODE', owner.id);
    // The new owner's claim needs an epoch no other node has, or gossip may not accept it.
    await (await pool.get(owner)).call('CLUSTER', 'BUMPEPOCH');
    for (const m of masters(topology)) {
      if (m.id === owner.id || !m.reachable) continue;
      await (await pool.get(m)).call('CLUSTER', 'SETSLOT', String(slot), 'NODE', owner.id);
    }
  }
}
