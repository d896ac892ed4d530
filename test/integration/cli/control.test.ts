import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import {
  BIN,
  expectSettled,
  loadStrings,
  missingLoadedKeys,
  runCli,
  withClusterAndQueue,
} from '../../harness/index.js';

type Progress = { planId: string; total: number; done: number; cancelled: number; paused: boolean };

async function progress(queueUrl: string): Promise<Progress> {
  const r = await runCli(['progress', '--queue', queueUrl, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Progress;
}

async function keysIn(url: string): Promise<number> {
  const r = new Redis(url);
  try {
    return await r.dbsize();
  } finally {
    r.disconnect();
  }
}

describe('the queue URL and the control commands (pause, resume, cancel, progress)', () => {
  it('a queue database the server does not have is refused up front: exit 2, nothing moved or written', async () => {
    await withClusterAndQueue({ masters: 2, emptyMasters: 1 }, async (cluster, queue) => {
      await loadStrings(cluster, { keys: 2_000, prefix: 'db' });
      const before = await expectSettled(cluster);
      const apply = [
        'apply',
        '--seed',
        cluster.seeds[0]!,
        '--use-empty-masters',
        '--max-moves',
        '5',
        '--yes',
      ];
      const where = `127.0.0.1:${queue.port}`;
      const r = await runCli([...apply, '--queue', `${queue.url}/99`]);
      expect(r.stderr).toContain(`--queue: database 99 does not exist on ${where}`);
      expect(r.stderr).toContain('it has databases 0 to 15');
      expect(r.code, r.stdout + r.stderr).toBe(2);
      for (const command of [['progress'], ['worker'], ['pause']]) {
        const c = await runCli([...command, '--queue', `${queue.url}?db=42`]);
        expect(c.stderr).toContain(`--queue: database 42 does not exist on ${where}`);
        expect(c.code).toBe(2);
      }
      const malformed = await runCli([...apply, '--queue', `${queue.url}/three`]);
      expect(malformed.stderr).toContain('"three"');
      expect(malformed.stderr).toContain('is not a database number');
      expect(malformed.code).toBe(2);
      expect((await expectSettled(cluster)).owners).toEqual(before.owners);
      expect(await keysIn(queue.url)).toBe(0);

      // A database the server has is used, and only it.
      const ok = await runCli([...apply, '--queue', `${queue.url}/3`]);
      expect(ok.code, ok.stdout + ok.stderr).toBe(0);
      expect(await keysIn(queue.url)).toBe(0);
      expect(await keysIn(`${queue.url}/3`)).toBeGreaterThan(0);
    });
  });

  it('an unknown --plan is an error naming the plans there; pause does not pause; cancel and resume say what they did', async () => {
    await withClusterAndQueue({ masters: 2, emptyMasters: 1 }, async (cluster, queue) => {
      await loadStrings(cluster, { keys: 5_000, prefix: 'ctl' });
      const apply = [
        ...['apply', '--seed', cluster.seeds[0]!, '--use-empty-masters', '--queue', queue.url, '--yes'],
        ...['--max-moves', '10'],
      ];
      const first = await runCli(apply);
      expect(first.code, first.stdout + first.stderr).toBe(0);
      const planA = (await progress(queue.url)).planId;

      for (const command of ['pause', 'resume', 'cancel', 'progress']) {
        const r = await runCli([command, '--queue', queue.url, '--plan', 'nope']);
        expect(r.stderr).toContain(
          `--plan: no plan nope on queue "slotshift" at ${queue.url}; plans there: ${planA} (latest, 10 slots)`,
        );
        expect(r.stdout).toBe('');
        expect(r.code).toBe(2);
      }
      expect((await progress(queue.url)).paused).toBe(false);
      // The plan by its id, as before.
      const byId = await runCli(['progress', '--queue', queue.url, '--plan', planA]);
      expect(byId.stdout).toContain(`plan ${planA}: 10/10 slots moved`);
      const finished = await runCli(['cancel', '--queue', queue.url]);
      expect(finished.stdout).toContain(`plan ${planA} has no slot waiting to start; nothing to cancel`);
      expect(finished.code).toBe(0);

      // A plan held by a paused queue: cancel says how many waiting slots it skips, resume says so.
      const pause = await runCli(['pause', '--queue', queue.url]);
      expect(pause.stdout).toContain('paused: slots in flight finish, no new slot starts');
      const child = spawn(process.execPath, [BIN, ...apply], { stdio: 'ignore' });
      const exited = new Promise<number | null>((r) => child.once('exit', r));
      try {
        await expect
          .poll(async () => (await progress(queue.url)).planId, { timeout: 30_000 })
          .not.toBe(planA);
        const planB = (await progress(queue.url)).planId;
        const cancel = await runCli(['cancel', '--queue', queue.url]);
        expect(cancel.stdout).toContain(
          `cancelled 10 waiting slots of plan ${planB}; in-flight slots finish`,
        );
        expect(cancel.code).toBe(0);
        const resume = await runCli(['resume', '--queue', queue.url]);
        expect(resume.stdout).toContain('resumed: waiting slots start again');
        expect(resume.code).toBe(0);
        expect(await exited).toBe(1);
        expect(await progress(queue.url)).toMatchObject({ planId: planB, done: 0, cancelled: 10 });
        const again = await runCli(['resume', '--queue', queue.url]);
        expect(again.stdout).toContain('the queue was not paused; nothing to resume');
        // Both plans are known now, the latest first.
        const unknown = await runCli(['progress', '--queue', queue.url, '--plan', 'nope']);
        expect(unknown.stderr).toContain(`plans there: ${planB} (latest, 10 slots), ${planA} (10 slots)`);
      } finally {
        child.kill('SIGKILL');
      }
      await expectSettled(cluster);
      expect(await missingLoadedKeys(cluster, 'ctl', 5_000)).toEqual([]);
    });
  });
});
