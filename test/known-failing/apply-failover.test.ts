import { describe, expect, it } from 'vitest';
import {
  expectSettled,
  loadStrings,
  missingLoadedKeys,
  runCli,
  startTraffic,
  topologyOf,
  waitForPlanProgress,
  withClusterAndQueue,
} from '../harness/index.js';

/**
 * KNOWN FAILING, kept out of `npm test` (run it with `npm run test:known-failing`).
 * In 13 runs after MIGRATE's timeout was capped at half the node timeout, every run completed the
 * plan with nothing lost and no slot open, but in about half the failover was undone: the old target, which
 * had not yet heard of it, took a slot (SETSLOT NODE is not paused by a manual failover), bumped its
 * epoch and won its slots back, so the promoted replica ended a replica again. The failover guard
 * (src/migrate/failover-guard.ts) asks the replicas first, but the window between that check and
 * the promotion remains. Before the cap, a source blocked by MIGRATE towards the paused target was
 * itself failed over by its replica, and about half the runs left slots open.
 */
describe('apply while a target master fails over', () => {
  it('moves the rest of its slots to the promoted replica; nothing lost, nothing left open', async () => {
    await withClusterAndQueue(
      { masters: 3, emptyMasters: 3, replicasPerMaster: 1, replicateEmptyMasters: true },
      async (cluster, queue) => {
        await loadStrings(cluster, { keys: 40_000, prefix: 'fo' });
        const seed = cluster.nodes.find((n) => n.kind === 'master')!;
        const traffic = startTraffic({ host: seed.host, port: seed.port }, 'fotraffic');
        // Small groups and few slots at a time, so the plan is still running when the failover lands.
        const apply = runCli(
          [
            'apply',
            '--seed',
            cluster.seeds[0]!,
            '--use-empty-masters',
            '--queue',
            queue.url,
            '--yes',
            '--concurrency',
            '8',
            '--per-node',
            '4',
            '--group-slots',
            '4',
          ],
          { SLOTSHIFT_LOG_LEVEL: 'warn' },
        );
        await waitForPlanProgress(queue.url, 300);
        const target = cluster.nodes.find((n) => n.kind === 'empty')!;
        const replica = cluster.nodes.find((n) => n.kind === 'replica' && n.masterId === target.id)!;
        const r = cluster.connect(replica);
        expect(await r.call('CLUSTER', 'FAILOVER')).toBe('OK');
        r.disconnect();

        const result = await apply;
        const report = await traffic.stop();
        expect(result.stderr).not.toMatch(/"level":(50|60)/);
        expect(result.code, result.stdout + result.stderr.slice(-3000)).toBe(0);
        const t = await expectSettled(cluster);
        expect(await missingLoadedKeys(cluster, 'fo', 40_000)).toEqual([]);
        expect(report.lost).toEqual([]);
        expect(report.vanished).toEqual([]);

        // The promoted replica owns what the old target had taken plus the rest of its share; the
        // old target owns nothing (Redis makes it a replica of the new master, or leaves it an empty
        // master when it lost its slots before hearing of the failover).
        const promoted = t.nodes.find((n) => n.id === replica.id)!;
        expect(promoted.role).toBe('master');
        const owned = (id: string): number => t.owners.filter((o) => o === id).length;
        expect(owned(target.id)).toBe(0);
        expect(owned(replica.id)).toBeGreaterThan(2600);
        const after = await topologyOf(cluster);
        expect(after.owners).toEqual(t.owners);
      },
    );
  }, 180_000);
});
