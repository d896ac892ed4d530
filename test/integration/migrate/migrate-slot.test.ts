import { Cluster, type Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NodePool,
  masters,
  readTopology,
  openSlots,
  parseAddress,
  type NodeAddress,
  type Topology,
} from '../../../src/cluster/index.js';
import { DEFAULT_MIGRATOR_OPTIONS, Migrator, SlotOwnedElsewhereError } from '../../../src/migrate/index.js';
import {
  useCluster,
  valueFor,
  type LocalCluster,
  type LocalNode,
  keysInSlot,
  endpointOf,
} from '../../harness/index.js';

describe('migrateSlot on a real cluster', () => {
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

  async function seed(slot: number, n: number): Promise<string[]> {
    const keys = keysInSlot(slot, n, `s${slot}`);
    const r = cluster.connect(a);
    const p = r.pipeline();
    for (const k of keys) p.set(k, valueFor(k, 80));
    await p.exec();
    r.disconnect();
    return keys;
  }

  async function expectOnlyOn(node: LocalNode, slot: number, keys: string[]): Promise<void> {
    const t = await topo();
    expect(t.owners[slot]).toBe(node.id);
    expect(openSlots(t).filter((o) => o.slot === slot)).toEqual([]);
    const r = cluster.connect(node);
    expect(Number(await r.call('CLUSTER', 'COUNTKEYSINSLOT', String(slot)))).toBe(keys.length);
    const values = await r.mget(...keys);
    r.disconnect();
    keys.forEach((k, i) => expect(values[i]).toBe(valueFor(k, 80)));
  }

  /**
   * A pool whose connections report every command they send (port, upper-case name, arguments):
   * MONITOR hides CLUSTER (an admin command), so the protocol is read where slotshift sends it.
   */
  function recordingPool(onCommand: (port: number, name: string, args: string[]) => void): NodePool {
    const wrapped = new WeakSet<Redis>();
    return new (class extends NodePool {
      override async get(addr: NodeAddress): Promise<Redis> {
        const r = await super.get(addr);
        if (!wrapped.has(r)) {
          wrapped.add(r);
          const send = r.sendCommand.bind(r);
          r.sendCommand = (command, stream) => {
            onCommand(addr.port, command.name.toUpperCase(), command.args.map(String));
            return send(command, stream);
          };
        }
        return r;
      }
    })({});
  }

  it('moves a slot with all its keys and tells every master', async () => {
    const keys = await seed(10, 500);
    const m = new Migrator(pool, masters(await topo()), {});
    const r = await m.migrate({ slot: 10, from: endpointOf(a), to: endpointOf(b) });
    expect(r).toMatchObject({ slot: 10, outcome: 'moved', keys: 500 });
    await expectOnlyOn(b, 10, keys);
    const rc = cluster.connect(c);
    const slots = (await rc.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, string]]>;
    rc.disconnect();
    const range = slots.find(([s, e]) => 10 >= s && 10 <= e)!;
    expect(range[2][2]).toBe(b.id);
  });

  it.each([
    ['one slot at a time', 1, 20],
    ['grouped', 32, 21],
  ])(
    '%s: keeps the protocol order (IMPORTING, MIGRATING, MIGRATE, NODE on target, source, others)',
    async (_, groupSlots, slot) => {
      await seed(slot, 100);
      // Every step awaits the one before, so the order slotshift sends them in (recordingPool) is the
      // order the servers run them in.
      const steps: string[] = [];
      const role = new Map([
        [a.port, 'source'],
        [b.port, 'target'],
        [c.port, 'other'],
      ]);
      const recording = recordingPool((port, name, args) => {
        const ops = name === 'EVALSHA' || name === 'EVAL' ? args.slice(2) : [];
        if (
          name === 'MIGRATE' ||
          (name === 'CLUSTER' && args[0]?.toUpperCase() === 'SETSLOT' && args[1] === String(slot))
        ) {
          steps.push(`${role.get(port)}: ${name === 'MIGRATE' ? 'MIGRATE' : args[2]!.toUpperCase()}`);
        }
        // A group's SETSLOTs, and the other masters' news of the new owner, go as one script call:
        // ARGV holds 'S', slot, state, node id per op.
        ops.forEach((arg, i) => {
          if (arg === 'S' && ops[i + 1] === String(slot)) {
            steps.push(`${role.get(port)}: ${ops[i + 2]!.toUpperCase()}`);
          }
        });
      });
      try {
        const m = new Migrator(
          recording,
          masters(await topo()),
          {},
          { ...DEFAULT_MIGRATOR_OPTIONS, groupSlots },
        );
        expect((await m.migrate({ slot, from: endpointOf(a), to: endpointOf(b) })).outcome).toBe('moved');
        await m.flush();
      } finally {
        await recording.close();
      }
      expect(steps.slice(0, 3)).toEqual(['target: IMPORTING', 'source: MIGRATING', 'source: MIGRATE']);
      expect(steps.slice(steps.lastIndexOf('source: MIGRATE') + 1)).toEqual([
        'target: NODE',
        'source: NODE',
        'other: NODE',
      ]);
      await expectOnlyOn(b, slot, keysInSlot(slot, 100, `s${slot}`));
    },
  );

  it.each([
    ['one slot at a time', 1, 22],
    ['grouped', 32, 23],
  ])(
    '%s: closes the slot only once what onMoved returned has settled (digests kept before a kill)',
    async (_, groupSlots, slot) => {
      await seed(slot, 50);
      const events: string[] = [];
      const recording = recordingPool((port, name, args) => {
        if (port !== b.port) return;
        const plain = name === 'CLUSTER' && args[1] === String(slot) && args[2] === 'NODE';
        const batched = args.some(
          (arg, i) => arg === 'S' && args[i + 1] === String(slot) && args[i + 2] === 'NODE',
        );
        if (plain || batched) events.push('close on target');
      });
      try {
        const m = new Migrator(
          recording,
          masters(await topo()),
          {},
          { ...DEFAULT_MIGRATOR_OPTIONS, groupSlots },
        );
        const moved = await m.migrate({ slot, from: endpointOf(a), to: endpointOf(b) }, () => {
          events.push('batch moved');
          return new Promise((resolve) =>
            setTimeout(() => {
              events.push('batch kept');
              resolve(undefined);
            }, 300),
          );
        });
        expect(moved.outcome).toBe('moved');
        await m.flush();
      } finally {
        await recording.close();
      }
      expect(events).toEqual(['batch moved', 'batch kept', 'close on target']);
      await expectOnlyOn(b, slot, keysInSlot(slot, 50, `s${slot}`));
    },
  );

  it('resumes after IMPORTING only (crash before MIGRATING)', async () => {
    const keys = await seed(11, 50);
    await cluster.connect(b).call('CLUSTER', 'SETSLOT', '11', 'IMPORTING', a.id);
    const r = await new Migrator(pool, masters(await topo()), {}).migrate({
      slot: 11,
      from: endpointOf(a),
      to: endpointOf(b),
    });
    expect(r.outcome).toBe('moved');
    await expectOnlyOn(b, 11, keys);
  });

  /** Leaves `slot` open from a to b, as a crash mid-batches does, with its first `moved` keys on b. */
  async function halfMoved(slot: number, keys: readonly string[], moved: number): Promise<void> {
    const ra = cluster.connect(a);
    const rb = cluster.connect(b);
    await rb.call('CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', a.id);
    await ra.call('CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', b.id);
    await ra.call('MIGRATE', b.host, String(b.port), '', '0', '5000', 'KEYS', ...keys.slice(0, moved));
    ra.disconnect();
    rb.disconnect();
  }

  it('resumes mid-batches (half the keys already on the target)', async () => {
    const keys = await seed(12, 300);
    await halfMoved(12, keys, 150);
    const r = await new Migrator(pool, masters(await topo()), {}).migrate({
      slot: 12,
      from: endpointOf(a),
      to: endpointOf(b),
    });
    expect(r).toMatchObject({ outcome: 'moved', keys: 150 });
    await expectOnlyOn(b, 12, keys);
  });

  it('resumes after NODE on the target but before NODE on the source', async () => {
    const keys = await seed(13, 40);
    const rb = cluster.connect(b);
    const ra = cluster.connect(a);
    await rb.call('CLUSTER', 'SETSLOT', '13', 'IMPORTING', a.id);
    await ra.call('CLUSTER', 'SETSLOT', '13', 'MIGRATING', b.id);
    await ra.call('MIGRATE', b.host, String(b.port), '', '0', '5000', 'KEYS', ...keys);
    await rb.call('CLUSTER', 'SETSLOT', '13', 'NODE', b.id);
    ra.disconnect();
    rb.disconnect();
    const r = await new Migrator(pool, masters(await topo()), {}).migrate({
      slot: 13,
      from: endpointOf(a),
      to: endpointOf(b),
    });
    expect(r.outcome).toBe('already-moved');
    await expectOnlyOn(b, 13, keys);
  });

  it('a finished slot re-run is a no-op', async () => {
    const r = await new Migrator(pool, masters(await topo()), {}).migrate({
      slot: 10,
      from: endpointOf(a),
      to: endpointOf(b),
    });
    expect(r.outcome).toBe('already-moved');
  });

  it('refuses a slot owned by a third node and leaves nothing open', async () => {
    // Slot 16000 belongs to c; a plan claiming it moves from a to b is stale.
    await expect(
      new Migrator(pool, masters(await topo()), {}).migrate({
        slot: 16000,
        from: endpointOf(a),
        to: endpointOf(b),
      }),
    ).rejects.toThrow(SlotOwnedElsewhereError);
    const t = await topo();
    expect(openSlots(t)).toEqual([]);
    expect(t.owners[16000]).toBe(c.id);
  });

  it('keeps a cluster client working while a busy slot moves', async () => {
    const slot = 14;
    const keys = await seed(slot, 2000);
    const client = new Cluster([{ host: a.host, port: a.port }], {
      redisOptions: { maxRetriesPerRequest: 3 },
    });
    const errors: string[] = [];
    let writes = 0;
    let stop = false;
    const traffic = (async () => {
      while (!stop) {
        const k = keys[writes % keys.length]!;
        try {
          await client.set(k, valueFor(k, 80));
          const v = await client.get(k);
          if (v !== valueFor(k, 80)) errors.push(`bad read of ${k}: ${v}`);
        } catch (e) {
          errors.push((e as Error).message);
        }
        writes++;
      }
    })();
    const r = await new Migrator(pool, masters(await topo()), {}).migrate({
      slot,
      from: endpointOf(a),
      to: endpointOf(b),
    });
    stop = true;
    await traffic;
    await client.quit();
    expect(errors).toEqual([]);
    expect(writes).toBeGreaterThan(0);
    expect(r.keys).toBe(2000);
    await expectOnlyOn(b, slot, keys);
  });

  it('rides out a target that stops answering: MIGRATE timeouts are retried with a growing timeout', async () => {
    const keys = await seed(30, 200);
    // 100 ms per MIGRATE against a target that holds every write for 2 s: six tries at 100 ms (with
    // their backoff) give up after about 1.2 s; doubling timeouts outlast the pause.
    const m = new Migrator(
      pool,
      masters(await topo()),
      {},
      {
        ...DEFAULT_MIGRATOR_OPTIONS,
        groupSlots: 1,
        migrateTimeoutMs: 100,
      },
    );
    const rb = cluster.connect(b);
    expect(await rb.call('CLIENT', 'PAUSE', '2000', 'WRITE')).toBe('OK');
    const t0 = Date.now();
    const r = await m.migrate({ slot: 30, from: endpointOf(a), to: endpointOf(b) });
    await m.flush();
    // The pause really held the move (not a move that slipped through before it).
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1500);
    expect(r).toMatchObject({ slot: 30, outcome: 'moved' });
    rb.disconnect();
    await expectOnlyOn(b, 30, keys);
  });

  it('finishes a slot whose target lost track of its owner (as after a failover of the source)', async () => {
    const keys = await seed(40, 60);
    await halfMoved(40, keys, 20);
    const rb = cluster.connect(b);
    // What a target does when it hears that the source is a replica now: it unbinds the source's
    // slots, and does not take a new owner by gossip for one it is importing. It is then down.
    await rb.call('CLUSTER', 'DELSLOTS', '40');
    expect(String(await rb.call('CLUSTER', 'INFO'))).toContain('cluster_state:fail');
    const m = new Migrator(pool, masters(await topo()), {}, { ...DEFAULT_MIGRATOR_OPTIONS, groupSlots: 1 });
    const r = await m.migrate({ slot: 40, from: endpointOf(a), to: endpointOf(b) });
    await m.flush();
    expect(r).toMatchObject({ slot: 40, outcome: 'moved', keys: 40 });
    await expect
      .poll(async () => String(await rb.call('CLUSTER', 'INFO')), { timeout: 5000 })
      .toContain('cluster_state:ok');
    rb.disconnect();
    await expectOnlyOn(b, 40, keys);
  });
});
