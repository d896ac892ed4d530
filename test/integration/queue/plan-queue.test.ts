import { describe, expect, it } from 'vitest';
import { PlanQueue, slotJobId, type SlotJobData } from '../../../src/queue/index.js';
import { useRedis } from '../../harness/index.js';

const endpoint = (n: number) => ({ id: `${String(n).repeat(40)}`, host: '127.0.0.1', port: 7000 + n });

function jobsOf(planId: string, slots: number[]): SlotJobData[] {
  return slots.map((slot) => ({ planId, slot, from: endpoint(1), to: endpoint(2), keys: 10, bytes: 1000 }));
}

describe('PlanQueue.enqueue', () => {
  it('adds one job per slot, named plan-<planId>-slot-<n>; enqueueing the plan again adds nothing', async () => {
    const redis = await useRedis();
    const q = new PlanQueue(redis.url, 'idem');
    try {
      // No worker runs: every job stays waiting, so a second copy would show in the counts.
      await q.queue.pause();
      const slots = [5, 6, 7, 1000, 16383];
      const jobs = jobsOf('p1', slots);
      await q.enqueue(jobs, [endpoint(1), endpoint(2)]);
      await q.enqueue(jobs, [endpoint(1), endpoint(2)]);
      const counts = await q.queue.getJobCounts('waiting', 'paused', 'active', 'delayed');
      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(slots.length);
      const ids = (await q.queue.getJobs(['waiting', 'paused'])).map((j) => j.id).sort();
      expect(ids).toEqual(slots.map((s) => `plan-p1-slot-${s}`).sort());
      expect(slotJobId('p1', 1000)).toBe('plan-p1-slot-1000');
      // Another plan's slots are other jobs.
      await q.enqueue(jobsOf('p2', [5]), [endpoint(1), endpoint(2)]);
      expect((await q.queue.getJobs(['waiting', 'paused'])).length).toBe(slots.length + 1);
    } finally {
      await q.close();
    }
  });
});
