import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { parseClusterNodes } from '../../../src/cluster/index.js';
import { PlanQueue, startSlotWorker, type SlotWorker } from '../../../src/queue/index.js';
import {
  endpointOf,
  waitFor,
  keysInSlot,
  useCluster,
  useRedis,
  type LocalCluster,
  type LocalNode,
} from '../../harness/index.js';

/**
 * A target killed in the middle of its first slot owns no slot, so Redis elects no replica of it
 * (it fails over masters with slots only). The keys MIGRATE had handed it live on in its replica
 * alone, and the slot stays MIGRATING on the source: before 2026-11-26 the slot's job failed its 7
 * tries, and closing the slot on the source (`slotshift fix`) lost those keys.
 */
describe('a slot whose target died before owning any slot', () => {
  const conns: Redis[] = [];
  let worker: SlotWorker | null = null;
  let planQueue: PlanQueue | null = null;
  afterAll(async () => {
    await worker?.close();
    await planQueue?.close();
    for (const r of conns) r.disconnect();
  });

  it("goes on to the target's replica, promoted, with the keys already moved: nothing lost, nothing open", async () => {
    const cluster: LocalCluster = await useCluster({
      masters: 2,
      emptyMasters: 1,
      replicateEmptyMasters: true,
      replicasPerMaster: 1,
    });
    const queue = await useRedis();
    const connect = (n: LocalNode): Redis => {
      const r = cluster.connect(n);
      r.on('error', () => undefined);
      conns.push(r);
      return r;
    };
    const [a, b] = cluster.nodes.filter((n) => n.kind === 'master') as [LocalNode, LocalNode];
    const target = cluster.nodes.find((n) => n.kind === 'empty')!;
    const replica = cluster.nodes.find((n) => n.kind === 'replica' && n.masterId === target.id)!;
    const slot = 300;
    const keys = keysInSlot(slot, 40, 'slotless');
    const src = connect(a);
    for (const k of keys) await src.set(k, `v-${k}`);

    // Half the slot moved, replicated, then the target killed.
    const tgt = connect(target);
    await tgt.call('CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', a.id);
    await src.call('CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', target.id);
    await src.call(
      'MIGRATE',
      target.host,
      String(target.port),
      '',
      '0',
      '5000',
      'KEYS',
      ...keys.slice(0, 20),
    );
    expect(await tgt.call('WAIT', '1', '5000')).toBe(1);
    cluster.kill(target);
    await waitFor('the other masters to mark the target failed', 30_000, async () => {
      const line = parseClusterNodes(await src.call('CLUSTER', 'NODES')).find((l) => l.id === target.id);
      return line?.flags.includes('fail') ?? false;
    });

    const replicasOf = (m: LocalNode): string[] =>
      cluster.nodes.filter((n) => n.masterId === m.id).map((n) => n.id);
    planQueue = new PlanQueue(queue.url, 'slotless');
    await planQueue.enqueue(
      [{ planId: 'p1', slot, from: endpointOf(a), to: endpointOf(target), keys: 40, bytes: 4000 }],
      [a, b, target].map((m) => ({ ...endpointOf(m), replicaIds: replicasOf(m) })),
    );
    worker = startSlotWorker({
      queueUrl: queue.url,
      queueName: 'slotless',
      cluster: { connectTimeoutMs: 1_000 },
      concurrency: 4,
      perNodeLimit: 4,
      log: pino({ level: process.env['DEBUG_LOG'] ? 'info' : 'silent' }),
    });
    const pq = planQueue;
    await waitFor('the slot to be moved', 40_000, async () => {
      const p = await pq.progress('p1', 1);
      if (p.failed) throw new Error(`the slot failed: ${JSON.stringify(await pq.failures('p1'))}`);
      return p.done === 1;
    });

    const promoted = connect(replica);
    expect(((await promoted.call('ROLE')) as unknown[])[0]).toBe('master');
    // The other master is told the new owner up to 20 ms after the job ends (OwnerAnnouncer groups
    // them), or learns it by gossip, so the views are awaited. (1 run in 21 failed while they were
    // asserted at once; its output was not kept, and this race is the likeliest cause.)
    const views = [a, b, replica].map((n) => ({ n, r: connect(n) }));
    const viewOf = async (r: Redis) => {
      const lines = parseClusterNodes(await r.call('CLUSTER', 'NODES'));
      const mine = lines.find((l) => l.myself)!;
      return {
        owner: lines.find((l) => l.slots.some((x) => x.start <= slot && slot <= x.end))?.id,
        open: [...mine.migrating, ...mine.importing],
      };
    };
    await waitFor('every node to see the promoted replica own the slot', 5_000, async () => {
      for (const { r } of views) if ((await viewOf(r)).owner !== replica.id) return false;
      return true;
    });
    for (const { n, r } of views)
      expect(await viewOf(r), `${n.port}'s view`).toEqual({ owner: replica.id, open: [] });
    for (const k of keys) expect(await promoted.get(k), k).toBe(`v-${k}`);
  }, 90_000);
});
