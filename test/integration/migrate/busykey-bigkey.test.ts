import calculateSlot from 'cluster-key-slot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodePool, masters, openSlots, parseAddress, readTopology } from '../../../src/cluster/index.js';
import { keyDigests, type Digest } from '../../../src/checksum/index.js';
import {
  BusyKeyConflictError,
  DEFAULT_MIGRATOR_OPTIONS,
  Migrator,
  type MigratorOptions,
} from '../../../src/migrate/index.js';
import { topologyOf, useCluster, type LocalCluster, type LocalNode } from '../../harness/index.js';

/** The group mover (the default) and migrateSlot alone, each on a slot of its own from `first`. */
function bothPaths(first: number): Array<{ path: string; slot: number; groupSlots: number }> {
  return [
    { path: 'groups of slots (the default)', slot: first, groupSlots: DEFAULT_MIGRATOR_OPTIONS.groupSlots },
    { path: 'one slot at a time', slot: first + 1, groupSlots: 1 },
  ];
}

function tagFor(slot: number): string {
  for (let i = 0; ; i++) if (calculateSlot(`{b${i}}`) === slot) return `{b${i}}`;
}

describe('BUSYKEY and big keys', () => {
  let cluster: LocalCluster;
  let pool: NodePool;
  let a: LocalNode, b: LocalNode;
  const migrator = async (options: Partial<MigratorOptions> = {}) =>
    new Migrator(
      pool,
      masters(await readTopology(pool, cluster.seeds.map(parseAddress))),
      {},
      {
        ...DEFAULT_MIGRATOR_OPTIONS,
        ...options,
      },
    );
  beforeAll(async () => {
    // Redis's default node timeout: moving a 1M-field hash blocks both nodes for seconds.
    cluster = await useCluster({ masters: 3, nodeTimeoutMs: 15_000 });
    [a, b] = cluster.nodes as [LocalNode, LocalNode];
    pool = new NodePool({});
  });
  afterAll(() => pool.close());

  /** Opens `slot` a -> b and plants `key` on the target (as an earlier MIGRATE that timed out would). */
  async function plantCopy(
    slot: number,
    key: string,
    sourceValue: string,
    targetValue: string,
  ): Promise<void> {
    const ra = cluster.connect(a);
    const rb = cluster.connect(b);
    await ra.set(key, sourceValue);
    await ra.set(`${tagFor(slot)}:other`, 'x');
    await rb.call('CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', a.id);
    await ra.call('CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', b.id);
    await rb.pipeline().call('ASKING').set(key, targetValue).exec();
    ra.disconnect();
    rb.disconnect();
  }

  /** A verified move over a copy planted on the target: how it ended, and the digests it kept. */
  async function verifiedMoveOverCopy(
    slot: number,
    groupSlots: number,
    key: string,
    sourceValue: string,
    targetValue: string,
  ): Promise<{ ended: unknown; kept: Map<string, Digest> }> {
    await plantCopy(slot, key, sourceValue, targetValue);
    const kept = new Map<string, Digest>();
    const ended = await (
      await migrator({ groupSlots })
    )
      .migrate({ slot, from: a, to: b }, (_s, _k, digests) => {
        for (const [k, d] of digests ?? []) kept.set(k, d);
      })
      .catch((e: unknown) => e);
    return { ended, kept };
  }

  it('BUSYKEY with equal content: replaced, moved, nothing lost', async () => {
    const slot = 40;
    const key = `${tagFor(slot)}:same`;
    await plantCopy(slot, key, 'v1', 'v1');
    const r = await (await migrator()).migrate({ slot, from: a, to: b });
    expect(r.outcome).toBe('moved');
    const rb = cluster.connect(b);
    expect(await rb.get(key)).toBe('v1');
    expect(await rb.get(`${tagFor(slot)}:other`)).toBe('x');
    rb.disconnect();
    expect(openSlots(await topologyOf(cluster))).toEqual([]);
  });

  it.each(bothPaths(44))(
    'BUSYKEY in a verified move, $path: the keys MIGRATE moved before refusing the busy one keep their digests',
    async ({ slot, groupSlots }) => {
      const key = `${tagFor(slot)}:same`;
      const { ended, kept: expected } = await verifiedMoveOverCopy(slot, groupSlots, key, 'v1', 'v1');
      expect(ended).toMatchObject({ outcome: 'moved' });
      // `other` went in the MIGRATE that BUSYKEY failed, and Redis moved it all the same: without its
      // digest the slot was called verified while one of its keys was never checked.
      const keys = [key, `${tagFor(slot)}:other`];
      expect([...expected.keys()].sort()).toEqual([...keys].sort());
      const rb = cluster.connect(b);
      expect(keys.map((k) => expected.get(k))).toEqual(await keyDigests(rb, keys));
      rb.disconnect();
    },
  );

  it('BUSYKEY with different content: the slot stops with the key named, both copies kept', async () => {
    const slot = 41;
    const key = `${tagFor(slot)}:diff`;
    await plantCopy(slot, key, 'source-version', 'target-version');
    const err = await (await migrator()).migrate({ slot, from: a, to: b }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BusyKeyConflictError);
    expect((err as Error).message).toContain(JSON.stringify(key));
    const ra = cluster.connect(a);
    expect(await ra.get(key)).toBe('source-version');
    ra.disconnect();
    // Clean up the deliberately conflicting slot for the tests after this one.
    const rb = cluster.connect(b);
    await rb.pipeline().call('ASKING').del(key).exec();
    rb.disconnect();
    await (await migrator()).migrate({ slot, from: a, to: b });
  });

  it.each(bothPaths(46))(
    'BUSYKEY with different content in a verified move, $path: only the keys that left the source are kept for the check',
    async ({ slot, groupSlots }) => {
      const key = `${tagFor(slot)}:diff`;
      const { ended, kept } = await verifiedMoveOverCopy(
        slot,
        groupSlots,
        key,
        'source-version',
        'target-version',
      );
      expect(ended).toBeInstanceOf(BusyKeyConflictError);
      // The conflicting key never left the source: a digest kept for it would have the check look
      // for the source's version on the target, where the other version stays.
      expect([...kept.keys()]).toEqual([`${tagFor(slot)}:other`]);
      // Clean up the conflict, finish the slot, and the kept digest is that of the key on the target.
      const rb = cluster.connect(b);
      await rb.pipeline().call('ASKING').del(key).exec();
      await (await migrator()).migrate({ slot, from: a, to: b });
      expect(await keyDigests(rb, [`${tagFor(slot)}:other`])).toEqual([kept.get(`${tagFor(slot)}:other`)]);
      rb.disconnect();
    },
  );

  it('a slot of small keys and one big value: the big one moves alone and is reported, the rest in batches', async () => {
    const slot = 43;
    const tag = tagFor(slot);
    const ra = cluster.connect(a);
    const small = Array.from({ length: 50 }, (_, i) => `${tag}:small${i}`);
    await ra.mset(...small.flatMap((k) => [k, `value of ${k}`]));
    await ra.set(`${tag}:big`, 'x'.repeat(2_000_000));
    // Under the threshold: a big-ish value that still goes with the others.
    await ra.set(`${tag}:medium`, 'y'.repeat(500_000));
    ra.disconnect();
    const carried: string[][] = [];
    const r = await (
      await migrator()
    ).migrate({ slot, from: a, to: b }, (_s, keys) => void carried.push([...keys]));
    expect(r.keys).toBe(52);
    expect(r.bigKeys.map((k) => k.key)).toEqual([`${tag}:big`]);
    expect(r.bigKeys[0]!.bytes).toBeGreaterThanOrEqual(2_000_000);
    // The big key travelled in a MIGRATE of its own.
    expect(carried.filter((batch) => batch.includes(`${tag}:big`))).toEqual([[`${tag}:big`]]);
    expect(carried.flat().sort()).toEqual([...small, `${tag}:big`, `${tag}:medium`].sort());
    const rb = cluster.connect(b);
    expect(await rb.strlen(`${tag}:big`)).toBe(2_000_000);
    expect(await rb.strlen(`${tag}:medium`)).toBe(500_000);
    expect(await rb.mget(...small)).toEqual(small.map((k) => `value of ${k}`));
    rb.disconnect();
    expect(openSlots(await topologyOf(cluster))).toEqual([]);
  });

  it('a hash of 1M fields moves without loss', async () => {
    const slot = 42;
    const key = `${tagFor(slot)}:big`;
    const ra = cluster.connect(a);
    for (let i = 0; i < 1_000_000; i += 10_000) {
      const args: string[] = [];
      for (let j = i; j < i + 10_000; j++) args.push(`f${j}`, `value-${j}`);
      await ra.hset(key, ...args);
    }
    expect(await ra.hlen(key)).toBe(1_000_000);
    const [before] = await keyDigests(ra, [key]);
    ra.disconnect();
    const expected = new Map<string, string>();
    const r = await (
      await migrator()
    ).migrate({ slot, from: a, to: b }, (_s, _k, digests) => {
      for (const [k, d] of digests ?? []) expected.set(k, d);
    });
    expect(r.keys).toBe(1);
    expect(r.bigKeys).toEqual([{ key, bytes: expect.any(Number) as number }]);
    expect(r.bigKeys[0]!.bytes).toBeGreaterThan(10_000_000);
    const rb = cluster.connect(b);
    expect(await rb.hlen(key)).toBe(1_000_000);
    expect(await rb.hget(key, 'f999999')).toBe('value-999999');
    // Every field and value arrived: the target's content digest is the source's, and the one taken
    // with the MIGRATE.
    const [after] = await keyDigests(rb, [key]);
    rb.disconnect();
    expect(before).toBeTruthy();
    expect(after).toBe(before);
    expect(expected.size).toBe(1);
    expect(expected.get(key)).toBe(before);
  }, 120_000);
});
