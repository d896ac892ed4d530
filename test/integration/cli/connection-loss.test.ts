import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import {
  expectSettled,
  loadStrings,
  missingLoadedKeys,
  runCli,
  waitForPlanProgress,
  withClusterAndQueue,
} from '../../harness/index.js';

describe('apply when connections to the nodes drop', () => {
  it('reconnects and finishes every slot: nothing lost, nothing left open', async () => {
    await withClusterAndQueue({ masters: 2, emptyMasters: 1 }, async (cluster, queue) => {
      await loadStrings(cluster, { keys: 40_000, prefix: 'cl' });
      const apply = runCli(
        [
          ...['apply', '--seed', cluster.seeds[0]!, '--use-empty-masters', '--max-moves', '1500'],
          ...['--queue', queue.url, '--yes', '--concurrency', '8', '--group-slots', '4'],
        ],
        { SLOTSHIFT_LOG_LEVEL: 'warn' },
      );
      await waitForPlanProgress(queue.url, 50);
      // Every node and the queue Redis drop every client connection (slotshift's, BullMQ's, and the
      // sources' MIGRATE links to the targets) ten times, 150 ms apart, while slots move.
      const admins = [...cluster.nodes.map((n) => cluster.connect(n)), new Redis(queue.url)];
      let killed = 0;
      try {
        for (let round = 0; round < 10; round++) {
          const counts = await Promise.all(
            admins.map((r) => r.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes')),
          );
          killed += counts.reduce<number>((a, b) => a + Number(b), 0);
          await new Promise((r) => setTimeout(r, 150));
        }
      } finally {
        for (const r of admins) r.disconnect();
      }
      const r = await apply;
      expect(killed, 'no connection was there to drop').toBeGreaterThan(10);
      expect(r.code, r.stdout + r.stderr.slice(-3000)).toBe(0);
      expect(r.stdout).toContain('1,500 of 1,500 slots moved');
      expect(r.stdout).toContain('0 mismatches');
      await expectSettled(cluster);
      expect(await missingLoadedKeys(cluster, 'cl', 40_000)).toEqual([]);
      // The keyspace-event setting verification turned on is back to the servers' own (empty), though
      // the connection that changed it was dropped.
      for (const n of cluster.nodes) {
        const r2 = cluster.connect(n);
        expect(await r2.call('CONFIG', 'GET', 'notify-keyspace-events')).toEqual([
          'notify-keyspace-events',
          '',
        ]);
        r2.disconnect();
      }
    });
  });
});
