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
 * KNOWN FAILING, kept out of `npm test` (run it with `npm run test:known-failing`): about half the
 * runs on this machine end with slots left open between the source and the old target, or with
 * CLUSTERDOWN after the old target turned replica (slots it took just before the failover are then
 * owned by nobody). The failover guard (src/migrate/failover-guard.ts) fixed the worst case, the old
 * target winning its slots back; the rest is open in the migration-engine issue.
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
        // old target follows it and owns nothing.
        const promoted = t.nodes.find((n) => n.id === replica.id)!;
        const demoted = t.nodes.find((n) => n.id === target.id)!;
        expect(promoted.role).toBe('master');
        expect(demoted.role).toBe('replica');
        const owned = (id: string): number => t.owners.filter((o) => o === id).length;
        expect(owned(target.id)).toBe(0);
        expect(owned(replica.id)).toBeGreaterThan(2600);
        const after = await topologyOf(cluster);
        expect(after.owners).toEqual(t.owners);
      },
    );
  }, 180_000);
});
