import { describe, expect, it } from 'vitest';
import { masters, slotCount } from '../../../src/cluster/index.js';
import type { DaemonStatus } from '../../../src/daemon/index.js';
import {
  expectSettled,
  loadStrings,
  missingLoadedKeys,
  startLocalCluster,
  startLocalRedis,
} from '../../harness/index.js';
import { daemonOn, getJson, queueName, tempDir, waitFor, writePlan } from './helpers.js';

const KEYS = 100_000;

describe('slotshift daemon: schedule windows', () => {
  it('stops starting slots when the window closes, leaves none open, and finishes in a later window', async () => {
    const cluster = await startLocalCluster({ masters: 3, emptyMasters: 1 });
    const queue = await startLocalRedis();
    const started = Date.now();
    try {
      await loadStrings(cluster, { keys: KEYS, prefix: 'win' });
      const empty = cluster.nodes.find((n) => n.kind === 'empty')!;
      const dir = tempDir();
      writePlan(
        dir,
        'scale-out',
        [
          'useEmptyMasters: true',
          `weights: { '${empty.addr}': 0.3 }`,
          'limits: { maxPerNode: 1 }',
          "window: { cron: '*/6 * * * * *', duration: 3s, timezone: UTC }",
        ].join('\n'),
      );
      const daemon = await daemonOn(cluster, queue.url, {
        plans: dir,
        queueName: queueName(),
        workers: { concurrency: 1, perNodeLimit: 1 },
      });
      try {
        // The first window opens and the plan is enqueued.
        const enqueued = await waitFor('a plan enqueued', async () => {
          const s = await getJson<DaemonStatus>(daemon.httpAddress, '/status');
          return s.state === 'enqueued' && s.plan ? s : undefined;
        });
        expect(enqueued.plan!.planId).toBeTruthy();
        // The window closes before the plan is done: remaining slots are cancelled, in-flight ones finish.
        const closed = await waitFor('the window to close mid-plan', async () => {
          const s = await getJson<DaemonStatus>(daemon.httpAddress, '/status');
          return s.state === 'waiting-window' ? s : undefined;
        });
        expect(closed.windows[0]!.open).toBe(false);
        // The plan cut by the window is the first one, or, when that one finished early in a fast
        // run, the plan the daemon made next within the same window.
        const p = closed.plan!;
        expect(p.planId).toBeTruthy();
        expect(p.finished).toBe(true);
        expect(p.done).toBeGreaterThan(0);
        expect(p.done).toBeLessThan(p.total);
        expect(p.cancelled).toBeGreaterThan(0);
        await expectSettled(cluster);
        // Nothing starts while the window stays closed.
        const moved = (await daemon.metrics.slotsMoved.get()).values[0]!.value;
        const closesUntil = Date.parse(closed.windows[0]!.nextOpen!) - 200;
        while (Date.now() < closesUntil) await new Promise((r) => setTimeout(r, 200));
        expect((await daemon.metrics.slotsMoved.get()).values[0]!.value).toBe(moved);

        // Later windows re-plan from the live cluster and finish.
        const done = await waitFor(
          'the cluster to reach its plan',
          async () => {
            const s = await getJson<DaemonStatus>(daemon.httpAddress, '/status');
            const share = s.cluster?.masters.find((m) => m.addr === empty.addr)?.slots ?? 0;
            return s.plan?.finished && s.plan.cancelled === 0 && share > 0 ? s : undefined;
          },
          90_000,
          250,
        );
        expect(done.plan!.planId).not.toBe(p.planId);
      } finally {
        await daemon.stop();
      }
      expect(daemon.state()).toBe('stopped');
      const t = await expectSettled(cluster);
      const share = slotCount(masters(t).find((m) => m.addr === empty.addr)!.slots);
      // weight 0.3 of 3.3: about 1489 slots, within the 2% threshold band.
      expect(share).toBeGreaterThan(1400);
      expect(await missingLoadedKeys(cluster, 'win', KEYS)).toEqual([]);
      console.log(`window test: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } finally {
      await cluster.stop();
      await queue.stop();
    }
  }, 150_000);
});
