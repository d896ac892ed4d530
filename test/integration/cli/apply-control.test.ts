import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  expectSettled,
  loadStrings,
  missingLoadedKeys,
  runCli,
  waitForPlanProgress,
  withClusterAndQueue,
} from '../../harness/index.js';

const BIN = join(import.meta.dirname, '..', '..', '..', 'bin', 'slotshift.js');

describe('apply: saved plans, cancel and extra workers', () => {
  it('refuses a saved plan made for another topology, and changes nothing', async () => {
    await withClusterAndQueue({ masters: 2, emptyMasters: 2 }, async (cluster, queue) => {
      const file = join(mkdtempSync(join(tmpdir(), 'slotshift-stale-')), 'plan.json');
      const seed = cluster.seeds[0]!;
      expect((await runCli(['plan', '--seed', seed, '--use-empty-masters', '-o', file])).code).toBe(0);
      // The cluster changes under the saved plan in a way the plan does not explain: redis-cli moves
      // slots between the two old masters.
      const [a, b] = cluster.nodes;
      execFileSync(
        'redis-cli',
        [
          '--cluster',
          'reshard',
          a!.addr,
          '--cluster-from',
          a!.id,
          '--cluster-to',
          b!.id,
          '--cluster-slots',
          '5',
          '--cluster-yes',
        ],
        {
          stdio: 'ignore',
        },
      );
      const before = await expectSettled(cluster);
      const r = await runCli(['apply', '-f', file, '--seed', seed, '--queue', queue.url, '--yes']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/plan \w+ was made for topology .* make a new plan/);
      expect((await expectSettled(cluster)).owners).toEqual(before.owners);
    });
  });

  it('cancel stops a running plan with no slot left open; apply again resumes it', async () => {
    await withClusterAndQueue({ masters: 2, emptyMasters: 1 }, async (cluster, queue) => {
      await loadStrings(cluster, { keys: 60_000, prefix: 'cancel' });
      const args = [
        'apply',
        '--seed',
        cluster.seeds[0]!,
        '--use-empty-masters',
        '--queue',
        queue.url,
        '--yes',
        '--concurrency',
        '2',
      ];
      const first = runCli(args, { SLOTSHIFT_LOG_LEVEL: 'warn' });
      await waitForPlanProgress(queue.url, 20);
      const cancel = await runCli(['cancel', '--queue', queue.url]);
      expect(cancel.code).toBe(0);
      const stopped = await first;
      expect(stopped.code).toBe(1);
      expect(stopped.stdout).toMatch(/cancelled/);
      expect(stopped.stdout).toContain('no slot is left open');
      await expectSettled(cluster);
      const resumed = await runCli(args, { SLOTSHIFT_LOG_LEVEL: 'warn' });
      expect(resumed.stdout).toContain('resuming unfinished plan');
      expect(resumed.code).toBe(0);
      await expectSettled(cluster);
      expect(await missingLoadedKeys(cluster, 'cancel', 60_000)).toEqual([]);
    });
  });

  it('a worker process killed with SIGKILL mid-plan: another worker finishes its slots', async () => {
    await withClusterAndQueue({ masters: 2, emptyMasters: 1 }, async (cluster, queue) => {
      const startWorker = () =>
        spawn(process.execPath, [BIN, 'worker', '--queue', queue.url, '--concurrency', '2'], {
          stdio: 'ignore',
          env: { ...process.env, SLOTSHIFT_LOG_LEVEL: 'warn' },
        });
      const w1 = startWorker();
      const w2 = startWorker();
      try {
        await loadStrings(cluster, { keys: 60_000, prefix: 'wk' });
        const follower = runCli([
          'apply',
          '--seed',
          cluster.seeds[0]!,
          '--use-empty-masters',
          '--queue',
          queue.url,
          '--yes',
          '--no-workers',
        ]);
        await waitForPlanProgress(queue.url, 30);
        w1.kill('SIGKILL');
        const r = await follower;
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/(\d+) of \1 slots moved/);
        await expectSettled(cluster);
        expect(await missingLoadedKeys(cluster, 'wk', 60_000)).toEqual([]);
      } finally {
        w1.kill('SIGKILL');
        w2.kill('SIGTERM');
      }
    });
  });
});
