import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodePool, parseAddress, readTopology, type Topology } from '../../../src/cluster/index.js';
import { collectSlotStats, DEFAULT_SLOT_STATS_OPTIONS } from '../../../src/stats/index.js';
import { keysInSlot, useCluster, type LocalCluster, type LocalNode } from '../../harness/index.js';

describe('collectSlotStats', () => {
  let cluster: LocalCluster;
  let pool: NodePool;
  let topology: Topology;
  let a: LocalNode, b: LocalNode;
  /** MEMORY USAGE of every key of a slot, summed: what an exact byte count would be. */
  const exactBytes = new Map<number, number>();

  beforeAll(async () => {
    cluster = await useCluster({ masters: 2 });
    [a, b] = cluster.nodes as [LocalNode, LocalNode];
    pool = new NodePool({});
    topology = await readTopology(pool, cluster.seeds.map(parseAddress));
    // slot 100: 3 keys of uneven sizes (fewer than the sample, so the estimate is exact);
    // slot 101: 40 equal keys (uniform, so the estimate is exact too); slot 9000 on the other master.
    const fill: Array<[LocalNode, number, string[]]> = [
      [a, 100, ['x', 'y'.repeat(500), 'z'.repeat(3000)]],
      [a, 101, new Array<string>(40).fill('v'.repeat(200))],
      [b, 9000, new Array<string>(7).fill('w'.repeat(64))],
    ];
    for (const [node, slot, values] of fill) {
      const r = cluster.connect(node);
      const names = keysInSlot(slot, values.length);
      await r.mset(...names.flatMap((k, i) => [k, values[i]!]));
      let total = 0;
      for (const k of names) total += Number(await r.call('MEMORY', 'USAGE', k));
      exactBytes.set(slot, total);
      r.disconnect();
    }
  });
  afterAll(() => pool.close());

  it('counts every slot’s keys on its owner and estimates bytes from MEMORY USAGE samples', async () => {
    const stats = await collectSlotStats(pool, topology);
    expect([stats.keys[100], stats.keys[101], stats.keys[9000], stats.keys[102]]).toEqual([3, 40, 7, 0]);
    expect(stats.bytes[100]).toBe(exactBytes.get(100));
    expect(stats.bytes[101]).toBe(exactBytes.get(101));
    expect(stats.bytes[9000]).toBe(exactBytes.get(9000));
    expect(stats.keys.reduce((s, n) => s + n, 0)).toBe(50);
    expect(stats.bytes.filter((n) => n > 0)).toHaveLength(3);
  });

  it('gives the same figures whatever the chunking, and no byte estimates with a sample of 0', async () => {
    const whole = await collectSlotStats(pool, topology);
    const small = await collectSlotStats(pool, topology, { sampleKeysPerSlot: 4, slotsPerCall: 7 });
    expect(small).toEqual(whole);
    const noSample = await collectSlotStats(pool, topology, {
      ...DEFAULT_SLOT_STATS_OPTIONS,
      sampleKeysPerSlot: 0,
    });
    expect(noSample.keys).toEqual(whole.keys);
    expect(noSample.bytes.every((n) => n === 0)).toBe(true);
  });

  it('reads an owner whose writes are paused (as during a manual failover) without waiting for it', async () => {
    const admin = cluster.connect(a);
    const writer = cluster.connect(a);
    await admin.call('CLIENT', 'PAUSE', '20000', 'WRITE');
    try {
      let written = false;
      const write = writer.set(keysInSlot(100, 1)[0]!, 'during pause').then(() => (written = true));
      const stats = await collectSlotStats(pool, topology);
      expect(stats.keys[100]).toBe(3);
      // Still paused: the stats did not wait for the pause to end.
      expect(written).toBe(false);
      await admin.call('CLIENT', 'UNPAUSE');
      await write;
    } finally {
      await admin.call('CLIENT', 'UNPAUSE');
      admin.disconnect();
      writer.disconnect();
    }
  });
});
