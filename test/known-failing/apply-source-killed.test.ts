import { describe, expect, it } from 'vitest';
import {
  expectSettled,
  loadStrings,
  missingLoadedKeys,
  runCli,
  startTraffic,
  waitForPlanProgress,
  withClusterAndQueue,
} from '../harness/index.js';

/**
 * A source master killed with SIGKILL while apply runs: its replica is elected after the node
 * timeout (3 s here), with no failover pause for a close to wait on, and the dead master stays in
 * every peer's table as a failed master with no slots (not a replica of the new one).
 * 2026-11-26: before currentEndpoints followed a failed source to the slot's new owner, 2,576 slots
 * failed (every retry dialled the dead node) and apply exited 1; with it, see the note in the README
 * (safety rules) for the runs so far.
 */
describe('apply while a source master is killed', () => {
  it('moves the rest of its slots from the elected replica; no loaded key lost, nothing left open', async () => {
    await withClusterAndQueue(
      { masters: 3, emptyMasters: 3, replicasPerMaster: 1, replicateEmptyMasters: true },
      async (cluster, queue) => {
        await loadStrings(cluster, { keys: 40_000, prefix: 'sk' });
        // Every loaded key on the replicas before anything is killed: a write lost by the kill itself
        // (replication is asynchronous) is Redis's loss, not the move's, so only these are checked.
        for (const m of cluster.nodes.filter((n) => n.kind === 'master')) {
          const r = cluster.connect(m);
          expect(await r.call('WAIT', '1', '5000')).toBe(1);
          r.disconnect();
        }
        const seed = cluster.nodes.find((n) => n.kind === 'master')!;
        const traffic = startTraffic({ host: seed.host, port: seed.port }, 'sktraffic');
        const apply = runCli(
          [
            ...['apply', '--seed', cluster.seeds[0]!, '--use-empty-masters', '--queue', queue.url, '--yes'],
            ...['--concurrency', '8', '--per-node', '4', '--group-slots', '4'],
          ],
          { SLOTSHIFT_LOG_LEVEL: 'info' },
          150_000,
        );
        await waitForPlanProgress(queue.url, 300);
        const source = cluster.nodes.filter((n) => n.kind === 'master')[1]!;
        const replica = cluster.nodes.find((n) => n.kind === 'replica' && n.masterId === source.id)!;
        cluster.kill(source);
        const result = await apply;
        // Client errors while the dead master's slots have no master are expected; a client that
        // never recovers would hang here instead.
        await traffic.stop().catch(() => undefined);
        expect(result.code, result.stdout + result.stderr.slice(-3000)).toBe(0);
        expect(result.stdout).toMatch(/(\d+) of \1 slots moved/);
        expect(result.stderr).toContain('a node failed over; moving slots with its new master');
        const t = await expectSettled(cluster);
        expect(t.nodes.find((n) => n.id === replica.id)!.role).toBe('master');
        expect(t.owners.filter((o) => o === source.id)).toEqual([]);
        expect(await missingLoadedKeys(cluster, 'sk', 40_000)).toEqual([]);
      },
    );
  }, 240_000);
});
