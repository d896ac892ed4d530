import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  expectSettled,
  loadStrings,
  missingLoadedKeys,
  runCli,
  withClusterAndQueue,
  type LocalCluster,
} from '../../harness/index.js';

const BIN = join(import.meta.dirname, '..', '..', '..', 'bin', 'slotshift.js');

/** Slots a node itself reports open (migrating or importing), from its own line of CLUSTER NODES. */
function openOnNode(clusterNodes: string): number {
  const mine = clusterNodes.split('\n').find((l) => l.includes('myself')) ?? '';
  return (mine.match(/\[\d+-[<>]-/g) ?? []).length;
}

/** Samples every node's open slots until `stop`; returns the most seen on each node at once. */
function sampleOpenSlots(cluster: LocalCluster): { stop: () => Promise<Map<number, number>> } {
  const conns = cluster.nodes.map((n) => ({ port: n.port, r: cluster.connect(n) }));
  const most = new Map<number, number>(conns.map((c) => [c.port, 0]));
  let running = true;
  const loop = (async () => {
    while (running) {
      await Promise.all(
        conns.map(async ({ port, r }) => {
          const open = openOnNode(String(await r.call('CLUSTER', 'NODES')));
          most.set(port, Math.max(most.get(port)!, open));
        }),
      );
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      for (const c of conns) c.r.disconnect();
      return most;
    },
  };
}

describe('the per-node limit', () => {
  it('holds across worker processes: no node is ever in more open slots than --per-node', async () => {
    await withClusterAndQueue({ masters: 2, emptyMasters: 2 }, async (cluster, queue) => {
      await loadStrings(cluster, { keys: 20_000, prefix: 'nl' });
      // Two processes that could open 8 slots at once between them; the limit allows 1 per node.
      const workers = [1, 2].map(() => {
        const child = spawn(
          process.execPath,
          [BIN, 'worker', '--queue', queue.url, '--concurrency', '4', '--per-node', '1', '--nice', '0'],
          { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SLOTSHIFT_LOG_LEVEL: 'info' } },
        );
        let log = '';
        child.stderr.on('data', (d: Buffer) => (log += d.toString()));
        return { child, log: () => log };
      });
      const sampler = sampleOpenSlots(cluster);
      try {
        const r = await runCli([
          ...['apply', '--seed', cluster.seeds[0]!, '--use-empty-masters', '--max-moves', '300'],
          ...['--queue', queue.url, '--yes', '--no-workers'],
        ]);
        expect(r.code, r.stdout + r.stderr).toBe(0);
      } finally {
        const most = await sampler.stop();
        for (const w of workers) w.child.kill('SIGTERM');
        await Promise.all(workers.map((w) => new Promise((resolve) => w.child.once('exit', resolve))));
        // Both processes moved slots, and the sampler saw slots open: the limit was tested, not idle.
        // How the 300 slots split between them is up to scheduling: one moved only 5 in a CI run.
        for (const w of workers) expect(w.log().split('"slot moved"').length - 1).toBeGreaterThan(0);
        expect(Math.max(...most.values())).toBe(1);
      }
      await expectSettled(cluster);
      expect(await missingLoadedKeys(cluster, 'nl', 20_000)).toEqual([]);
    });
  }, 120_000);
});
