import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { luaScript, runScript } from '../cluster/index.js';
import type { SharedCloseTurns } from '../migrate/index.js';
import { LUA_SERVER_NOW_MS, workerProcessesKey } from './slot-job.js';
import { TIMED_OUT, settleWithin } from './settle-within.js';

/** A turn left held by a killed or stuck process frees itself after this long. */
const TURN_LEASE_MS = 3_000;
/** The highest epoch outlives a pause of the plan by this long (a day; plan keys live 7). */
const EPOCH_KEPT_MS = 24 * 3600 * 1000;
/** How often a slot worker says it is alive, and how long others count it after it last did. */
const HEARTBEAT_MS = 1_000;
const ALIVE_MS = 3_500;

/**
 * KEYS: [turn lock, highest epoch]  ARGV: [token, lease ms]
 * Output: the highest epoch recorded when the turn was taken, -1 when another process holds it.
 */
const ENTER = luaScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return tonumber(redis.call('GET', KEYS[2]) or '0')
end
return -1
`);

/**
 * KEYS: [turn lock, highest epoch]
 * ARGV: [token, highest epoch known to the leaving process, how long the epoch is kept (ms)]
 * Records the epoch whoever holds the turn, then gives the turn up if this process still holds it.
 */
const LEAVE = luaScript(`
if tonumber(redis.call('GET', KEYS[2]) or '0') < tonumber(ARGV[2]) then redis.call('SET', KEYS[2], ARGV[2]) end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`);

/**
 * KEYS: [worker processes]  ARGV: [process token, alive ms]
 * Output: how many processes said they were alive within the last `alive ms`, this one included.
 * The clock is the queue server's TIME, so processes on hosts with skewed clocks agree.
 */
const BEAT = luaScript(`
${LUA_SERVER_NOW_MS}
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return redis.call('ZCARD', KEYS[1])
`);

/**
 * The close turn as a lock on the queue Redis, shared by every process moving slots through one
 * queue, with the highest config epoch their closes left beside it. Each turn costs two round trips
 * to the queue Redis, so slot workers take it only while another worker process is alive
 * (`WorkerPresence`). It never fails a close: when the queue Redis cannot be reached or the turn is
 * not free within its lease, the close goes ahead as it would in one process.
 */
export class QueueCloseTurns implements SharedCloseTurns {
  private readonly token = randomUUID();
  private readonly keys: [string, string];

  /** `keys`: the plan's `closeTurn` and `closeEpoch` (planKeys). */
  constructor(
    private readonly redis: Redis,
    keys: { readonly closeTurn: string; readonly closeEpoch: string },
  ) {
    this.keys = [keys.closeTurn, keys.closeEpoch];
  }

  async enter(): Promise<number> {
    const deadline = Date.now() + TURN_LEASE_MS;
    for (let delay = 1; ; delay = Math.min(delay * 2, 20)) {
      try {
        // Bounded: with the queue Redis away the call waits for a reconnect, and every close of
        // this process waited behind it, the slots left open.
        const reply = await settleWithin(
          runScript(this.redis, ENTER, this.keys, [this.token, TURN_LEASE_MS]),
          deadline - Date.now(),
        );
        if (reply === TIMED_OUT) return 0;
        const highest = Number(reply);
        if (highest >= 0) return highest;
      } catch {
        return 0;
      }
      if (Date.now() + delay > deadline) return 0;
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  /** Bounded as `enter`: a turn not given back frees itself after its lease. */
  async leave(highestEpoch: number): Promise<void> {
    await settleWithin(
      runScript(this.redis, LEAVE, this.keys, [this.token, highestEpoch, EPOCH_KEPT_MS]),
      TURN_LEASE_MS,
    );
  }
}

/**
 * Which slot-worker processes are alive on a queue: each says so every second in a sorted set on
 * the queue Redis. `others()` is true while another one has said so lately.
 */
export class WorkerPresence {
  private readonly key: string;
  private readonly me = randomUUID();
  private othersAlive = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    queueName: string,
  ) {
    this.key = workerProcessesKey(queueName);
    void this.beat();
    this.timer = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.timer.unref();
  }

  others(): boolean {
    return this.othersAlive;
  }

  /** Resolves once this process has announced itself and read who else is alive. */
  ready(): Promise<void> {
    return this.beat();
  }

  private async beat(): Promise<void> {
    try {
      const alive = Number(await runScript(this.redis, BEAT, [this.key], [this.me, ALIVE_MS]));
      this.othersAlive = alive > 1;
    } catch {
      // The queue Redis is unreachable: the jobs fail anyway; keep the last answer.
    }
  }

  /** `announce`: say goodbye on the queue Redis; without it (the queue away) the entry just expires. */
  async close(announce = true): Promise<void> {
    clearInterval(this.timer);
    if (announce) await this.redis.zrem(this.key, this.me).catch(() => undefined);
  }
}
