import type { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { NodeLimiter } from '../../../src/queue/node-limiter.js';
import { useRedisClient } from '../../harness/index.js';

/** EVALSHA and EVAL calls the server has answered so far. */
async function scriptCalls(redis: Redis): Promise<number> {
  const stats = String(await redis.call('INFO', 'commandstats'));
  return [...stats.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
}

describe('NodeLimiter', () => {
  let redis: Redis;
  beforeAll(async () => {
    redis = await useRedisClient();
  });

  it('grants places in the order asked within one turn, as if asked one by one', async () => {
    const limiter = new NodeLimiter(redis, 'order', 1);
    const granted = await Promise.all([
      limiter.tryAcquire('s1', 'A', 'B'),
      limiter.tryAcquire('s2', 'A', 'C'), // A's one place as source is taken by s1
      limiter.tryAcquire('s3', 'C', 'D'), // C holds nothing: s2 was refused
      limiter.tryAcquire('s4', 'D', 'E'), // D is a target (s3): never source and target at once
      limiter.tryAcquire('s5', 'E', 'A'), // A is a source (s1)
      limiter.tryAcquire('s1', 'A', 'B'), // a token already holding its places keeps them
    ]);
    expect(granted).toEqual([true, false, true, false, false, true]);
    await limiter.release('s1', 'A', 'B');
    expect(await limiter.tryAcquire('s6', 'A', 'F')).toBe(true);
  });

  it('asks the queue Redis once for the requests of one turn', async () => {
    const limiter = new NodeLimiter(redis, 'calls', 64);
    const before = await scriptCalls(redis);
    const granted = await Promise.all(
      Array.from({ length: 40 }, (_, i) => limiter.tryAcquire(`s${i}`, `src${i % 3}`, `dst${i % 3}`)),
    );
    expect(granted.every(Boolean)).toBe(true);
    expect((await scriptCalls(redis)) - before).toBe(1);
  });

  it('frees the places of a holder whose lease ran out', async () => {
    const limiter = new NodeLimiter(redis, 'lease', 1, 50);
    expect(await limiter.tryAcquire('killed', 'A', 'B')).toBe(true);
    expect(await limiter.tryAcquire('next', 'A', 'B')).toBe(false);
    await new Promise((r) => setTimeout(r, 80));
    expect(await limiter.tryAcquire('next', 'A', 'B')).toBe(true);
  });
});
