import { pino } from 'pino';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NodePool,
  masters,
  openSlots,
  parseAddress,
  readTopology,
  type Topology,
} from '../../../src/cluster/index.js';
import {
  DEFAULT_MIGRATOR_OPTIONS,
  Migrator,
  SlotOwnedElsewhereError,
  type SlotMoveResult,
} from '../../../src/migrate/index.js';
import {
  useCluster,
  valueFor,
  type LocalCluster,
  type LocalNode,
  keysInSlot,
  endpointOf,
} from '../../harness/index.js';

/**
 * The grouped path moves the slots of a pair together; any slot in an unusual state is handed to
 * the careful per-slot path without holding back the others.
 */
describe('slots of one node pair moved as a group', () => {
  let cluster: LocalCluster;
  let pool: NodePool;
  let a: LocalNode, b: LocalNode, c: LocalNode;
  const topo = (): Promise<Topology> => readTopology(pool, cluster.seeds.map(parseAddress));

  beforeAll(async () => {
    cluster = await useCluster({ masters: 3 });
    [a, b, c] = cluster.nodes as [LocalNode, LocalNode, LocalNode];
    pool = new NodePool({});
  });
  afterAll(() => pool.close());

  it('moves fresh, already-moved and half-open slots together and refuses only the stale one', async () => {
    const slots = Array.from({ length: 12 }, (_, i) => 100 + i);
    const keys = new Map(slots.map((s) => [s, keysInSlot(s, s === 105 ? 3000 : 150)]));
    const ra = cluster.connect(a);
    const pipe = ra.pipeline();
    for (const ks of keys.values()) for (const k of ks) pipe.set(k, valueFor(k, 60));
    await pipe.exec();

    const oneByOne = new Migrator(
      pool,
      masters(await topo()),
      {},
      { ...DEFAULT_MIGRATOR_OPTIONS, groupSlots: 1 },
    );
    // 101 already moved by an earlier run; 102 moved to a third node since the plan was made;
    // 103 left open after IMPORTING and MIGRATING, with some keys already on the target.
    await oneByOne.migrate({ slot: 101, from: endpointOf(a), to: endpointOf(b) });
    await oneByOne.migrate({ slot: 102, from: endpointOf(a), to: endpointOf(c) });
    await oneByOne.flush();
    const rb = cluster.connect(b);
    await rb.call('CLUSTER', 'SETSLOT', '103', 'IMPORTING', a.id);
    await ra.call('CLUSTER', 'SETSLOT', '103', 'MIGRATING', b.id);
    const firstKeys = keys.get(103)!.slice(0, 40);
    await ra.call('MIGRATE', b.host, String(b.port), '', '0', '5000', 'KEYS', ...firstKeys);

    const lines: string[] = [];
    const log = pino(
      { level: 'debug' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    const grouped = new Migrator(pool, masters(await topo()), {}, DEFAULT_MIGRATOR_OPTIONS, undefined, log);
    const outcomes = await Promise.allSettled(
      slots.map((slot) => grouped.migrate({ slot, from: endpointOf(a), to: endpointOf(b) })),
    );
    await grouped.flush();

    const bySlot = new Map(slots.map((s, i) => [s, outcomes[i]!]));
    const stale = bySlot.get(102)!;
    expect(stale.status).toBe('rejected');
    expect((stale as PromiseRejectedResult).reason).toBeInstanceOf(SlotOwnedElsewhereError);
    const done = (slot: number): SlotMoveResult => {
      const o = bySlot.get(slot)!;
      if (o.status !== 'fulfilled') throw new Error(`slot ${slot}: ${String(o.reason)}`);
      return o.value;
    };
    expect(done(101).outcome).toBe('already-moved');
    expect(done(103).keys).toBe(150 - 40);
    expect(done(105).keys).toBe(3000);
    for (const slot of slots.filter((s) => s > 103)) expect(done(slot).outcome).toBe('moved');

    // The fresh slots went through the grouped path, not one by one.
    const groups = lines.map((l) => JSON.parse(l) as { msg: string; slots?: number });
    expect(groups.some((g) => g.msg === 'slot group moved' && (g.slots ?? 0) >= 8)).toBe(true);

    const t = await topo();
    expect(openSlots(t)).toEqual([]);
    expect(t.owners[102]).toBe(c.id);
    for (const slot of slots.filter((s) => s !== 102)) {
      expect(t.owners[slot]).toBe(b.id);
      const ks = keys.get(slot)!;
      expect(Number(await rb.call('CLUSTER', 'COUNTKEYSINSLOT', String(slot)))).toBe(ks.length);
      const values = await rb.mget(...ks);
      ks.forEach((k, i) => expect(values[i]).toBe(valueFor(k, 60)));
    }
    ra.disconnect();
    rb.disconnect();
  });

  it("asks for a slot's keys once when the first answer held them all", async () => {
    // Fewer keys than a first batch (100) in slots 400-409; more than one in slot 410.
    const small = Array.from({ length: 10 }, (_, i) => 400 + i);
    const keys = new Map([...small, 410].map((s) => [s, keysInSlot(s, s === 410 ? 400 : 50)]));
    const ra = cluster.connect(a);
    const pipe = ra.pipeline();
    for (const ks of keys.values()) for (const k of ks) pipe.set(k, valueFor(k, 40));
    await pipe.exec();
    const getKeysCalls = async (): Promise<number> =>
      Number(/cmdstat_cluster\|getkeysinslot:calls=(\d+)/.exec(await ra.info('commandstats'))?.[1] ?? 0);

    const m = new Migrator(pool, [], {}, DEFAULT_MIGRATOR_OPTIONS);
    const before = await getKeysCalls();
    await Promise.all(small.map((slot) => m.migrate({ slot, from: endpointOf(a), to: endpointOf(b) })));
    await m.flush();
    const afterSmall = await getKeysCalls();
    // Once a slot is MIGRATING its source only loses keys: the first answer was all there was.
    expect(afterSmall - before).toBe(small.length);
    await m.migrate({ slot: 410, from: endpointOf(a), to: endpointOf(b) });
    await m.flush();
    expect((await getKeysCalls()) - afterSmall).toBeGreaterThan(1);

    const rb = cluster.connect(b);
    for (const [slot, ks] of keys) {
      expect(Number(await ra.call('CLUSTER', 'COUNTKEYSINSLOT', String(slot)))).toBe(0);
      const values = await rb.mget(...ks);
      ks.forEach((k, i) => expect(values[i]).toBe(valueFor(k, 40)));
    }
    expect(openSlots(await topo())).toEqual([]);
    ra.disconnect();
    rb.disconnect();
  });

  it('keeps every MIGRATE under the byte cap, grouped or one slot at a time', async () => {
    // 30 keys of 64 KiB per slot: about 2 MB, which one 100-key batch would carry at once.
    const slots = [300, 301, 302, 303];
    const keys = new Map(slots.map((s) => [s, keysInSlot(s, 30)]));
    const ra = cluster.connect(a);
    const pipe = ra.pipeline();
    for (const ks of keys.values()) for (const k of ks) pipe.set(k, valueFor(k, 64 * 1024));
    await pipe.exec();
    const keyBytes = Number(await ra.call('MEMORY', 'USAGE', keys.get(300)![0]!));
    const cap = 512 * 1024;
    const perKeyCap = Math.floor(cap / keyBytes);

    const batches = new Map<number, number[]>();
    const record = (slot: number, moved: readonly string[]): void => {
      batches.set(slot, [...(batches.get(slot) ?? []), moved.length]);
    };
    const capped = (groupSlots: number): Migrator =>
      new Migrator(
        pool,
        [],
        {},
        {
          ...DEFAULT_MIGRATOR_OPTIONS,
          groupSlots,
          maxBatchBytes: cap,
        },
      );
    const move = (m: Migrator, slot: number): Promise<SlotMoveResult> =>
      m.migrate({ slot, from: endpointOf(a), to: endpointOf(b) }, record);
    const grouped = capped(32);
    const oneByOne = capped(1);
    const uncapped = new Migrator(pool, [], {}, DEFAULT_MIGRATOR_OPTIONS);
    await Promise.all([move(grouped, 300), move(grouped, 301), move(oneByOne, 302), move(uncapped, 303)]);
    await Promise.all([grouped.flush(), oneByOne.flush(), uncapped.flush()]);

    for (const slot of [300, 301, 302]) {
      const sizes = batches.get(slot)!;
      expect(Math.max(...sizes), `slot ${slot}: batches of ${sizes.join(', ')} keys`).toBeLessThanOrEqual(
        perKeyCap,
      );
      expect(sizes.reduce((x, y) => x + y, 0)).toBe(30);
    }
    // Without the cap the same slot leaves in one MIGRATE: the cap is what split the others.
    expect(batches.get(303)).toEqual([30]);
    const rb = cluster.connect(b);
    for (const slot of slots) {
      const ks = keys.get(slot)!;
      const values = await rb.mget(...ks);
      ks.forEach((k, i) => expect(values[i]).toBe(valueFor(k, 64 * 1024)));
    }
    expect(openSlots(await topo())).toEqual([]);
    ra.disconnect();
    rb.disconnect();
  });
});
