import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { keySlot, infoNumber, parseClusterNodes, type NodeAddress, type NodePool } from '../cluster/index.js';
import type { Digest } from '../checksum/index.js';
import { BatchSizer } from './batch-sizer.js';
import type { CloseTurns } from './close-turns.js';
import { awaitSourceFailoverPause, execFencedAgainstFailover, type FailoverGuard } from './failover-guard.js';
import { digestAndMigrate, loadDigestScript, reportMovedDespiteError } from './digest-and-migrate.js';
import { reached } from './fault-injection.js';
import { keysToMove, type BigKey } from './keys-to-move.js';
import { BusyKeyConflictError, SlotOwnedElsewhereError, SlotProtocolError } from './errors.js';
import {
  classifyRedisError,
  errorMessage,
  isRetryableAfterRereading,
  isTransient,
  type Reply,
} from './redis-reply-error.js';

export interface SlotEndpoint extends NodeAddress {
  readonly id: string;
}

export interface SlotMoveSpec {
  readonly slot: number;
  readonly from: SlotEndpoint;
  readonly to: SlotEndpoint;
}

export interface SlotMoveResult {
  readonly slot: number;
  /** `already-moved`: a re-run found the target owning the slot and only closed what was left open. */
  readonly outcome: 'moved' | 'already-moved';
  readonly keys: number;
  readonly batches: number;
  readonly durationMs: number;
  /**
   * Keys moved alone: over the big-key threshold by MEMORY USAGE before the move, or found big after
   * a batch holding them timed out.
   */
  readonly bigKeys: readonly BigKey[];
}

/** Compares keys' content on source and target; supplied by the checksum module. */
export type KeyComparer = (
  source: Redis,
  target: Redis,
  keys: readonly string[],
) => Promise<{ equal: string[]; different: string[] }>;

export interface MigrateSlotContext {
  readonly pool: NodePool;
  /** Credentials the source uses to log in to the target inside MIGRATE. */
  readonly auth: { readonly user?: string; readonly password?: string };
  /** Tells the other masters who owns a slot now; batched across slots. */
  readonly announce: (slot: number, targetId: string, exclude: readonly string[]) => Promise<void>;
  /** One sizer per source node: MIGRATE blocks the source, so its batches share one time budget. */
  readonly sizerFor: (sourceId: string) => BatchSizer;
  readonly compareKeys?: KeyComparer;
  /** Server-side I/O timeout of one MIGRATE, before scaling for big keys. @defaultValue 10000 */
  readonly migrateTimeoutMs: number;
  /** Keys of at least this many bytes (MEMORY USAGE) move alone and are reported. @defaultValue 1000000 */
  readonly bigKeyBytes: number;
  /** Most bytes (MEMORY USAGE) of ordinary keys one MIGRATE carries. @defaultValue 4 MiB */
  readonly maxBatchBytes: number;
  /**
   * Called after every MIGRATE with the keys it carried and, when `digests` is on, the content
   * digest of each taken atomically with the move (null when they could not be taken). A promise it
   * returns settles before the slot is closed (SETSLOT NODE on the target), so what it records (the
   * worker keeps the digests on the queue) is there for the attempt that resumes a slot whose
   * process was killed after the close. It must not reject.
   * Also called when MIGRATE failed, with the keys it moved all the same (see reportMovedDespiteError).
   */
  readonly onMoved?: (
    slot: number,
    keys: readonly string[],
    digests: ReadonlyMap<string, Digest> | null,
  ) => void | Promise<unknown>;
  /** Digest every key in the same atomic step as its MIGRATE (verified moves). */
  readonly digests?: boolean;
  /** Checked before SETSLOT NODE on the target: refuses a target whose replica was just promoted. */
  readonly failoverGuard?: FailoverGuard;
  /** Closes on targets take turns, so that no two targets bump to the same config epoch. */
  readonly closeTurns?: CloseTurns;
  readonly log?: Logger;
}

const MAX_TRANSIENT_RETRIES = 5;
/** Keys taken per round when the source still holds keys at its close. */
const LEFT_KEYS_BATCH = 1000;

/**
 * Move one slot. Safe to re-run from any point: the first two steps tell where the slot is.
 * 1. target: CLUSTER SETSLOT <slot> IMPORTING <source-id>
 *    "already the owner" → an earlier run finished on the target: go to 4 for the rest.
 * 2. source: CLUSTER SETSLOT <slot> MIGRATING <target-id>
 *    "not the owner" → either an earlier run finished on the source (go to 4) or a third node owns
 *    the slot: the plan is stale, the target's IMPORTING is undone and the move fails for good.
 * 3. source: CLUSTER GETKEYSINSLOT / MIGRATE ... KEYS ... until the slot is empty. Clients keep
 *    working: existing keys are served by the source until moved, then ASK-redirected.
 * 4. target, then source, then every other master: CLUSTER SETSLOT <slot> NODE <target-id>.
 *    Target first, so the slot is never without an owner that accepts writes: if the source were
 *    first, it would redirect clients to a target still in IMPORTING, which answers only ASKING
 *    requests (redis-cli's clusterManagerMoveSlot uses the same order for the same reason).
 */
export async function migrateSlot(outer: MigrateSlotContext, move: SlotMoveSpec): Promise<SlotMoveResult> {
  const kept: Array<Promise<unknown>> = [];
  const record = outer.onMoved;
  const ctx: MigrateSlotContext = record
    ? {
        ...outer,
        onMoved: (s, keys, digests) => {
          const keeping = record(s, keys, digests);
          if (keeping) kept.push(keeping);
        },
      }
    : outer;
  const started = performance.now();
  const { slot, from, to } = move;
  const log = ctx.log?.child({ slot, source: from.id, target: to.id });
  const [source, target] = await Promise.all([ctx.pool.get(from), ctx.pool.get(to)]);

  const importing = await setSlot(target, slot, ['IMPORTING', from.id], 'SETSLOT IMPORTING', to);
  if (importing === 'already-owner') {
    await finalize(ctx, source, target, move);
    log?.info('slot already moved; closed what was left open');
    return alreadyMoved(slot, started);
  }
  reached('after-importing');
  const migrating = await setSlot(source, slot, ['MIGRATING', to.id], 'SETSLOT MIGRATING', from);
  if (migrating === 'not-owner') {
    const owner = await ownerSeenBy(source, slot);
    if (owner?.id === to.id) {
      await finalize(ctx, source, target, move);
      return alreadyMoved(slot, started);
    }
    if (owner && (await ctx.failoverGuard?.isNewMasterOf(to, owner))) {
      // The slot reached the target, whose replica then took over: it is where the plan wanted it.
      const now = { ...move, to: owner };
      await finalize(ctx, source, await ctx.pool.get(owner), now);
      return alreadyMoved(slot, started);
    }
    // Leave nothing open behind a refused move.
    await target.call('CLUSTER', 'SETSLOT', String(slot), 'STABLE');
    throw new SlotOwnedElsewhereError(slot, from.id, owner?.id ?? null);
  }

  reached('after-migrating');
  if (ctx.digests) await loadDigestScript(source);
  let keys = 0;
  let batches = 0;
  const bigKeys: BigKey[] = [];
  const sizer = ctx.sizerFor(from.id);
  for (;;) {
    const next = await keysToMove(source, slot, sizer.size, ctx.bigKeyBytes, ctx.maxBatchBytes);
    if (next.keys.length === 0 && next.big.length === 0) break;
    if (next.keys.length > 0) {
      keys += await migrateBatch(ctx, source, target, move, next.keys, sizer, bigKeys);
      batches++;
    }
    for (const big of next.big) {
      await migrateAlone(ctx, source, target, move, big.key, bigKeys, big.bytes);
      keys++;
      batches++;
    }
    reached('mid-batches');
  }
  await awaitSourceFailoverPause(source, move);
  await finalize(ctx, source, target, move, kept);
  const durationMs = performance.now() - started;
  log?.debug({ keys, batches, durationMs: Math.round(durationMs) }, 'slot moved');
  return { slot, outcome: 'moved', keys, batches, durationMs, bigKeys };
}

async function migrateBatch(
  ctx: MigrateSlotContext,
  source: Redis,
  target: Redis,
  move: SlotMoveSpec,
  batch: string[],
  sizer: BatchSizer,
  bigKeys: BigKey[],
): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const t0 = performance.now();
    try {
      await migrate(ctx, source, move.to, batch, await migrateTimeoutFor(ctx, source), false);
      sizer.record(batch.length, performance.now() - t0);
      return batch.length;
    } catch (e) {
      const kind = classifyRedisError(e);
      if (kind === 'BUSYKEY') return migrateBusy(ctx, source, target, move, batch);
      if (kind === 'IOERR') {
        // A timed-out batch may hold a big value: move each key alone with a timeout scaled to its
        // size, and growing with each retry.
        if (batch.length > 1) sizer.shrink();
        for (const key of batch) await migrateAlone(ctx, source, target, move, key, bigKeys);
        return batch.length;
      }
      if (isTransient(kind) && attempt < MAX_TRANSIENT_RETRIES) {
        if (kind === 'CLUSTERDOWN') await adoptUnownedImports(target, ctx.log, move.from.id);
        await backoff(attempt);
        continue;
      }
      throw new SlotProtocolError(
        move.slot,
        'MIGRATE',
        move.from.id,
        errorMessage(e),
        isRetryableAfterRereading(kind, errorMessage(e)),
      );
    }
  }
}

async function migrateAlone(
  ctx: MigrateSlotContext,
  source: Redis,
  target: Redis,
  move: SlotMoveSpec,
  key: string,
  bigKeys: BigKey[],
  knownBytes?: number,
): Promise<void> {
  // Sampled like the keys-to-move script: SAMPLES 0 walks every element of a collection, which
  // blocks the source for as long as a 1M-field hash takes to walk.
  const bytes = knownBytes ?? Number((await source.call('MEMORY', 'USAGE', key)) ?? 0);
  // 10 MB/s is a floor for loopback and LAN links; the timeout only bounds a stuck transfer.
  const timeoutMs = (await migrateTimeoutFor(ctx, source)) + Math.ceil(bytes / 10_000);
  // A timeout that was too short for a slow target doubles with each retry, up to what the source
  // may block for (half its node timeout, see migrateTimeoutFor) unless the key's size needs more.
  const ceilingMs = Math.max(timeoutMs, await migrateTimeoutFor({ migrateTimeoutMs: 8 * timeoutMs }, source));
  if (bytes >= ctx.bigKeyBytes) {
    bigKeys.push({ key, bytes });
    ctx.log?.info({ slot: move.slot, key, bytes }, 'big key moves alone');
  }
  for (let attempt = 0; ; attempt++) {
    try {
      await migrate(ctx, source, move.to, [key], Math.min(ceilingMs, timeoutMs * 2 ** attempt), false);
      return;
    } catch (e) {
      const kind = classifyRedisError(e);
      if (kind === 'BUSYKEY') {
        await migrateBusy(ctx, source, target, move, [key]);
        return;
      }
      if (isTransient(kind) && attempt < MAX_TRANSIENT_RETRIES) {
        await backoff(attempt);
        continue;
      }
      throw new SlotProtocolError(
        move.slot,
        `MIGRATE of key ${JSON.stringify(key)}`,
        move.from.id,
        errorMessage(e),
        isTransient(kind),
      );
    }
  }
}

/**
 * BUSYKEY: a key of the batch already exists on the target, typically because an earlier MIGRATE
 * timed out after the target restored it but before the source deleted it. A blind REPLACE could
 * overwrite newer data, so the copies are compared by content digest: equal ones are replaced (the
 * source's copy is then deleted by MIGRATE), different ones stop the slot with the keys named.
 */
async function migrateBusy(
  ctx: MigrateSlotContext,
  source: Redis,
  target: Redis,
  move: SlotMoveSpec,
  batch: readonly string[],
): Promise<number> {
  if (!ctx.compareKeys) throw new BusyKeyConflictError(move.slot, batch, move.from, move.to);
  const { equal, different } = await ctx.compareKeys(source, target, batch);
  if (different.length) throw new BusyKeyConflictError(move.slot, different, move.from, move.to);
  if (equal.length) await migrate(ctx, source, move.to, equal, await migrateTimeoutFor(ctx, source), true);
  return equal.length;
}

async function migrate(
  ctx: MigrateSlotContext,
  source: Redis,
  to: SlotEndpoint,
  keys: readonly string[],
  timeoutMs: number,
  replace: boolean,
  slot: number = keySlot(keys[0]!),
): Promise<void> {
  const args = migrateArgs(ctx, to, keys, timeoutMs, replace);
  // "NOKEY" (every key expired or was deleted meanwhile) is a success: nothing was left to move.
  // `void`: ctx is migrateSlot's, whose onMoved collects what the caller's returns for the close.
  if (ctx.digests) {
    const { digests, error } = await digestAndMigrate(source, args, keys);
    if (!error) {
      void ctx.onMoved?.(slot, keys, digests);
    } else if (ctx.onMoved) {
      await reportMovedDespiteError(source, slot, keys, digests, ctx.onMoved);
    }
    if (error) throw error;
  } else {
    await source.call('MIGRATE', ...args);
    void ctx.onMoved?.(slot, keys, null);
  }
}

const nodeTimeouts = new WeakMap<Redis, Promise<number | null>>();

/**
 * The I/O timeout of a plain MIGRATE from `source`: `--migrate-timeout`, but never more than half the
 * source's cluster-node-timeout. MIGRATE blocks the source until the target answers, and a target
 * paused by a manual failover answers late: a source blocked past its node timeout is failed over by
 * its own replicas (seen in the failover test with a 3 s node timeout and a 10 s MIGRATE timeout).
 * A timed-out batch is retried, so a shorter timeout costs a retry, never data.
 */
export async function migrateTimeoutFor(
  ctx: Pick<MigrateSlotContext, 'migrateTimeoutMs'>,
  source: Redis,
): Promise<number> {
  let known = nodeTimeouts.get(source);
  if (!known) {
    known = (source.call('CONFIG', 'GET', 'cluster-node-timeout') as Promise<string[]>).then(
      ([, value]) => (value === undefined ? null : Number(value)),
      () => null,
    );
    nodeTimeouts.set(source, known);
  }
  const nodeTimeout = await known;
  if (nodeTimeout === null || !Number.isFinite(nodeTimeout) || nodeTimeout <= 0) return ctx.migrateTimeoutMs;
  return Math.max(100, Math.min(ctx.migrateTimeoutMs, Math.floor(nodeTimeout / 2)));
}

/** Arguments of `MIGRATE` after the command name, for `keys` (all of one slot) to `to`. */
export function migrateArgs(
  ctx: Pick<MigrateSlotContext, 'auth'>,
  to: SlotEndpoint,
  keys: readonly string[],
  timeoutMs: number,
  replace: boolean,
): string[] {
  const args: string[] = [to.host, String(to.port), '', '0', String(timeoutMs)];
  if (replace) args.push('REPLACE');
  if (ctx.auth.password !== undefined) {
    if (ctx.auth.user) args.push('AUTH2', ctx.auth.user, ctx.auth.password);
    else args.push('AUTH', ctx.auth.password);
  }
  args.push('KEYS', ...keys);
  return args;
}

async function setSlot(
  node: Redis,
  slot: number,
  args: string[],
  step: string,
  endpoint: SlotEndpoint,
): Promise<'ok' | 'already-owner' | 'not-owner'> {
  for (let attempt = 0; ; attempt++) {
    try {
      await node.call('CLUSTER', 'SETSLOT', String(slot), ...args);
      return 'ok';
    } catch (e) {
      const msg = errorMessage(e);
      if (/already the owner/i.test(msg)) return 'already-owner';
      if (/not the owner/i.test(msg)) return 'not-owner';
      const kind = classifyRedisError(e);
      if (isTransient(kind) && attempt < MAX_TRANSIENT_RETRIES) {
        await backoff(attempt);
        continue;
      }
      throw new SlotProtocolError(slot, step, endpoint.id, msg, isRetryableAfterRereading(kind, msg));
    }
  }
}

async function finalize(
  ctx: MigrateSlotContext,
  source: Redis,
  target: Redis,
  move: SlotMoveSpec,
  /** What onMoved returned: settled before the close (see MigrateSlotContext.onMoved). */
  kept: ReadonlyArray<Promise<unknown>> = [],
): Promise<void> {
  const { slot, to, from } = move;
  await Promise.all([
    awaitTargetEpoch(source, target, move),
    ctx.failoverGuard?.assertTargetIsMaster(target, move),
    ...kept,
  ]);
  await setNodeOnTarget(ctx, target, slot, to.id);
  reached('after-node-target');
  for (let attempt = 0; ; attempt++) {
    try {
      await source.call('CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id);
      break;
    } catch (e) {
      const msg = errorMessage(e);
      // The source was demoted by a failover: its new master learns the owner from the target's epoch.
      if (/only with masters/i.test(msg)) break;
      if (/still hold keys/i.test(msg) && attempt < MAX_TRANSIENT_RETRIES) {
        // A key reached the source after the last GETKEYSINSLOT (a replica's late write): move it too.
        const rest = (await source.call(
          'CLUSTER',
          'GETKEYSINSLOT',
          String(slot),
          String(LEFT_KEYS_BATCH),
        )) as string[];
        if (rest.length) await migrate(ctx, source, to, rest, await migrateTimeoutFor(ctx, source), false);
        // A full batch is progress, not a failed attempt: `fix` settling a disputed slot hands over
        // all of a claimant's keys this way (its owner already serves the slot), more than a few
        // batches' worth. The source is MIGRATING then, so new keys go to the target and this ends.
        if (rest.length === LEFT_KEYS_BATCH) attempt--;
        continue;
      }
      const kind = classifyRedisError(e);
      if (isTransient(kind) && attempt < MAX_TRANSIENT_RETRIES) {
        await backoff(attempt);
        continue;
      }
      throw new SlotProtocolError(slot, 'SETSLOT NODE', from.id, msg, isRetryableAfterRereading(kind, msg));
    }
  }
  // Not awaited: the slot is already closed on both sides that matter, and a job waiting for the
  // group to fill would hold its place for up to the announcer's delay.
  void ctx.announce(slot, to.id, [to.id, from.id]);
}

/**
 * SETSLOT NODE commands for `target`, fenced against a manual failover of it
 * (execFencedAgainstFailover), in the target's turn when the context has CloseTurns.
 */
export function sendClose(
  ctx: Pick<MigrateSlotContext, 'closeTurns'>,
  target: Redis,
  commands: string[][],
): Promise<Reply[]> {
  return ctx.closeTurns ? ctx.closeTurns.send(target, commands) : execFencedAgainstFailover(target, commands);
}

/** SETSLOT NODE on the target itself, fenced against a manual failover of it (execFencedAgainstFailover). */
async function setNodeOnTarget(
  ctx: MigrateSlotContext,
  target: Redis,
  slot: number,
  targetId: string,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      const [reply] = await sendClose(ctx, target, [['CLUSTER', 'SETSLOT', String(slot), 'NODE', targetId]]);
      if (reply?.[0]) throw reply[0];
      return;
    } catch (e) {
      const kind = classifyRedisError(e);
      if (isTransient(kind) && attempt < MAX_TRANSIENT_RETRIES) {
        await backoff(attempt);
        continue;
      }
      throw new SlotProtocolError(
        slot,
        'SETSLOT NODE',
        targetId,
        errorMessage(e),
        isRetryableAfterRereading(kind, errorMessage(e)),
      );
    }
  }
}

/**
 * A target answers every command with CLUSTERDOWN (RESTORE-ASKING of a MIGRATE included) while a
 * slot has no owner in its view. A failover of a source leaves it so: when the target hears that the
 * old source is a replica now, it unbinds that node's slots and learns their new owner from the new
 * master's next ping, except for slots it is importing, whose owner Redis changes only by command.
 * Every slot the source was moving to it at that moment then stays unowned, the target stays down,
 * and no retry of those slots can MIGRATE into it. So each unowned importing slot is bound, in the
 * target's view only, to the master of the node it imports from (the new master when that node is
 * the demoted source); the slot stays importing, and its job then moves it as usual. A source that
 * died instead of stepping down leaves its importing slots owned by a failed node, with the same
 * effect; they are bound to `migratingFrom`, the master now moving them.
 */
export async function adoptUnownedImports(
  target: Redis,
  log?: Logger,
  migratingFrom?: string,
): Promise<number> {
  let lines;
  try {
    lines = parseClusterNodes(await target.call('CLUSTER', 'NODES'));
  } catch {
    return 0;
  }
  const byId = new Map(lines.map((n) => [n.id, n]));
  const failed = (id: string): boolean => byId.get(id)?.flags.includes('fail') ?? false;
  const ownerOf = new Map<number, string>();
  for (const n of lines) for (const r of n.slots) for (let s = r.start; s <= r.end; s++) ownerOf.set(s, n.id);
  let adopted = 0;
  for (const { slot, from } of lines.find((n) => n.myself)?.importing ?? []) {
    const current = ownerOf.get(slot);
    if (current !== undefined && !failed(current)) continue;
    const peer = byId.get(from);
    let owner = peer?.role === 'replica' && peer.masterId ? peer.masterId : peer?.id;
    // A source that died is not a replica of the master elected in its place, and Redis never
    // moves an importing slot off it: the slot stays owned by a failed node and the target down.
    // The node now sending the slot's keys is that new master (currentEndpoints found it).
    if (peer && failed(peer.id)) owner = migratingFrom !== peer.id ? migratingFrom : undefined;
    if (!owner) continue;
    try {
      await target.call('CLUSTER', 'SETSLOT', String(slot), 'NODE', owner);
      adopted++;
      log?.warn(
        { slot, owner, importingFrom: from },
        'bound an unowned importing slot on the target to its current master',
      );
    } catch (e) {
      log?.warn({ slot, error: errorMessage(e) }, 'could not bind an unowned importing slot');
    }
  }
  return adopted;
}

/** Owner of `slot` in `node`'s own view, from CLUSTER SLOTS (cheap next to CLUSTER NODES parsing). */
async function ownerSeenBy(node: Redis, slot: number): Promise<SlotEndpoint | null> {
  const reply = (await node.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, string?]]>;
  for (const [start, end, master] of reply) {
    if (slot >= start && slot <= end && master[2]) return { host: master[0], port: master[1], id: master[2] };
  }
  return null;
}

function backoff(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.min(1000, 20 * 2 ** attempt)));
}

const EPOCH_WAIT_MS = 10_000;

/**
 * Between SETSLOT NODE on the target and on the source both claim the slot. If the source's config
 * epoch is the higher one, its gossip wins: the target gives the slot back and deletes the keys it
 * just received (Redis drops keys of a slot it loses to a higher epoch). The target bumps its epoch
 * past every epoch it knows when it takes the slot, so the race is closed once the target has heard
 * of the source's epoch: wait for that (gossip carries it within a few node timeouts at most). The
 * limiter keeps a node from being a source and a target at once, so the source does not bump again
 * meanwhile.
 */
export async function awaitTargetEpoch(source: Redis, target: Redis, move: SlotMoveSpec): Promise<void> {
  const deadline = Date.now() + EPOCH_WAIT_MS;
  for (let delay = 5; ; delay = Math.min(delay * 2, 200)) {
    const [sourceInfo, targetInfo] = await Promise.all([
      source.call('CLUSTER', 'INFO'),
      target.call('CLUSTER', 'INFO'),
    ]);
    const sourceEpoch = infoNumber(sourceInfo, 'cluster_my_epoch') ?? 0;
    const targetKnows = infoNumber(targetInfo, 'cluster_current_epoch') ?? 0;
    if (targetKnows >= sourceEpoch) return;
    if (Date.now() > deadline) {
      throw new SlotProtocolError(
        move.slot,
        'epoch check before SETSLOT NODE',
        move.to.id,
        `the target knows epoch ${targetKnows} but the source has ${sourceEpoch}; gossip between them seems stuck`,
        true,
      );
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}

function alreadyMoved(slot: number, started: number): SlotMoveResult {
  return {
    slot,
    outcome: 'already-moved',
    keys: 0,
    batches: 0,
    durationMs: performance.now() - started,
    bigKeys: [],
  };
}
