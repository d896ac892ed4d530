import { describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { BatchSizer, ServerMigrateTime, blockingUsec } from '../../../src/migrate/index.js';

const stats = (migrateUsec: number, evalshaUsec: number): string =>
  [
    '# Commandstats',
    'cmdstat_get:calls=10,usec=50,usec_per_call=5.00,rejected_calls=0,failed_calls=0',
    `cmdstat_migrate:calls=100,usec=${migrateUsec},usec_per_call=1.00,rejected_calls=0,failed_calls=0`,
    `cmdstat_evalsha:calls=100,usec=${evalshaUsec},usec_per_call=1.00,rejected_calls=0,failed_calls=0`,
  ].join('\r\n');

/** A source whose INFO answers are scripted; only the one command the sampler sends is needed. */
function scriptedSource(replies: string[]): Redis {
  return { call: () => Promise.resolve(replies.shift() ?? '') } as unknown as Redis;
}

describe('batch size from the server-side time of MIGRATE', () => {
  it('adds MIGRATE and digest-script time from INFO commandstats', () => {
    expect(blockingUsec(stats(1200, 300))).toBe(1500);
    expect(blockingUsec('# Commandstats\r\ncmdstat_get:calls=1,usec=9')).toBe(0);
  });

  it('sizes rounds by the time the server was blocked, not by round trips inflated by queueing', async () => {
    // 1,000 keys blocked the server 10 ms (10 us a key), while each round trip took 40 ms.
    const sizer = new BatchSizer({ targetMs: 5, minKeys: 10, maxKeys: 5000, initialKeys: 100 });
    const timer = new ServerMigrateTime(sizer);
    const source = scriptedSource([stats(0, 0), stats(10_000, 0)]);
    timer.record(source, 100, 40);
    await new Promise((r) => setTimeout(r, 30));
    timer.record(source, 1000, 40);
    await new Promise((r) => setTimeout(r, 5));
    // 5 ms at 10 us a key is 500 keys; growth is capped at 2x per sample, so 200 now, not ~12.
    expect(sizer.size).toBe(200);
  });

  it('falls back to round trips where INFO is refused', async () => {
    const sizer = new BatchSizer({ targetMs: 5, minKeys: 10, maxKeys: 5000, initialKeys: 100 });
    const timer = new ServerMigrateTime(sizer);
    const refusing = { call: () => Promise.reject(new Error('NOPERM')) } as unknown as Redis;
    timer.record(refusing, 100, 40);
    await new Promise((r) => setTimeout(r, 5));
    timer.record(refusing, 100, 40);
    // 40 ms for 100 keys: 0.4 ms a key, so a 5 ms budget holds 12.5 keys, rounded to 13.
    expect(sizer.size).toBe(13);
  });
});
