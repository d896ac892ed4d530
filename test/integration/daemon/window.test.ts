import { describe, expect, it } from 'vitest';
import { masters, slotCount } from '../../../src/cluster/index.js';
import type { DaemonStatus } from '../../../src/daemon/index.js';
import { DEFAULT_MOVE_SETTINGS, migratorOptionsFor } from '../../../src/migrate/index.js';
import {
  expectSettled,
  loadStrings,
  missingLoadedKeys,
  startLocalCluster,
  startLocalRedis,
} from '../../harness/index.js';
import { capturedLog, daemonOn, getJson, queueName, tempDir, waitFor, writePlan } from './helpers.js';

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
          `weights: { '${empty.addr}': 0.15 }`,
          'limits: { maxPerNode: 1, latencyBudgetMs: 5 }',
          "window: { cron: '*/6 * * * * *', duration: 3s, timezone: UTC }",
        ].join('\n'),
      );
      // The daemon's log at info, as an operator reads it.
      const { log, logged } = capturedLog();
      const daemon = await daemonOn(cluster, queue.url, {
        plans: dir,
        queueName: queueName(),
        workers: { concurrency: 1, perNodeLimit: 1 },
        // The config's budget, which the plan file's (5 ms, the default, so the pace of this test
        // stays the one it was tuned for) replaces.
        migrator: migratorOptionsFor({ ...DEFAULT_MOVE_SETTINGS, latencyBudgetMs: 3 }),
        log,
      });
      let finalPlan = { planId: '', total: 0, done: 0, cancelled: 0 };
      try {
        // The first window opens and the plan is enqueued.
        const { enqueued, asked } = await waitFor('a plan enqueued', async () => {
          const asked = Date.now();
          const s = await getJson<DaemonStatus>(daemon.httpAddress, '/status');
          return s.state === 'enqueued' && s.plan ? { enqueued: s, asked } : undefined;
        });
        expect(enqueued.plan!.planId).toBeTruthy();
        // While the window is open /status says when it closes and when it opens next, both ahead
        // of the moment it was asked (nextOpen was the instant of the last round, already past).
        const w = enqueued.windows[0]!;
        expect(Date.parse(w.nextOpen!)).toBeGreaterThan(asked);
        if (w.open) expect(Date.parse(w.closesAt!)).toBeGreaterThan(asked);
        // The plan file's latency budget (5 ms), not the config's (3 ms), and the log says which.
        expect(logged.find((l) => l.msg === 'plan enqueued')).toMatchObject({
          latencyBudgetMs: 5,
          latencyBudgetFrom: 'plan file',
        });
        const moving = await waitFor('the workers to take the plan', () =>
          logged.find((l) => l.msg === "moving the plan's slots with its latency budget"),
        );
        expect(moving).toMatchObject({ latencyBudgetMs: 5, latencyBudgetFrom: 'plan file' });
        // The window closes before the plan is done: remaining slots are cancelled, in-flight ones finish.
        const closed = await waitFor('the window to close mid-plan', async () => {
          const s = await getJson<DaemonStatus>(daemon.httpAddress, '/status');
          // /status reads the windows at the time asked and the state from the last round: in the
          // moment between a window's next start and the round that start wakes, they differ.
          return s.state === 'waiting-window' && s.windows[0]?.open === false ? s : undefined;
        });
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

        // Later windows re-plan from the live cluster until it is balanced: a round in an open
        // window finds nothing to move (idle). The last plan may itself have been cut by a window,
        // when the cut left the cluster within the threshold (waiting for a plan with nothing
        // cancelled timed out in 1 of 4 runs).
        const done = await waitFor(
          'the cluster to reach its plan',
          async () => {
            const s = await getJson<DaemonStatus>(daemon.httpAddress, '/status');
            return s.state === 'idle' && s.windows[0]?.open && s.plan?.finished ? s : undefined;
          },
          90_000,
          250,
        );
        expect(done.plan!.planId).not.toBe(p.planId);
        finalPlan = done.plan!;
        // The summary is logged by the round after the plan finished.
        await daemon.tick();
      } finally {
        await daemon.stop();
      }
      expect(daemon.state()).toBe('stopped');
      // The log: the next window at start-up, each opening, one line per close (with the count of
      // slots it skipped, not a line per slot), and a summary of the plan that finished.
      const msgs = logged.map((l) => l.msg);
      expect(msgs.filter((m) => /^window (open until|closed; next opens) /.test(m))).toHaveLength(1);
      expect(msgs.filter((m) => m.startsWith('window opened; closes ')).length).toBeGreaterThan(0);
      const closes = logged.filter((l) => l.msg.startsWith('window closed: slots not yet started'));
      expect(closes.length).toBeGreaterThan(0);
      expect(closes.some((l) => (l['cancelled'] as number) > 0)).toBe(true);
      expect(msgs).not.toContain('plan cancelled; slot left where it is');
      // Every plan the daemon made from the file, in every window.
      const enqueuedLines = logged.filter((l) => l.msg === 'plan enqueued');
      expect(enqueuedLines.length).toBeGreaterThan(0);
      for (const l of enqueuedLines)
        expect(l).toMatchObject({ latencyBudgetMs: 5, latencyBudgetFrom: 'plan file' });
      const moving = logged.filter((l) => l.msg === "moving the plan's slots with its latency budget");
      expect(moving.length).toBeGreaterThan(0);
      for (const l of moving) expect(l).toMatchObject({ latencyBudgetMs: 5, latencyBudgetFrom: 'plan file' });
      const finished = logged.find(
        (l) => l['planId'] === finalPlan.planId && l.msg.startsWith('plan finished: '),
      );
      expect(finished).toMatchObject({
        moved: finalPlan.done,
        total: finalPlan.total,
        cancelled: finalPlan.cancelled,
        failed: 0,
        mismatches: 0,
      });
      expect(finalPlan.done).toBeGreaterThan(0);
      expect(finished!.msg).toContain(`${finalPlan.done} of ${finalPlan.total} slots moved`);
      const t = await expectSettled(cluster);
      const share = slotCount(masters(t).find((m) => m.addr === empty.addr)!.slots);
      // weight 0.15 of 3.15: about 780 slots, within the 2% threshold band. (0.3 until 2026-11-27:
      // twice the slots, and 65 s of a CI run, for the same behaviour.)
      expect(share).toBeGreaterThan(740);
      expect(await missingLoadedKeys(cluster, 'win', KEYS)).toEqual([]);
      console.log(`window test: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } finally {
      await cluster.stop();
      await queue.stop();
    }
  }, 150_000);
});
