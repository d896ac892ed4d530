import type { Redis } from 'ioredis';
import { luaScript, runScript } from '../cluster/index.js';
import { nodeLimitKey } from './slot-job.js';

/**
 * KEYS: [sourceActive, targetActive] — sorted sets of holder tokens scored by lease expiry (ms)
 * ARGV: [limit, token, leaseMs]
 * Output: 1 when the token now holds a place on both nodes, 0 when either node is full.
 * The clock is the queue server's TIME, not a worker's, so workers on hosts with skewed clocks
 * agree on when a lease of a crashed worker expires.
 */
const ACQUIRE_V1 = luaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
for i = 1, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  if redis.call('ZSCORE', KEYS[i], ARGV[2]) == false and redis.call('ZCARD', KEYS[i]) >= limit then
    return 0
  end
end
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], now + tonumber(ARGV[3]), ARGV[2])
  redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[3]) * 2)
end
return 1
`);

/**
 * A per-node cap that holds across every worker process on every host: a node is source or target
 * of at most `limit` slots at once. Leases expire, so a killed worker frees its places.
 */
export class NodeLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly queueName: string,
    private readonly limit: number,
    private readonly leaseMs = 60_000,
  ) {}

  async tryAcquire(token: string, nodeIds: readonly string[]): Promise<boolean> {
    const keys = nodeIds.map((id) => nodeLimitKey(this.queueName, id));
    const r = await runScript(this.redis, ACQUIRE_V1, keys, [
      String(this.limit),
      token,
      String(this.leaseMs),
    ]);
    return r === 1;
  }

  async release(token: string, nodeIds: readonly string[]): Promise<void> {
    const pipe = this.redis.pipeline();
    for (const id of nodeIds) pipe.zrem(nodeLimitKey(this.queueName, id), token);
    await pipe.exec();
  }
}
