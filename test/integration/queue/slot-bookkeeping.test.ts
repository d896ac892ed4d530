import type { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { NodeLimiter } from '../../../src/queue/node-limiter.js';
import { SlotBookkeeping, type SlotMovedRecord } from '../../../src/queue/slot-bookkeeping.js';
import { planKeys } from '../../../src/queue/slot-job.js';
import { useRedisClient } from '../../harness/index.js';

const record = (
  limiter: NodeLimiter,
  slot: number,
  more: Partial<SlotMovedRecord> = {},
): SlotMovedRecord => ({
  places: limiter.placeKeys('A', `T${slot}`),
  lease: `lease-${slot}`,
  slot,
  keys: 10,
  bytes: 1000,
  mismatches: 0,
  writtenDuringMove: 0,
  verified: true,
  forgetMoved: false,
  bigKeys: [],
  ...more,
});

describe('SlotBookkeeping', () => {
  let redis: Redis;
  beforeAll(async () => {
    redis = await useRedisClient();
  });

  it('records every slot of one turn, sums their stats and gives back their places', async () => {
    const limiter = new NodeLimiter(redis, 'q', 8);
    const book = new SlotBookkeeping(redis);
    const keys = planKeys('q', 'p1');
    const other = planKeys('q', 'p2');
    const moved = (slot: number) => ({
      moved: `${keys.moved}:${slot}`,
      legacyMoved: `${keys.legacyMoved}:${slot}`,
    });
    for (const slot of [1, 2, 3, 4])
      expect(await limiter.tryAcquire(`lease-${slot}`, 'A', `T${slot}`)).toBe(true);
    await redis.rpush(`${keys.moved}:2`, '[]');
    await redis.hset(`${keys.legacyMoved}:2`, 'k', 'd');
    await redis.rpush(`${keys.moved}:3`, '[]');

    await Promise.all([
      book.recordSlotMoved(keys, moved(1), record(limiter, 1, { mismatches: 2, writtenDuringMove: 1 })),
      book.recordSlotMoved(keys, moved(2), record(limiter, 2, { forgetMoved: true, verified: false })),
      book.recordSlotMoved(
        keys,
        moved(3),
        record(limiter, 3, { bigKeys: [{ key: 'big', json: '{"slot":3,"bytes":9}' }], keys: 1, bytes: 5 }),
      ),
      book.recordSlotMoved(other, moved(4), record(limiter, 4)),
    ]);

    expect((await redis.smembers(keys.done)).sort()).toEqual(['1', '2', '3']);
    expect(await redis.hgetall(keys.stats)).toEqual({
      keys: '21',
      bytes: '2005',
      mismatches: '2',
      writtenDuringMove: '1',
      verified: '2',
    });
    expect(await redis.hgetall(keys.bigKeys)).toEqual({ big: '{"slot":3,"bytes":9}' });
    expect(await redis.smembers(other.done)).toEqual(['4']);
    expect(await redis.hget(other.stats, 'keys')).toBe('10');
    // Slot 2's digests are dropped, slot 3's stay for an attempt that still needs them.
    expect(await redis.exists(`${keys.moved}:2`, `${keys.legacyMoved}:2`)).toBe(0);
    expect(await redis.exists(`${keys.moved}:3`)).toBe(1);
    // Every place went back: a limit of one per node admits new slots on A at once.
    const strict = new NodeLimiter(redis, 'q', 1);
    expect(await strict.tryAcquire('next', 'A', 'T1')).toBe(true);
  });

  it('keeps the batches of one turn in the order they moved, with a time to live', async () => {
    const book = new SlotBookkeeping(redis);
    await Promise.all([
      book.keepMovedDigests('kept:7', '["a"]'),
      book.keepMovedDigests('kept:8', '["x"]'),
      book.keepMovedDigests('kept:7', '["b"]'),
    ]);
    expect(await redis.lrange('kept:7', 0, -1)).toEqual(['["a"]', '["b"]']);
    expect(await redis.lrange('kept:8', 0, -1)).toEqual(['["x"]']);
    expect(await redis.ttl('kept:7')).toBeGreaterThan(24 * 3600);
  });
});
