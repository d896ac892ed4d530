import { Redis } from 'ioredis';
import { describe, it } from 'vitest';
import { PlanQueue, planKeys } from '../../../src/queue/index.js';
import { useRedis } from '../../harness/index.js';
import { expectServedByHeir, orphanASlot, plannedMasters } from '../../harness/orphaned-slot.js';
import { daemonOn, queueName, tempDir } from './helpers.js';

describe('slotshift daemon: after a plan finished', () => {
  it('gives the slots a dead target kept to the replica elected in its place', async () => {
    // No job of a finished plan is left to retry and notice the outage: the daemon's round must.
    const o = await orphanASlot('orphd');
    const queue = await useRedis();
    const name = queueName();
    const planId = 'finished-plan';
    const planQueue = new PlanQueue(queue.url, name);
    await planQueue.setCurrentPlan(planId, 0, '{}');
    await planQueue.close();
    const redis = new Redis(queue.url);
    await redis.set(planKeys(name, planId).masters, JSON.stringify(plannedMasters(o)));
    redis.disconnect();

    const daemon = await daemonOn(o.cluster, queue.url, {
      plans: tempDir(),
      queueName: name,
      seeds: [{ host: o.a.host, port: o.a.port }],
    });
    try {
      await expectServedByHeir(o);
    } finally {
      await daemon.stop();
    }
  }, 90_000);
});
