import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Digest } from '../../../src/checksum/index.js';
import { NodePool, masters, parseAddress, readTopology } from '../../../src/cluster/index.js';
import { Migrator, WriteWatcher, verifyMovedKeys } from '../../../src/migrate/index.js';
import { useCluster, type LocalCluster, type LocalNode, keysInSlot } from '../../harness/index.js';

describe('verified moves', () => {
  let cluster: LocalCluster;
  let pool: NodePool;
  let a: LocalNode, b: LocalNode;
  beforeAll(async () => {
    cluster = await useCluster({ masters: 3 });
    [a, b] = cluster.nodes as [LocalNode, LocalNode];
    pool = new NodePool({});
  });
  afterAll(() => pool.close());

  async function moveWatched(slot: number, afterMove: (keys: string[]) => Promise<void>) {
    const keys = keysInSlot(slot, 40);
    const ra = cluster.connect(a);
    await ra.mset(...keys.flatMap((k) => [k, `value of ${k}`]));
    await ra.hset(`${keys[0]!.split(':')[0]}:hash`, 'f1', 'v1', 'f2', 'v2');
    ra.disconnect();
    const watcher = new WriteWatcher({});
    await watcher.watch(b, slot);
    const expected = new Map<string, Digest>();
    const topology = await readTopology(pool, cluster.seeds.map(parseAddress));
    const m = new Migrator(pool, masters(topology), {});
    await m.migrate({ slot, from: a, to: b }, (_s, _keys, digests) => {
      for (const [k, d] of digests ?? []) expected.set(k, d);
    });
    expect(expected.size).toBe(41);
    await afterMove(keys);
    const check = await verifyMovedKeys(await pool.get(b), slot, expected, () => watcher.release(b, slot));
    await watcher.close();
    return check;
  }

  it('an untouched move verifies with no mismatch', async () => {
    const check = await moveWatched(30, () => Promise.resolve());
    expect(check).toEqual({ mismatches: [], writtenDuringMove: 0 });
  });

  it('reports a key deleted on the target right after it moved, by name', async () => {
    const check = await moveWatched(31, async (keys) => {
      const rb = cluster.connect(b);
      await rb.del(keys[3]!);
      rb.disconnect();
    });
    expect(check.mismatches).toEqual([{ key: keysInSlot(31, 40)[3], problem: 'missing' }]);
  });

  it('reports a value replaced behind the clients back (RESTORE, no write event)', async () => {
    const check = await moveWatched(32, async (keys) => {
      const rb = cluster.connect(b);
      const dump = await rb.dumpBuffer(keys[1]!);
      await rb.call('RESTORE', keys[2]!, '0', dump, 'REPLACE');
      rb.disconnect();
    });
    expect(check.mismatches).toEqual([{ key: keysInSlot(32, 40)[2], problem: 'changed' }]);
  });

  it('does not report keys a client rewrote on the target during the move', async () => {
    const check = await moveWatched(33, async (keys) => {
      const rb = cluster.connect(b);
      await rb.set(keys[5]!, 'new value from a client');
      await rb.incr(keys[6]!).catch(() => rb.append(keys[6]!, '!'));
      await rb.hset(`${keys[0]!.split(':')[0]}:hash`, 'f3', 'v3');
      rb.disconnect();
    });
    expect(check.mismatches).toEqual([]);
    expect(check.writtenDuringMove).toBe(3);
  });

  it("restores the node's own notify-keyspace-events setting afterwards", async () => {
    const rb = cluster.connect(b);
    expect((await rb.call('CONFIG', 'GET', 'notify-keyspace-events')) as string[]).toEqual([
      'notify-keyspace-events',
      '',
    ]);
    rb.disconnect();
  });
});
