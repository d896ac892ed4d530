import { describe, expect, it } from 'vitest';
import type { DaemonStatus } from '../../../src/daemon/index.js';
import {
  expectSettled,
  forwardPort,
  freePorts,
  loadStrings,
  missingLoadedKeys,
  startLocalCluster,
  startLocalRedis,
} from '../../harness/index.js';
import { capturedLog, daemonOn, getJson, queueName, tempDir, waitFor, writePlan } from './helpers.js';

/**
 * The queue Redis restarts without persistence while the daemon moves a plan: seen through a TCP
 * forwarder switched from the queue Redis to an empty one. Before, the daemon re-planned without a
 * word and logged BullMQ's "Missing key for job" at error level, with its stack, for each slot in flight.
 */
describe('slotshift daemon: a queue Redis back without its data', () => {
  it('says so, plans the rest from the cluster and balances it: nothing lost, nothing left open', async () => {
    const cluster = await startLocalCluster({ masters: 2, emptyMasters: 1 });
    const queue = await startLocalRedis();
    const blank = await startLocalRedis();
    const [port] = await freePorts(1);
    let proxy = await forwardPort(port!, queue.port);
    try {
      await loadStrings(cluster, { keys: 20_000, prefix: 'dq' });
      const dir = tempDir();
      const empty = cluster.nodes.find((n) => n.kind === 'empty')!;
      // About 1,100 slots for the empty master, so the plan after the loss takes seconds, not 25 s.
      writePlan(dir, 'scale-out', `useEmptyMasters: true\nweights: { '${empty.addr}': 0.15 }`);
      const { log, logged } = capturedLog();
      const daemon = await daemonOn(cluster, `redis://127.0.0.1:${port}`, {
        plans: dir,
        queueName: queueName(),
        // Two slots at a time, so the plan is caught in the middle.
        workers: { concurrency: 2, perNodeLimit: 2 },
        log,
      });
      try {
        const first = await waitFor('slots moving', async () => {
          const s = await getJson<DaemonStatus>(daemon.httpAddress, '/status');
          return s.plan && s.plan.done >= 50 ? s.plan : undefined;
        });
        await proxy.close();
        proxy = await forwardPort(port!, blank.port);
        const done = await waitFor(
          'the cluster balanced',
          async () => {
            const s = await getJson<DaemonStatus>(daemon.httpAddress, '/status');
            return s.state === 'idle' && s.plan?.finished ? s : undefined;
          },
          120_000,
          250,
        );
        // A new plan, for what the first had not moved.
        expect(done.plan!.planId).not.toBe(first.planId);
        expect(done.plan!.total).toBeLessThan(first.total);
        expect(done.plan).toMatchObject({ failed: 0, cancelled: 0 });
        expect(done.plan!.done).toBe(done.plan!.total);
        const lostLine = logged.find((l) => l.msg.startsWith('the queue Redis no longer holds the plan'));
        expect(lostLine).toMatchObject({ level: 40, planId: first.planId });
        const enqueued = logged.filter((l) => l.msg === 'plan enqueued').map((l) => l['planId']);
        expect(enqueued).toEqual([first.planId, done.plan!.planId]);
        expect(logged.indexOf(lostLine!)).toBeLessThan(
          logged.findIndex((l) => l.msg === 'plan enqueued' && l['planId'] === done.plan!.planId),
        );
        // BullMQ's complaints about the vanished jobs are warnings naming the job, not errors.
        const errors = logged.filter((l) => l.level >= 50);
        expect(
          errors.map((l) => l.msg),
          JSON.stringify(errors).slice(0, 3000),
        ).toEqual([]);
      } finally {
        await daemon.stop();
      }
      await expectSettled(cluster);
      expect(await missingLoadedKeys(cluster, 'dq', 20_000)).toEqual([]);
    } finally {
      await proxy.close();
      await blank.stop();
      await queue.stop();
      await cluster.stop();
    }
  }, 180_000);
});
