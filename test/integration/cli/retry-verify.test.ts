import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { planKeys, type SlotJobData } from '../../../src/queue/index.js';
import { loadStrings, runCli, withClusterAndQueue } from '../../harness/index.js';

/** `apply` of 20 moves, one slot at a time and each alone, so the first slot is the one a fault hits. */
function oneSlotAtATime(seed: string, queueUrl: string): string[] {
  return [
    ...['apply', '--seed', seed, '--use-empty-masters', '--max-moves', '20', '--queue', queueUrl, '--yes'],
    ...['--concurrency', '1', '--group-slots', '1'],
  ];
}

describe('a slot retried after its keys moved', () => {
  it('verifies the keys the failed attempt moved: one deleted in between is reported missing', async () => {
    await withClusterAndQueue({ masters: 2, emptyMasters: 1 }, async (cluster, queue) => {
      // About 6 keys per slot, so the slot that fails holds keys.
      await loadStrings(cluster, { keys: 100_000, prefix: 'rv' });
      const apply = runCli(
        oneSlotAtATime(cluster.seeds[0]!, queue.url),
        // The first slot fails once right after SETSLOT NODE on the target: its keys have moved.
        { SLOTSHIFT_FAULT: 'after-node-target:1:throw' },
      );
      // While the failed job waits for its retry (500 ms), a key it moved disappears from the target.
      const q = new Queue<SlotJobData>('slotshift', { connection: { url: queue.url } });
      let lost: { slot: number; key: string } | null = null;
      try {
        for (let i = 0; i < 1500 && !lost; i++) {
          const [failed] = (await q.getJobs(['delayed', 'wait'])).filter((j) => j.attemptsMade > 0);
          if (failed) {
            const target = cluster.connect(cluster.nodes.find((n) => n.id === failed.data.to.id)!);
            const [key] = (await target.call(
              'CLUSTER',
              'GETKEYSINSLOT',
              String(failed.data.slot),
              '1',
            )) as string[];
            expect(key, `slot ${failed.data.slot} has no key on its target`).toBeDefined();
            await target.del(key!);
            target.disconnect();
            lost = { slot: failed.data.slot, key: key! };
          } else await new Promise((r) => setTimeout(r, 10));
        }
      } finally {
        await q.close();
      }
      expect(lost, 'no slot failed: the fault did not fire').not.toBeNull();
      const r = await apply;
      expect(r.stderr).toContain('injected fault at after-node-target');
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(
        `MISMATCH slot ${lost!.slot}: key ${JSON.stringify(lost!.key)} missing on the target`,
      );
    });
  }, 120_000);

  /**
   * apply dies right after the first slot's SETSLOT NODE on the target (its keys have moved and no
   * catch block ran); `meanwhile` may rewrite the queue; one of the slot's keys disappears from the
   * target; the re-run must name that key.
   */
  async function killedMoveIsVerified(
    prefix: string,
    meanwhile: (data: SlotJobData, queueRedis: Redis) => Promise<void> = async () => {},
  ): Promise<void> {
    await withClusterAndQueue({ masters: 2, emptyMasters: 1 }, async (cluster, queue) => {
      await loadStrings(cluster, { keys: 100_000, prefix });
      const args = oneSlotAtATime(cluster.seeds[0]!, queue.url);
      const killed = await runCli(args, {
        SLOTSHIFT_FAULT: 'after-node-target:1',
        SLOTSHIFT_LOG_LEVEL: 'warn',
      });
      expect(killed.code).not.toBe(0);
      const q = new Queue<SlotJobData>('slotshift', { connection: { url: queue.url } });
      const qr = new Redis(queue.url);
      let lost: { slot: number; key: string };
      try {
        const [interrupted] = await q.getJobs(['active']);
        expect(interrupted, 'no slot was in flight when the process died').toBeDefined();
        await meanwhile(interrupted!.data, qr);
        const { slot, to } = interrupted!.data;
        const target = cluster.connect(cluster.nodes.find((n) => n.id === to.id)!);
        const [key] = (await target.call('CLUSTER', 'GETKEYSINSLOT', String(slot), '1')) as string[];
        expect(key, `slot ${slot} has no key on its target`).toBeDefined();
        await target.del(key!);
        target.disconnect();
        lost = { slot, key: key! };
      } finally {
        await q.close();
        qr.disconnect();
      }
      const resumed = await runCli(args, { SLOTSHIFT_LOG_LEVEL: 'warn' });
      expect(resumed.stdout).toContain('resuming unfinished plan');
      expect(resumed.code).toBe(1);
      expect(resumed.stdout).toContain(
        `MISMATCH slot ${lost.slot}: key ${JSON.stringify(lost.key)} missing on the target`,
      );
    });
  }

  it('verifies the keys moved before a kill -9: one deleted before the re-run is reported missing', async () => {
    await killedMoveIsVerified('rk');
  }, 120_000);

  it("verifies the moved keys an earlier build kept (a hash per slot) when it resumes that build's plan", async () => {
    await killedMoveIsVerified('rl', async ({ slot, planId }, qr) => {
      // Rewrite what this build kept as builds before 30682ac kept it: one hash per slot, key → digest.
      const keys = planKeys('slotshift', planId);
      const batches = await qr.lrange(`${keys.moved}:${slot}`, 0, -1);
      const pairs = batches.flatMap((json) => JSON.parse(json) as Array<[string, string]>);
      expect(pairs.length, 'the killed attempt kept no digests').toBeGreaterThan(0);
      await qr.del(`${keys.moved}:${slot}`);
      await qr.hset(`${keys.legacyMoved}:${slot}`, Object.fromEntries(pairs));
    });
  }, 120_000);
});
