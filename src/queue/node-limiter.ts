import type { Redis } from 'ioredis';
import { luaScript, runScript } from '../cluster/index.js';
import { LUA_SERVER_NOW_MS, nodeLimitKey } from './slot-job.js';

/**
 * KEYS: [source-as-source, target-as-target, source-as-target, target-as-source] — sorted sets of
 *       holder tokens scored by lease expiry (ms)
 * ARGV: [limit, token, leaseMs]
 * Output: 1 when the token now holds a place on both nodes, 0 when a node is full or busy in the
 *         other role.
 * A node is never source and target at once: a node that receives a slot bumps its config epoch,
 * and a source whose epoch rises mid-move could win the slot back by gossip and make the target
 * drop the keys it just received (see awaitTargetEpoch in migrate-slot.ts).
 * The clock is the queue server's TIME, not a worker's, so workers on hosts with skewed clocks
 * agree on when a lease of a crashed worker expires.
 */
const ACQUIRE_V2 = luaScript(`
${LUA_SERVER_NOW_MS}
local limit = tonumber(ARGV[1])
for i = 1, 4 do redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now) end
if redis.call('ZCARD', KEYS[3]) > 0 or redis.call('ZCARD', KEYS[4]) > 0 then return 0 end
for i = 1, 2 do
  if redis.call('ZSCORE', KEYS[i], ARGV[2]) == false and redis.call('ZCARD', KEYS[i]) >= limit then
    return 0
  end
end
for i = 1, 2 do
  redis.call('ZADD', KEYS[i], now + tonumber(ARGV[3]), ARGV[2])
  redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[3]) * 2)
end
return 1
`);

/**
 * A per-node cap that holds across every worker process on every host: a node is source or target
 * of at most `limit` slots at once, and never both. Leases expire, so a killed worker frees its places.
 */
export class NodeLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly queueName: string,
    private readonly limit: number,
    private readonly leaseMs = 60_000,
  ) {}

  private keys(sourceId: string, targetId: string): string[] {
    return [
      nodeLimitKey(this.queueName, sourceId, 'source'),
      nodeLimitKey(this.queueName, targetId, 'target'),
      nodeLimitKey(this.queueName, sourceId, 'target'),
      nodeLimitKey(this.queueName, targetId, 'source'),
    ];
  }

  async tryAcquire(token: string, sourceId: string, targetId: string): Promise<boolean> {
    const r = await runScript(this.redis, ACQUIRE_V2, this.keys(sourceId, targetId), [
      String(this.limit),
      token,
      String(this.leaseMs),
    ]);
    return r === 1;
  }

  /** The two sorted sets a slot's token holds a place in: the source's as source, the target's as target. */
  placeKeys(sourceId: string, targetId: string): [string, string] {
    const [asSource, asTarget] = this.keys(sourceId, targetId);
    return [asSource!, asTarget!];
  }

  async release(token: string, sourceId: string, targetId: string): Promise<void> {
    const [asSource, asTarget] = this.placeKeys(sourceId, targetId);
    // Two plain commands, not a pipeline: with auto-pipelining they share one write with the
    // releases of every other slot finishing in the same turn (a socket write is the dearest step).
    await Promise.all([this.redis.zrem(asSource, token), this.redis.zrem(asTarget, token)]);
  }
}
