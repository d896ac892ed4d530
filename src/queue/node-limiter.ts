import type DataLoader from 'dataloader';
import type { Redis } from 'ioredis';
import { luaScript, runScript } from '../cluster/index.js';
import { perTurnLoader } from './per-turn.js';
import { LUA_SERVER_NOW_MS, nodeLimitKey } from './slot-job.js';

/**
 * KEYS: every sorted set of holder tokens the requests name (scored by lease expiry, ms)
 * ARGV: [limit, leaseMs, then per request: token and the 1-based KEYS indexes of its source's places
 *       as source, its target's as target, its source's as target and its target's as source]
 * Output: per request, in order, 1 when its token now holds a place on both nodes, 0 when a node is
 *         full or busy in the other role; each request sees the places the ones before it took.
 * A node is never source and target at once: a node that receives a slot bumps its config epoch,
 * and a source whose epoch rises mid-move could win the slot back by gossip and make the target
 * drop the keys it just received (see awaitTargetEpoch in migrate-slot.ts).
 * The clock is the queue server's TIME, not a worker's, so workers on hosts with skewed clocks
 * agree on when a lease of a crashed worker expires.
 */
const ACQUIRE_MANY = luaScript(`
${LUA_SERVER_NOW_MS}
local limit = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
for i = 1, #KEYS do redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now) end
local out = {}
for r = 3, #ARGV, 5 do
  local token = ARGV[r]
  local k = {KEYS[tonumber(ARGV[r + 1])], KEYS[tonumber(ARGV[r + 2])], KEYS[tonumber(ARGV[r + 3])], KEYS[tonumber(ARGV[r + 4])]}
  local ok = redis.call('ZCARD', k[3]) == 0 and redis.call('ZCARD', k[4]) == 0
  for i = 1, 2 do
    if ok and redis.call('ZSCORE', k[i], token) == false and redis.call('ZCARD', k[i]) >= limit then ok = false end
  end
  if ok then
    for i = 1, 2 do
      redis.call('ZADD', k[i], now + lease, token)
      redis.call('PEXPIRE', k[i], lease * 2)
    end
  end
  out[#out + 1] = ok and 1 or 0
end
return out
`);

/** KEYS: the places' sorted sets. ARGV: per token: the token and the KEYS indexes of its two places. */
const RELEASE_MANY = luaScript(`
for r = 1, #ARGV, 3 do
  redis.call('ZREM', KEYS[tonumber(ARGV[r + 1])], ARGV[r])
  redis.call('ZREM', KEYS[tonumber(ARGV[r + 2])], ARGV[r])
end
return 1
`);

/**
 * The KEYS of a script call serving many requests: each distinct key once. Appends each request's
 * token and the 1-based indexes of its keys to `args`.
 */
function batchKeys(
  requests: readonly AcquireRequest[],
  keysOf: (r: AcquireRequest) => readonly string[],
  args: Array<string | number>,
): string[] {
  const keys: string[] = [];
  const indexOf = new Map<string, number>();
  for (const r of requests) {
    args.push(r.token);
    for (const key of keysOf(r)) {
      let i = indexOf.get(key);
      if (i === undefined) indexOf.set(key, (i = keys.push(key)));
      args.push(i);
    }
  }
  return keys;
}

interface AcquireRequest {
  readonly token: string;
  readonly sourceId: string;
  readonly targetId: string;
}

/**
 * A per-node cap that holds across every worker process on every host: a node is source or target
 * of at most `limit` slots at once, and never both. Leases expire, so a killed worker frees its places.
 */
export class NodeLimiter {
  /**
   * Requests made in one turn of the event loop go to the queue Redis as one script call: slots
   * start in bursts (a group of them finishes, and BullMQ hands out as many new jobs in one reply),
   * and a call per slot cost the worker process a command, a promise and a reply each.
   */
  private readonly acquirer: DataLoader<AcquireRequest, boolean>;
  private readonly releaser: DataLoader<AcquireRequest, void>;

  constructor(
    private readonly redis: Redis,
    private readonly queueName: string,
    private readonly limit: number,
    private readonly leaseMs = 60_000,
  ) {
    this.acquirer = perTurnLoader((requests) => this.acquireMany(requests));
    this.releaser = perTurnLoader((requests) => this.releaseMany(requests));
  }

  private keys(sourceId: string, targetId: string): string[] {
    return [
      nodeLimitKey(this.queueName, sourceId, 'source'),
      nodeLimitKey(this.queueName, targetId, 'target'),
      nodeLimitKey(this.queueName, sourceId, 'target'),
      nodeLimitKey(this.queueName, targetId, 'source'),
    ];
  }

  tryAcquire(token: string, sourceId: string, targetId: string): Promise<boolean> {
    return this.acquirer.load({ token, sourceId, targetId });
  }

  private async acquireMany(requests: readonly AcquireRequest[]): Promise<boolean[]> {
    const args: Array<string | number> = [this.limit, this.leaseMs];
    const keys = batchKeys(requests, (r) => this.keys(r.sourceId, r.targetId), args);
    const granted = (await runScript(this.redis, ACQUIRE_MANY, keys, args)) as number[];
    return granted.map((g) => g === 1);
  }

  /** The two sorted sets a slot's token holds a place in: the source's as source, the target's as target. */
  placeKeys(sourceId: string, targetId: string): [string, string] {
    const [asSource, asTarget] = this.keys(sourceId, targetId);
    return [asSource!, asTarget!];
  }

  /** Gives back a token's places on both nodes; releases of one turn go as one script call. */
  release(token: string, sourceId: string, targetId: string): Promise<void> {
    return this.releaser.load({ token, sourceId, targetId });
  }

  private async releaseMany(requests: readonly AcquireRequest[]): Promise<void[]> {
    const args: Array<string | number> = [];
    const keys = batchKeys(requests, (r) => this.placeKeys(r.sourceId, r.targetId), args);
    await runScript(this.redis, RELEASE_MANY, keys, args);
    return requests.map(() => undefined);
  }
}
