import { describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { migrateTimeoutFor } from '../../../src/migrate/index.js';

const answering = (reply: Promise<unknown>): Redis => ({ call: () => reply }) as unknown as Redis;

describe('MIGRATE timeout against the source node timeout', () => {
  it('never blocks a source past half its cluster-node-timeout, so its replicas do not fail it over', async () => {
    const ctx = { migrateTimeoutMs: 10_000 };
    expect(await migrateTimeoutFor(ctx, answering(Promise.resolve(['cluster-node-timeout', '3000'])))).toBe(
      1500,
    );
    expect(await migrateTimeoutFor(ctx, answering(Promise.resolve(['cluster-node-timeout', '60000'])))).toBe(
      10_000,
    );
  });

  it('keeps --migrate-timeout where CONFIG GET is refused', async () => {
    expect(
      await migrateTimeoutFor({ migrateTimeoutMs: 7000 }, answering(Promise.reject(new Error('NOPERM')))),
    ).toBe(7000);
  });
});
