import { afterEach, describe, expect, it } from 'vitest';
import { RedisServerMissingError, startLocalCluster } from '../../../src/localcluster/index.js';

describe('the harness without redis-server', () => {
  const saved = { path: process.env['PATH'], server: process.env['REDIS_SERVER'] };
  afterEach(() => {
    process.env['PATH'] = saved.path;
    if (saved.server === undefined) delete process.env['REDIS_SERVER'];
    else process.env['REDIS_SERVER'] = saved.server;
  });

  it('fails loudly, saying how to install it, instead of skipping', async () => {
    process.env['REDIS_SERVER'] = '/nonexistent/redis-server';
    const err = await startLocalCluster({ masters: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedisServerMissingError);
    expect((err as Error).message).toContain('apt-get install redis-server');
  });
});
