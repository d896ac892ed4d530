import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  BIN,
  expectSettled,
  loadStrings,
  missingLoadedKeys,
  runCli,
  waitForPlanProgress,
  withClusterAndQueue,
} from '../../harness/index.js';

describe('slotshift worker: stopping', () => {
  it('a SIGTERM whose slots in flight cannot finish exits 1 after --stop-timeout, naming the fix', async () => {
    await withClusterAndQueue({ masters: 2, emptyMasters: 1 }, async (cluster, queue) => {
      await loadStrings(cluster, { keys: 20_000, prefix: 'wst' });
      const worker = spawn(
        process.execPath,
        [
          BIN,
          'worker',
          '--queue',
          queue.url,
          '--concurrency',
          '4',
          '--group-slots',
          '2',
          '--stop-timeout',
          '3',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SLOTSHIFT_LOG_LEVEL: 'info' } },
      );
      let stderr = '';
      worker.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => worker.once('exit', resolve));
      const args = [
        ...['apply', '--seed', cluster.seeds[0]!, '--use-empty-masters', '--queue', queue.url, '--yes'],
        ...['--max-moves', '400'],
      ];
      // Only enqueues and follows; the worker moves the slots.
      const follower = spawn(process.execPath, [BIN, ...args, '--no-workers'], { stdio: 'ignore' });
      const followerGone = new Promise((resolve) => follower.once('exit', resolve));
      try {
        await waitForPlanProgress(queue.url, 20);
        // The target stops taking writes, so the slots in flight cannot finish.
        const target = cluster.nodes.find((n) => n.kind === 'empty')!;
        const rt = cluster.connect(target);
        await rt.call('CLIENT', 'PAUSE', '15000', 'WRITE');
        const signalled = Date.now();
        worker.kill('SIGTERM');
        const code = await exited;
        const took = Date.now() - signalled;
        await rt.call('CLIENT', 'UNPAUSE');
        rt.disconnect();
        expect(code, stderr.slice(-2000)).toBe(1);
        // On its own, well before the pause ends and the slots could finish.
        expect(took).toBeGreaterThanOrEqual(3000);
        expect(took).toBeLessThan(10_000);
        expect(stderr).toContain(
          'stopping took longer than --stop-timeout 3 s (slots in flight not finishing, or the cluster or queue not answering); slots in flight may be left open: `slotshift fix --seed HOST:PORT` (a node of their cluster) closes them',
        );
      } finally {
        worker.kill('SIGKILL');
        // It would wait for slots no worker moves any more: the plan is resumed below instead.
        follower.kill('SIGKILL');
        await followerGone;
      }
      const fix = await runCli(['fix', '--seed', cluster.seeds[0]!, '--yes']);
      expect(fix.code, fix.stdout + fix.stderr).toBe(0);
      const again = await runCli(args, { SLOTSHIFT_LOG_LEVEL: 'warn' });
      expect(again.code, again.stdout + again.stderr).toBe(0);
      await expectSettled(cluster);
      expect(await missingLoadedKeys(cluster, 'wst', 20_000)).toEqual([]);
    });
  });
});
