import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import {
  connectNode,
  keySlot,
  nodeClient,
  redisOptions,
  type ConnectionOptions,
  type NodeAddress,
} from '../cluster/index.js';
import { errorMessage } from './redis-reply-error.js';

/**
 * Keyspace events of client writes that change a value in place, plus expiry and eviction.
 * Left out on purpose:
 * - `restore` (what MIGRATE does on the target): the one event a move produces for every key; with
 *   nobody subscribed Redis publishes it at the cost of a dictionary lookup.
 * - `del` / `rename_from` / `move_from`: a key that disappears is exactly what verification must
 *   catch, and Redis itself reports keys it drops from a lost slot as `del`. The price: a key a client
 *   deletes during its own move is reported as missing (README: verified moves, limits).
 */
const WRITE_EVENTS = [
  'set',
  'setrange',
  'incrby',
  'incrbyfloat',
  'append',
  'expire',
  'expired',
  'evicted',
  'persist',
  'rename_to',
  'move_to',
  'copy_to',
  'lpush',
  'rpush',
  'lpop',
  'rpop',
  'linsert',
  'lset',
  'ltrim',
  'lrem',
  'lmove',
  'sadd',
  'srem',
  'spop',
  'sinterstore',
  'sunionstore',
  'sdiffstore',
  'smove',
  'hset',
  'hincrby',
  'hincrbyfloat',
  'hdel',
  'zadd',
  'zincr',
  'zrem',
  'zremrangebyscore',
  'zremrangebyrank',
  'zremrangebylex',
  'zinterstore',
  'zunionstore',
  'zdiffstore',
  'zrangestore',
  'xadd',
  'xdel',
  'xtrim',
  'xsetid',
  'xgroup-create',
  'xgroup-destroy',
  'xgroup-setid',
  'xgroup-createconsumer',
  'xgroup-delconsumer',
  'xclaim',
  'xautoclaim',
];
/** The classes those events belong to: K=keyspace off, E=keyevent, g$lshzxet = every type plus expiry/eviction. */
const NEEDED_FLAGS = 'Eg$lshzxet';

/**
 * Tells verification which keys a client wrote on a target while their slot moved: such a key may
 * differ from what MIGRATE carried without anything being lost. Subscribes, per target node, to the
 * keyevent channels of client writes, and turns on `notify-keyspace-events` classes for the time of
 * the move (restoring the node's own setting on close). Where CONFIG SET is not allowed, nothing is
 * excused and every difference is reported (the safe side).
 */
export class WriteWatcher {
  private readonly subscribers = new Map<string, Promise<Redis | null>>();
  private readonly originalFlags = new Map<string, { redis: Redis; node: NodeAddress; flags: string }>();
  /** slot → key → last write seen (ms), only for slots being watched. */
  private readonly writes = new Map<number, Map<string, number>>();
  /** Per node, the PING the next releases wait for (see pingSoon). */
  private readonly pings = new Map<string, Promise<unknown>>();

  constructor(
    private readonly connection: ConnectionOptions,
    private readonly log?: Logger,
  ) {}

  /** Starts recording writes to keys of `slot` on `node`; resolves once the subscription is live. */
  async watch(node: NodeAddress & { id: string }, slot: number): Promise<void> {
    if (!this.writes.has(slot)) this.writes.set(slot, new Map());
    let sub = this.subscribers.get(node.id);
    if (!sub) {
      sub = this.subscribe(node);
      this.subscribers.set(node.id, sub);
    }
    await sub;
  }

  /**
   * Keys of `slot` written on `node` while it was watched (key → time seen), and stops recording the
   * slot. A PING on the subscriber first: Redis answers it after every event it published before,
   * so every write that happened before this call has been seen.
   */
  async release(node: { id: string }, slot: number): Promise<Map<string, number>> {
    const sub = await this.subscribers.get(node.id);
    // A subscriber that lost its connection (and is reconnecting) cannot vouch for every write: the
    // writes it saw are excused, the others are reported, which is the safe side.
    if (sub) await this.pingSoon(node.id, sub);
    const seen = this.writes.get(slot) ?? new Map<string, number>();
    this.writes.delete(slot);
    return seen;
  }

  /**
   * One PING for every release of the same turn: it is sent on the next turn, so after each of them
   * was called, and a release called once it is sent waits for the next one. A PING per slot was one
   * command per slot more for the worker process to build and parse.
   */
  private pingSoon(nodeId: string, sub: Redis): Promise<unknown> {
    let ping = this.pings.get(nodeId);
    if (!ping) {
      ping = new Promise<void>((sent) => setImmediate(sent))
        .then(() => {
          this.pings.delete(nodeId);
          return sub.ping();
        })
        .catch(() => undefined);
      this.pings.set(nodeId, ping);
    }
    return ping;
  }

  private async subscribe(node: NodeAddress & { id: string }): Promise<Redis | null> {
    const admin = nodeClient(redisOptions(node, this.connection));
    // A node that cannot be reached fails connect() below; without a listener ioredis also printed
    // "[ioredis] Unhandled error event" to stderr, in the middle of apply's output.
    admin.on('error', () => undefined);
    try {
      await admin.connect();
      const [, current = ''] = (await admin.call('CONFIG', 'GET', 'notify-keyspace-events')) as string[];
      const merged = mergeFlags(current, NEEDED_FLAGS);
      if (merged !== current) await admin.call('CONFIG', 'SET', 'notify-keyspace-events', merged);
      this.originalFlags.set(node.id, { redis: admin, node, flags: current });
      const sub = nodeClient({
        ...redisOptions(node, this.connection),
        lazyConnect: false,
        enableOfflineQueue: true,
        // Unlike the other connections, this one comes back by itself (and ioredis subscribes again):
        // a dropped subscriber would otherwise stop excusing writes for the rest of the plan.
        retryStrategy: (attempt: number) => Math.min(50 * attempt, 1000),
      });
      sub.on('error', () => {});
      sub.on('message', (_channel: string, key: string) => {
        const slot = keySlot(key);
        const slotWrites = this.writes.get(slot);
        if (slotWrites) slotWrites.set(key, Date.now());
      });
      await sub.subscribe(...WRITE_EVENTS.map((e) => `__keyevent@0__:${e}`));
      return sub;
    } catch (e) {
      this.log?.warn(
        { node: node.id, error: errorMessage(e) },
        'cannot watch client writes; every difference will be reported',
      );
      admin.disconnect();
      return null;
    }
  }

  async close(): Promise<void> {
    for (const [id, sub] of this.subscribers) {
      const s = await sub;
      s?.disconnect();
      const orig = this.originalFlags.get(id);
      if (orig) {
        const restore = (r: Redis): Promise<unknown> =>
          r.call('CONFIG', 'SET', 'notify-keyspace-events', orig.flags);
        await restore(orig.redis)
          .catch(async () => {
            // Its connection was dropped during the plan: the node's setting is restored all the same.
            const fresh = await connectNode(orig.node, this.connection);
            try {
              await restore(fresh);
            } finally {
              fresh.disconnect();
            }
          })
          .catch((e: unknown) => {
            this.log?.warn({ node: id, error: errorMessage(e) }, 'could not restore notify-keyspace-events');
          });
        orig.redis.disconnect();
      }
    }
    this.subscribers.clear();
    this.originalFlags.clear();
  }
}

/** Union of two notify-keyspace-events flag strings; 'A' stands for every class letter. */
export function mergeFlags(current: string, needed: string): string {
  const set = new Set(current.replace('A', 'g$lshzxetd'));
  for (const c of needed) set.add(c);
  return [...set].join('');
}
