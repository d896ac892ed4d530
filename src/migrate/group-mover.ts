import type { Redis } from 'ioredis';
import {
  digestBatchCommand,
  digestsOf,
  loadDigestScript,
  reportMovedDespiteError,
} from './digest-and-migrate.js';
import { keysToMoveCommand, loadKeysToMoveScript, parseKeysToMove } from './keys-to-move.js';
import { reached } from './fault-injection.js';
import {
  awaitTargetEpoch,
  migrateArgs,
  migrateSlot,
  migrateTimeoutFor,
  sendClose,
  type MigrateSlotContext,
  type SlotMoveResult,
  type SlotMoveSpec,
} from './migrate-slot.js';
import { errorMessage, type Reply } from './redis-reply-error.js';
import type { BatchSizer } from './batch-sizer.js';
import { ServerMigrateTime } from './server-migrate-time.js';
import { awaitSourceFailoverPause } from './failover-guard.js';
import { inOneCall } from './protocol-batch.js';
import { SourceRounds, fittingCount, type RoundSize } from './source-rounds.js';

type OnMoved = MigrateSlotContext['onMoved'];

/**
 * The keys of a keys-to-move reply; throws when it found a big key, which takes the slot out of
 * the group: migrateSlot moves big keys alone, with a timeout scaled to their size, and reports them.
 */
function smallKeysOnly(reply: Reply[1]): { keys: string[]; bytes: number; complete: boolean } {
  const { keys, bytes, big, complete } = parseKeysToMove(reply);
  if (big.length > 0) throw new Error(`big key ${big[0]!.key}: moved alone`);
  return { keys, bytes, complete };
}

async function sendPipelined(node: Redis, commands: string[][]): Promise<Reply[]> {
  const pipe = node.pipeline();
  for (const [name, ...args] of commands) pipe.call(name!, ...args);
  return (await pipe.exec()) ?? [];
}

/** A step's SETSLOTs (and keys-to-move calls) in one script call; see inOneCall. */
const sendBatched = inOneCall(sendPipelined);

interface Entry {
  readonly move: SlotMoveSpec;
  readonly onMoved: OnMoved;
  readonly started: number;
  readonly resolve: (result: SlotMoveResult) => void;
  readonly reject: (error: unknown) => void;
  keys: number;
  batches: number;
  /** Keys the last keys-to-move call returned: what the next round moves. */
  next: string[];
  /** Their MEMORY USAGE, summed. */
  nextBytes: number;
  /** `next` is every key left in the slot (see KeysToMove.complete): no keys-to-move call after it. */
  nextIsLast: boolean;
  /** What onMoved returned: settled before the slot closes (see MigrateSlotContext.onMoved). */
  readonly kept: Array<Promise<unknown>>;
}

export interface GroupMoverOptions {
  /** Most slots of one node pair moved as one group. @defaultValue 32 */
  readonly maxGroup: number;
  /**
   * Groups of one node pair in flight at once: while one drains, the next opens its slots.
   * @defaultValue 2
   */
  readonly groupsInFlight: number;
}

interface Pair {
  waiting: Entry[];
  running: number;
}

/**
 * Moves the slots of one node pair in groups, with the same protocol as `migrateSlot` but one
 * round trip per protocol step for the whole group instead of one per step per slot (the SETSLOT
 * steps as one script call, see inOneCall; the MIGRATE rounds as a pipeline):
 *   target: SETSLOT IMPORTING × n → source: SETSLOT MIGRATING + keys to move × n →
 *   source: MIGRATE (+ keys to move, unless the last call returned all the slot held) × (slots with
 *   keys left), repeated until every slot is empty →
 *   epoch check once → target: SETSLOT NODE × n → source: SETSLOT NODE × n → other masters, grouped.
 * redis-cli spends about 0.85 ms per slot on round trips even for empty slots; a group pays them
 * once. Each round's keys follow the source's batch sizer, so one round blocks the source about as
 * long as one MIGRATE of the per-slot path would.
 *
 * Anything unusual about one slot (an error reply at any step: already moved, owned elsewhere,
 * BUSYKEY, a big key, a demoted node) takes that slot out of the group and hands it to
 * `migrateSlot`, which reads where the slot is and resumes from there: the fast path never has to
 * handle a case the careful one already does. The state left in Redis between steps is the state
 * `migrateSlot` leaves, so a crash anywhere is resumed the same way.
 */
export class GroupMover {
  private readonly pairs = new Map<string, Pair>();
  private readonly serverTimes = new Map<string, ServerMigrateTime>();
  /** Per source connection, its groups' rounds: one pipeline in flight, merged while they fit. */
  private readonly rounds = new WeakMap<Redis, SourceRounds>();

  constructor(
    private readonly ctx: Omit<MigrateSlotContext, 'onMoved' | 'digests'>,
    private readonly digests: boolean,
    private readonly options: GroupMoverOptions = { maxGroup: 32, groupsInFlight: 2 },
  ) {}

  /**
   * Moves one slot. Slots of a pair that arrive while its groups are busy wait and leave together:
   * jobs reach a worker one by one, and starting each as it came made groups of two or three.
   */
  move(move: SlotMoveSpec, onMoved?: OnMoved): Promise<SlotMoveResult> {
    return new Promise((resolve, reject) => {
      const key = `${move.from.id}@${move.from.host}:${move.from.port}>${move.to.id}@${move.to.host}:${move.to.port}`;
      let pair = this.pairs.get(key);
      if (!pair) this.pairs.set(key, (pair = { waiting: [], running: 0 }));
      pair.waiting.push({
        move,
        onMoved,
        started: performance.now(),
        resolve,
        reject,
        keys: 0,
        batches: 0,
        next: [],
        nextBytes: 0,
        nextIsLast: false,
        kept: [],
      });
      // On the next turn, not now: jobs BullMQ hands over in one burst then arrive in one group.
      if (pair.waiting.length === 1) setImmediate(() => this.start(key));
    });
  }

  private start(key: string): void {
    const pair = this.pairs.get(key);
    if (!pair) return;
    while (pair.waiting.length > 0 && pair.running < this.options.groupsInFlight) {
      const group = pair.waiting.splice(0, this.options.maxGroup);
      pair.running++;
      this.moveGroup(group)
        .catch((e: unknown) => {
          // moveGroup settles every entry itself; this only guards against a bug leaving one hanging.
          for (const entry of group) entry.reject(e);
        })
        .finally(() => {
          pair.running--;
          if (pair.waiting.length > 0) this.start(key);
          else if (pair.running === 0) this.pairs.delete(key);
        });
    }
  }

  private async moveGroup(group: Entry[]): Promise<void> {
    const { from, to } = group[0]!.move;
    let source: Redis;
    let target: Redis;
    try {
      [source, target] = await Promise.all([this.ctx.pool.get(from), this.ctx.pool.get(to)]);
    } catch {
      for (const entry of group) this.alone(entry);
      return;
    }

    let live = await this.step(
      group,
      target,
      (e) => [['CLUSTER', 'SETSLOT', String(e.move.slot), 'IMPORTING', from.id]],
      { send: sendBatched },
    );
    reached('after-importing', live.length);
    if (live.length === 0) return;

    try {
      await loadKeysToMoveScript(source);
      if (this.digests) await loadDigestScript(source);
    } catch {
      for (const entry of live) this.alone(entry);
      return;
    }
    const sizer = this.ctx.sizerFor(from.id);
    const firstBatch = sizer.size;
    const timeoutMs = await migrateTimeoutFor(this.ctx, source);
    live = await this.step(
      live,
      source,
      (e) => [
        ['CLUSTER', 'SETSLOT', String(e.move.slot), 'MIGRATING', to.id],
        keysToMoveCommand(e.move.slot, firstBatch, this.ctx.bigKeyBytes, this.ctx.maxBatchBytes),
      ],
      {
        accept: (e, replies) => {
          ({ keys: e.next, bytes: e.nextBytes, complete: e.nextIsLast } = smallKeysOnly(replies[1]![1]));
        },
        send: sendBatched,
      },
    );
    reached('after-migrating', live.length);

    // Each round moves whole batches of as many slots as fit the sizer's budget (and the byte cap),
    // and the rest wait for the next round: splitting the budget over every slot made batches of a
    // few keys, and MIGRATE's fixed cost per call (a round trip from source to target) then dominated.
    const maxBytes = this.ctx.maxBatchBytes;
    const rounds = this.roundsOn(from.id, source, sizer);
    for (let moving = live.filter((e) => e.next.length > 0); moving.length > 0;) {
      const budget = sizer.size;
      const sizeOf = (e: Entry): RoundSize => ({ keys: e.next.length, bytes: e.nextBytes });
      const take = fittingCount(moving, sizeOf, { keys: budget, bytes: maxBytes });
      const round = moving.slice(0, take);
      const roundSize = round
        .map(sizeOf)
        .reduce((a, b) => ({ keys: a.keys + b.keys, bytes: a.bytes + b.bytes }));
      const still = await this.step(
        round,
        source,
        (e) =>
          e.nextIsLast
            ? this.migrateCommands(e, timeoutMs)
            : [
                ...this.migrateCommands(e, timeoutMs),
                keysToMoveCommand(e.move.slot, budget, this.ctx.bigKeyBytes, maxBytes),
              ],
        {
          accept: (e, replies) => this.recordMoved(e, replies, source),
          send: (_node, commands) => rounds.send(commands, roundSize),
        },
      );
      const dropped = new Set(round.filter((e) => !still.includes(e)));
      live = live.filter((e) => !dropped.has(e));
      reached('mid-batches', still.length);
      moving = [...moving.slice(take), ...still.filter((e) => e.next.length > 0)];
    }
    if (live.length === 0) return;

    try {
      await Promise.all([
        awaitTargetEpoch(source, target, live[0]!.move),
        this.ctx.failoverGuard?.assertTargetIsMaster(target, live[0]!.move),
        awaitSourceFailoverPause(source, live[0]!.move),
        ...live.flatMap((e) => e.kept),
      ]);
    } catch {
      for (const entry of live) this.alone(entry);
      return;
    }
    const setNode = (e: Entry): string[][] => [['CLUSTER', 'SETSLOT', String(e.move.slot), 'NODE', to.id]];
    live = await this.step(live, target, setNode, {
      send: inOneCall((node, commands) => sendClose(this.ctx, node, commands)),
    });
    reached('after-node-target', live.length);
    // A source demoted by a failover answers "only with masters": its new master learns the owner
    // from the target's higher epoch, as in migrateSlot.
    live = await this.step(live, source, setNode, { tolerated: /only with masters/i, send: sendBatched });
    for (const entry of live) {
      void this.ctx.announce(entry.move.slot, to.id, [to.id, from.id]);
      entry.resolve({
        slot: entry.move.slot,
        outcome: 'moved',
        keys: entry.keys,
        batches: entry.batches,
        durationMs: performance.now() - entry.started,
        bigKeys: [],
      });
    }
    this.ctx.log?.debug({ source: from.id, target: to.id, slots: live.length }, 'slot group moved');
  }

  /**
   * Sends every entry's commands in one pipeline. Entries whose replies hold an error (or whose
   * `accept` throws) leave the group for `migrateSlot`; the rest are returned.
   */
  private async step(
    entries: Entry[],
    node: Redis,
    commands: (e: Entry) => string[][],
    {
      accept,
      tolerated,
      send = sendPipelined,
    }: {
      accept?: (e: Entry, replies: Reply[]) => void;
      tolerated?: RegExp;
      send?: (node: Redis, commands: string[][]) => Promise<Reply[]>;
    } = {},
  ): Promise<Entry[]> {
    const perEntry = entries.map(commands);
    let replies: Reply[];
    try {
      replies = await send(node, perEntry.flat());
    } catch {
      for (const entry of entries) this.alone(entry);
      return [];
    }
    const kept: Entry[] = [];
    let at = 0;
    entries.forEach((entry, i) => {
      const mine = replies.slice(at, at + perEntry[i]!.length);
      at += perEntry[i]!.length;
      const failed = mine.find(([err, value]) => err ?? (value instanceof Error ? value : null));
      const error = failed ? (failed[0] ?? (failed[1] as Error)) : null;
      if (mine.length !== perEntry[i]!.length || (error && !tolerated?.test(errorMessage(error)))) {
        this.alone(entry);
        return;
      }
      try {
        accept?.(entry, mine);
        kept.push(entry);
      } catch {
        this.alone(entry);
      }
    });
    return kept;
  }

  /** MIGRATE of the keys fetched last round; in verified mode wrapped with the digest in MULTI/EXEC. */
  private migrateCommands(e: Entry, timeoutMs: number): string[][] {
    const args = migrateArgs(this.ctx, e.move.to, e.next, timeoutMs, false);
    if (!this.digests) return [['MIGRATE', ...args]];
    return [['MULTI'], digestBatchCommand(e.next), ['MIGRATE', ...args], ['EXEC']];
  }

  private recordMoved(e: Entry, replies: Reply[], source: Redis): void {
    const moved = e.next;
    let digests = null;
    if (this.digests) {
      const exec = replies[3]![1];
      if (!Array.isArray(exec)) throw new Error('MULTI/EXEC aborted');
      const [digestReply, migrateReply] = exec as unknown[];
      digests = digestsOf(moved, digestReply);
      if (migrateReply instanceof Error) {
        // MIGRATE's own error (BUSYKEY, IOERR, ...): migrateSlot classifies and retries it, once
        // the digests of the keys it moved all the same are kept (`alone` awaits e.kept).
        if (e.onMoved) e.kept.push(reportMovedDespiteError(source, e.move.slot, moved, digests, e.onMoved));
        throw migrateReply;
      }
    }
    e.keys += moved.length;
    e.batches++;
    const keeping = e.onMoved?.(e.move.slot, moved, digests);
    if (keeping) e.kept.push(keeping);
    if (e.nextIsLast) {
      e.next = [];
      e.nextBytes = 0;
      return;
    }
    ({ keys: e.next, bytes: e.nextBytes, complete: e.nextIsLast } = smallKeysOnly(replies.at(-1)![1]));
  }

  /** The rounds of every group on `source` (see SourceRounds), sized by its sizer. */
  private roundsOn(sourceId: string, source: Redis, sizer: BatchSizer): SourceRounds {
    let rounds = this.rounds.get(source);
    if (!rounds) {
      let time = this.serverTimes.get(sourceId);
      if (!time) this.serverTimes.set(sourceId, (time = new ServerMigrateTime(sizer)));
      const sample = time;
      rounds = new SourceRounds(
        source,
        () => ({ keys: sizer.size, bytes: this.ctx.maxBatchBytes }),
        sendPipelined,
        (size, roundTripMs) => sample.record(source, size.keys, roundTripMs),
      );
      this.rounds.set(source, rounds);
    }
    return rounds;
  }

  /** The careful path for one slot; what the group already moved is added to its result. */
  private alone(entry: Entry): void {
    // What the group moved is kept before the careful path can close the slot.
    Promise.all(entry.kept)
      .then(() =>
        migrateSlot(
          { ...this.ctx, onMoved: entry.onMoved, digests: this.digests && entry.onMoved !== undefined },
          entry.move,
        ),
      )
      .then((r) =>
        entry.resolve({
          ...r,
          keys: r.keys + entry.keys,
          batches: r.batches + entry.batches,
          durationMs: performance.now() - entry.started,
        }),
      )
      .catch(entry.reject);
  }
}
