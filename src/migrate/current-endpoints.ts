import { parseClusterNodes, type NodePool, type NodesLine } from '../cluster/index.js';
import type { Logger } from 'pino';
import { SlotProtocolError } from './errors.js';
import type { SlotEndpoint, SlotMoveSpec } from './migrate-slot.js';

/** A master as the plan saw it, with the ids of its replicas then (absent in plans of older builds). */
export interface PlannedMaster extends SlotEndpoint {
  readonly replicaIds?: readonly string[];
}

/**
 * A move's source and target as the cluster has them now: a node that a failover turned into a
 * replica is replaced by the master it now follows (which holds its data, replicated), a dead one
 * by the replica elected in its place, and a target that died before owning any slot by a replica
 * of it promoted here (promoteForSlotlessTarget). Called when a slot job is retried, so the fast
 * path pays nothing for it.
 */
export async function currentEndpoints(
  pool: NodePool,
  move: SlotMoveSpec,
  planned: readonly PlannedMaster[],
  log?: Logger,
): Promise<SlotMoveSpec> {
  const lines = await clusterNodesFromAny(pool, [move.from, move.to, ...planned]);
  if (!lines) return move;
  const now = endpointsNow(lines, move, planned);
  if (now.to.id !== move.to.id) return now;
  const promoted = await promoteForSlotlessTarget(pool, lines, move, planned, log);
  return promoted ? { ...now, to: promoted } : now;
}

/**
 * The replicas (from the plan) of a target that died before it owned any slot. Redis fails over
 * masters with slots only, so no replica of it is ever elected, and the keys MIGRATE had handed it
 * live on in its replicas alone, while its slot stays MIGRATING on the source; closing that slot
 * there (what `fix` does) would lose them. Empty when the target is alive, owns slots (Redis elects
 * a replica by itself), or a replica of it is master already. Pure, for the unit tests.
 */
export function replicasToPromote(
  lines: readonly NodesLine[],
  move: SlotMoveSpec,
  planned: readonly PlannedMaster[],
): SlotEndpoint[] {
  const target = lines.find((l) => l.id === move.to.id);
  if (!target || !isFailedMaster(target) || target.slots.length > 0) return [];
  if (electedInPlaceOf(lines, target.id, planned)) return [];
  const replicaIds = planned.find((p) => p.id === target.id)?.replicaIds ?? [];
  return lines
    .filter(
      (l) =>
        replicaIds.includes(l.id) &&
        l.role === 'replica' &&
        l.masterId === target.id &&
        !l.flags.includes('fail') &&
        !l.flags.includes('fail?'),
    )
    .map(endpoint);
}

/** One promotion per dead target at a time in this process: a burst of retried slots all find it dead. */
const promotions = new Map<string, Promise<SlotEndpoint | null>>();

/** How long a promoted replica may take to say it is a master. */
const TAKEOVER_WAIT_MS = 5_000;

/**
 * Promotes, with CLUSTER FAILOVER TAKEOVER, the most up-to-date replica of a target that died
 * before owning a slot (see replicasToPromote), so the slot's move goes on to it with the keys
 * already moved. TAKEOVER needs no votes: nothing else claims a master without slots, and the new
 * master owns nothing until the slot is closed on it. Returns the promoted replica, or null.
 */
async function promoteForSlotlessTarget(
  pool: NodePool,
  lines: readonly NodesLine[],
  move: SlotMoveSpec,
  planned: readonly PlannedMaster[],
  log?: Logger,
): Promise<SlotEndpoint | null> {
  const candidates = replicasToPromote(lines, move, planned);
  if (candidates.length === 0) return null;
  let running = promotions.get(move.to.id);
  if (!running) {
    running = promote(pool, move, candidates, log).finally(() => promotions.delete(move.to.id));
    promotions.set(move.to.id, running);
  }
  return running;
}

async function promote(
  pool: NodePool,
  move: SlotMoveSpec,
  candidates: readonly SlotEndpoint[],
  log?: Logger,
): Promise<SlotEndpoint | null> {
  // The replica that received most of the dead target's stream (ROLE says -1 once the link is down).
  const offsets = await Promise.all(
    candidates.map(async (c) => {
      try {
        const info = String(await (await pool.get(c)).call('INFO', 'replication'));
        if (!/role:slave/.test(info)) return null;
        return Number(/slave_repl_offset:(\d+)/.exec(info)?.[1] ?? 0);
      } catch {
        return null;
      }
    }),
  );
  let best = -1;
  for (const [i, o] of offsets.entries()) if (o !== null && (best < 0 || o > offsets[best]!)) best = i;
  const chosen = candidates[best];
  if (!chosen) return null;
  const replica = await pool.get(chosen);
  // What Redis decides by is the replica's own view: if the target owns slots there, the replica
  // runs for election by itself, and a takeover beside it could leave two masters of one dataset.
  const seen = parseClusterNodes(await replica.call('CLUSTER', 'NODES')).find((l) => l.id === move.to.id);
  if (seen && seen.slots.length > 0) return null;
  await replica.call('CLUSTER', 'FAILOVER', 'TAKEOVER');
  const deadline = Date.now() + TAKEOVER_WAIT_MS;
  while (((await replica.call('ROLE')) as unknown[])[0] !== 'master') {
    if (Date.now() > deadline) return null;
    await new Promise((r) => setTimeout(r, 50));
  }
  log?.warn(
    { slot: move.slot, dead: move.to.id, now: chosen.id, offset: offsets[best] },
    'the target died before owning a slot, so Redis elects no replica of it: promoted its replica (CLUSTER FAILOVER TAKEOVER) to receive its slots',
  );
  return chosen;
}

/** CLUSTER NODES from the first of `nodes` that answers; null when none does. */
async function clusterNodesFromAny(
  pool: NodePool,
  nodes: readonly SlotEndpoint[],
): Promise<NodesLine[] | null> {
  for (const node of nodes) {
    try {
      return parseClusterNodes(await (await pool.get(node)).call('CLUSTER', 'NODES'));
    } catch {
      // That node is down (perhaps the one that failed over): ask the next.
    }
  }
  return null;
}

/**
 * Gives every orphaned slot (see orphanedSlots) to the master elected in place of its dead owner:
 * SETSLOT NODE on that master first, so the slot has an owner that serves it before anyone redirects
 * there, then on every other live master; replicas learn it from the new owner's gossip, whose
 * election epoch is above the dead master's. The keys are on the new owner already, by replication
 * (what the dead master had not yet replicated died with it, as in any failover). Returns how many
 * slots were given.
 */
export async function handOverOrphanedSlots(
  pool: NodePool,
  planned: readonly PlannedMaster[],
  log?: Logger,
): Promise<number> {
  const lines = await clusterNodesFromAny(pool, planned);
  if (!lines) return 0;
  let given = 0;
  for (const { dead, heir, slots } of orphanedSlots(lines, planned)) {
    const setNode = async (node: SlotEndpoint): Promise<void> => {
      const pipeline = (await pool.get(node)).pipeline();
      for (const slot of slots) pipeline.call('CLUSTER', 'SETSLOT', String(slot), 'NODE', heir.id);
      const failure = (await pipeline.exec())?.find(([e]) => e)?.[0];
      if (failure) throw failure;
    };
    await setNode(heir);
    const others = lines.filter(
      (l) => l.role === 'master' && !l.flags.includes('fail') && l.id !== heir.id && l.id !== dead,
    );
    await Promise.all(
      others.map((o) =>
        setNode(endpoint(o)).catch((e: unknown) =>
          // Gossip from the new owner tells that node anyway.
          log?.debug({ node: o.id, err: e }, 'could not tell a master the new owner of orphaned slots'),
        ),
      ),
    );
    given += slots.length;
    log?.warn(
      { dead, now: heir.id, slots: slots.length, first: slots[0], last: slots.at(-1) },
      'gave the slots a dead master still owned to the replica elected in its place',
    );
  }
  return given;
}

const SWEEP_INTERVAL_MS = 1_000;

/**
 * handOverOrphanedSlots as workers (on retried jobs), apply (after a plan) and the daemon (each round
 * after a plan) run it: while slots are orphaned the cluster is down and every job in flight fails
 * and retries at once, so one sweep runs at a time, at most once a second, and a failure is logged,
 * not thrown: it only delays the next sweep.
 */
export class OrphanSweeper {
  private running: Promise<void> | null = null;
  private last = -Infinity;

  constructor(
    private readonly pool: NodePool,
    private readonly log?: Logger,
  ) {}

  sweep(planned: readonly PlannedMaster[]): Promise<void> {
    if (this.running) return this.running;
    if (performance.now() - this.last < SWEEP_INTERVAL_MS) return Promise.resolve();
    this.running = handOverOrphanedSlots(this.pool, planned, this.log)
      .then(
        () => undefined,
        (e: unknown) => this.log?.warn({ err: e }, 'could not hand over the slots of a dead master'),
      )
      .finally(() => {
        this.running = null;
        this.last = performance.now();
      });
    return this.running;
  }
}

const endpoint = (l: NodesLine): SlotEndpoint => ({ id: l.id, host: l.host, port: l.port });

const isFailedMaster = (line: NodesLine | undefined): boolean =>
  line?.role === 'master' && line.flags.includes('fail');

/**
 * The master elected in place of `deadId`. A master that died (SIGKILL, a crash, a lost host) is not
 * a replica of anyone: it stays a failed master in its peers' eyes, and the replica elected in its
 * place names no link to it. Its replicas when the plan was made say which master replaced it.
 */
function electedInPlaceOf(
  lines: readonly NodesLine[],
  deadId: string,
  planned: readonly PlannedMaster[],
): SlotEndpoint | null {
  const replicaIds = planned.find((p) => p.id === deadId)?.replicaIds ?? [];
  const elected = lines.find(
    (l) => replicaIds.includes(l.id) && l.role === 'master' && !l.flags.includes('fail'),
  );
  return elected ? endpoint(elected) : null;
}

/** Slots still owned by a dead master of the plan, and the master elected in its place. */
export interface OrphanedSlots {
  readonly dead: string;
  readonly heir: SlotEndpoint;
  readonly slots: readonly number[];
}

/**
 * Slots that a dead master owns in this view although a replica of it has been elected. The
 * replica claims the slots it had heard its master own; a target that took slots in the last
 * moments before it died (SETSLOT NODE reaches its replica by gossip, the keys by replication, which
 * is faster) leaves those slots with a failed owner that Redis never replaces, and with
 * cluster-require-full-coverage the whole cluster answers CLUSTERDOWN (a clean-clone CI run of
 * 2026-11-26: every master down, apply stuck until it was killed). Pure, for the unit tests.
 */
export function orphanedSlots(
  lines: readonly NodesLine[],
  planned: readonly PlannedMaster[],
): OrphanedSlots[] {
  const out: OrphanedSlots[] = [];
  for (const line of lines) {
    if (!isFailedMaster(line) || line.slots.length === 0) continue;
    const heir = electedInPlaceOf(lines, line.id, planned);
    if (!heir) continue;
    const slots: number[] = [];
    for (const r of line.slots) for (let s = r.start; s <= r.end; s++) slots.push(s);
    out.push({ dead: line.id, heir, slots });
  }
  return out;
}

/** `currentEndpoints` on one node's CLUSTER NODES: pure, so every failover shape is unit-tested. */
export function endpointsNow(
  lines: readonly NodesLine[],
  move: SlotMoveSpec,
  planned: readonly PlannedMaster[],
): SlotMoveSpec {
  const byId = new Map(lines.map((l) => [l.id, l]));
  const failed = (e: SlotEndpoint): boolean => isFailedMaster(byId.get(e.id));
  const electedFor = (e: SlotEndpoint): SlotEndpoint | null => electedInPlaceOf(lines, e.id, planned);
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
