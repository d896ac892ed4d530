import { UnrecoverableError, Worker } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { PlanQueue, slotJobId, type SlotJobData, type SlotJobResult } from '../../../src/queue/index.js';
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

  it('enqueueing again replaces the failed and the cancelled jobs and leaves the moved ones', async () => {
    const redis = await useRedis();
    const q = new PlanQueue(redis.url, 'again');
    const outcome = (slot: number, o: SlotJobResult['outcome']): SlotJobResult => ({
      slot,
      outcome: o,
      keys: 0,
      batches: 0,
      durationMs: 0,
      bigKeys: [],
    });
    const worker = new Worker<SlotJobData, SlotJobResult>(
      'again',
      (job) => {
        if (job.data.slot === 1) return Promise.resolve(outcome(1, 'moved'));
        if (job.data.slot === 2) return Promise.resolve(outcome(2, 'cancelled'));
        return Promise.reject(new UnrecoverableError('stale plan'));
      },
      { connection: { host: redis.host, port: redis.port } },
    );
    try {
      await q.enqueue(jobsOf('p', [1, 2, 3]), [endpoint(1), endpoint(2)]);
      for (let i = 0; i < 200; i++) {
        const c = await q.queue.getJobCounts('completed', 'failed');
        if (c['completed'] === 2 && c['failed'] === 1) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      await worker.close();
      expect(await q.queue.getJobCounts('completed', 'failed')).toEqual({ completed: 2, failed: 1 });

      await q.enqueue(jobsOf('p', [1, 2, 3]), [endpoint(1), endpoint(2)]);
      const waiting = (await q.queue.getJobs(['waiting'])).map((j) => j.id).sort();
      expect(waiting).toEqual([slotJobId('p', 2), slotJobId('p', 3)]);
      expect((await q.queue.getJobs(['completed'])).map((j) => j.id)).toEqual([slotJobId('p', 1)]);
    } finally {
      await worker.close();
      await q.close();
    }
  });
});
