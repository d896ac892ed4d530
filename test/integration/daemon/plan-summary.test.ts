import { describe, expect, it } from 'vitest';
import type { DaemonStatus } from '../../../src/daemon/index.js';
import { loadStrings, startLocalCluster, startLocalRedis } from '../../harness/index.js';
import { capturedLog, daemonOn, getJson, queueName, tempDir, waitFor, writePlan } from './helpers.js';

/**
 * The daemon logs `plan finished: N of M slots moved ...` once for each plan it enqueued. It used to
 * start following a plan only when a later round saw it unfinished, so a plan that finished before
 * that round (a small one, a fast machine) was never summarised: CI at a7c2719 lost the window
 * test's last summary that way.
 */
describe('slotshift daemon: plan summary', () => {
  it('logs the summary of a plan that finished before the next round saw it running', async () => {
    const cluster = await startLocalCluster({ masters: 2, emptyMasters: 1 });
    const queue = await startLocalRedis();
    try {
      await loadStrings(cluster, { keys: 2_000, prefix: 'sum' });
      const empty = cluster.nodes.find((n) => n.kind === 'empty')!;
      const dir = tempDir();
      writePlan(dir, 'small', `useEmptyMasters: true\nweights: { '${empty.addr}': 0.05 }`);
      const { log, logged } = capturedLog();
      // No round after the first unless the test asks for one (tick).
      const daemon = await daemonOn(cluster, queue.url, {
        plans: dir,
        queueName: queueName(),
        tickMs: 3_600_000,
        log,
      });
      try {
        const finished = await waitFor('the plan to finish', async () => {
          const s = await getJson<DaemonStatus>(daemon.httpAddress, '/status');
          return s.plan?.finished ? s.plan : undefined;
        });
        expect(logged.filter((l) => l.msg === 'plan enqueued')).toHaveLength(1);
        await daemon.tick();
        const summary = logged.find((l) => l.msg.startsWith('plan finished: '));
        expect(summary, logged.map((l) => l.msg).join('\n')).toMatchObject({
          planId: finished.planId,
          moved: finished.total,
          total: finished.total,
          failed: 0,
        });
      } finally {
        await daemon.stop();
      }
    } finally {
      await cluster.stop();
      await queue.stop();
    }
  }, 60_000);
});
