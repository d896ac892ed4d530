import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodePool, masters, parseAddress, readTopology } from '../../../src/cluster/index.js';
import type { Redis } from 'ioredis';
import { DEFAULT_MIGRATOR_OPTIONS, Migrator, type SlotMoveResult } from '../../../src/migrate/index.js';
import { endpointOf, useCluster, type LocalCluster, type LocalNode } from '../../harness/index.js';

/**
 * A manual failover pauses its master's writes until the master hears it was demoted. A target that
 * took a slot in that pause would bump its epoch past the promoted replica's and win its slots back,
 * so the target's SETSLOT NODE must wait for the pause to end. CLIENT PAUSE WRITE is the pause Redis
 * applies; here it is set by hand so the test decides when it ends.
 */
describe('closing a slot while a failover pauses the writes of its target or its source', () => {
  let cluster: LocalCluster;
  let pool: NodePool;
  let a: LocalNode, b: LocalNode;

  beforeAll(async () => {
    cluster = await useCluster({ masters: 3 });
    [a, b] = cluster.nodes as [LocalNode, LocalNode];
    pool = new NodePool({});
  });
  afterAll(() => pool.close());

  /**
   * Pauses `paused`'s writes, starts moving `slot` from a to b, and resolves once the move is held
   * there (a blocked client on `paused`) and has not settled; `unpause` lets it finish.
   */
  async function moveHeldByPause(paused: Redis, groupSlots: number, slot: number) {
    const topology = await readTopology(pool, cluster.seeds.map(parseAddress));
    const migrator = new Migrator(pool, masters(topology), {}, { ...DEFAULT_MIGRATOR_OPTIONS, groupSlots });
    await paused.call('CLIENT', 'PAUSE', '20000', 'WRITE');
    let settled = false;
    const moved = migrator
      .migrate({ slot, from: endpointOf(a), to: endpointOf(b) })
      .finally(() => (settled = true));
    await expect
      .poll(async () => Number(/blocked_clients:(\d+)/.exec(await paused.info('clients'))?.[1]), {
        timeout: 10_000,
      })
      .toBeGreaterThanOrEqual(1);
    expect(settled).toBe(false);
    return {
      unpause: async (): Promise<SlotMoveResult> => {
        await paused.call('CLIENT', 'UNPAUSE');
        const result = await moved;
        await migrator.flush();
        return result;
      },
    };
  }

  it.each([
    ['grouped', 32, 200],
    ['one slot at a time', 1, 201],
  ])('%s: the target takes the slot only once the pause ends', async (_, groupSlots, slot) => {
    const target = cluster.connect(b);
    const ownerSeenByTarget = async (): Promise<number> => {
      const slots = (await target.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
      return slots.find(([start, end]) => slot >= start && slot <= end)![2][1];
    };
    try {
      // The closing transaction is held by the pause: it shows as a blocked client on the target.
      const held = await moveHeldByPause(target, groupSlots, slot);
      expect(await ownerSeenByTarget()).toBe(a.port);
      expect((await held.unpause()).outcome).toBe('moved');
      expect(await ownerSeenByTarget()).toBe(b.port);
    } finally {
      await target.call('CLIENT', 'UNPAUSE');
      target.disconnect();
    }
  });

  // The same pause on the source: its replica, once elected, takes every slot the source had in the
  // replica's view with a new epoch, so a target must not take one of them during the pause either.
  it.each([
    ['grouped', 32, 300],
    ['one slot at a time', 1, 301],
  ])('%s: the target takes the slot only once the source is unpaused', async (_, groupSlots, slot) => {
    const source = cluster.connect(a);
    const target = cluster.connect(b);
    try {
      // An empty slot: nothing else the move sends the source is held by a write pause.
      const held = await moveHeldByPause(source, groupSlots, slot);
      // The target still imports the slot: it has not closed it.
      expect(String(await target.call('CLUSTER', 'NODES'))).toContain(`[${slot}-<-${a.id}]`);
      expect((await held.unpause()).outcome).toBe('moved');
      expect(String(await target.call('CLUSTER', 'NODES'))).not.toContain(`[${slot}-<-`);
    } finally {
      await source.call('CLIENT', 'UNPAUSE');
      source.disconnect();
      target.disconnect();
    }
  });
});
