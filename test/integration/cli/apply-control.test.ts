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
  startCli,
  slotsDone,
  waitForPlanProgress,
  withClusterAndQueue,
} from '../../harness/index.js';

const BIN = join(import.meta.dirname, '..', '..', '..', 'bin', 'slotshift.js');
/** apply's log at warn: these tests read its messages, not its per-slot lines. */
const WARN = { SLOTSHIFT_LOG_LEVEL: 'warn' };

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
        // Of the 5,462 slots the cancel comes within the first few dozen; moving them all took
        // most of the test's time.
        '--max-moves',
        '1500',
      ];
      // Slow enough to cancel mid-plan; the resume below runs at the default speed.
      const first = runCli([...args, '--concurrency', '2'], { SLOTSHIFT_LOG_LEVEL: 'warn' });
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
      const startWorker = (concurrency: string) =>
        spawn(process.execPath, [BIN, 'worker', '--queue', queue.url, '--concurrency', concurrency], {
          stdio: ['ignore', 'ignore', 'pipe'],
          env: { ...process.env, SLOTSHIFT_LOG_LEVEL: 'info' },
        });
      // The killed worker holds slots in flight; the other, on the same machine, sees that its
      // process is gone and takes them over without waiting for their locks to expire.
      const w1 = startWorker('2');
      const w2 = startWorker('16');
      let w2Log = '';
      w2.stderr.on('data', (d: Buffer) => (w2Log += d.toString()));
      w1.stderr.resume();
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
          ...['--max-moves', '1500'],
        ]);
        await waitForPlanProgress(queue.url, 30);
        w1.kill('SIGKILL');
        const r = await follower;
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/([\d,]+) of \1 slots moved/);
        expect(w2Log).toContain(
          `"pids":[${w1.pid}],"msg":"slot jobs of a killed process on this machine go back`,
        );
        await expectSettled(cluster);
        expect(await missingLoadedKeys(cluster, 'wk', 60_000)).toEqual([]);
      } finally {
        w1.kill('SIGKILL');
        // Waited for while the queue and the cluster still run: a worker stopping against a queue
        // that is gone retries forever, and it outlived the test before.
        const exited = new Promise((resolve) => w2.once('exit', resolve));
        w2.kill('SIGTERM');
        const t = setTimeout(() => w2.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(t);
      }
    });
  });

  it.each([
    {
      how: 'a second Ctrl-C exits at once',
      stop: ['SIGINT', 'SIGINT'] as const,
      stopTimeout: '60',
      says: 'second interrupt: exiting without waiting',
    },
    {
      how: 'a single SIGTERM exits after --stop-timeout',
      stop: ['SIGTERM'] as const,
      stopTimeout: '3',
      says: 'stopping took longer than --stop-timeout 3 s (slots in flight not finishing, or the cluster or queue not answering)',
    },
  ])(
    '$how when the slots in flight cannot finish, naming the fix; fix and apply again finish',
    async ({ stop, stopTimeout, says }) => {
      await withClusterAndQueue({ masters: 2, emptyMasters: 1 }, async (cluster, queue) => {
        await loadStrings(cluster, { keys: 20_000, prefix: 'int2' });
        const args = [
          ...['apply', '--seed', cluster.seeds[0]!, '--use-empty-masters', '--queue', queue.url, '--yes'],
          ...['--max-moves', '400', '--concurrency', '4', '--group-slots', '2'],
        ];
        const apply = startCli([...args, '--stop-timeout', stopTimeout], WARN);
        await waitForPlanProgress(queue.url, 20);
        // The target stops taking writes, so the slots in flight cannot finish: the first signal waits.
        const target = cluster.nodes.find((n) => n.kind === 'empty')!;
        const rt = cluster.connect(target);
        await rt.call('CLIENT', 'PAUSE', '15000', 'WRITE');
        const first = Date.now();
        apply.child.kill(stop[0]);
        await new Promise((r) => setTimeout(r, 1000));
        expect(apply.child.exitCode).toBeNull();
        if (stop[1]) apply.child.kill(stop[1]);
        const stopped = await apply.done;
        // Exits by itself: at once after a second signal, or when the stop timeout runs out (well
        // before the pause ends and the slots could finish).
        const took = Date.now() - first;
        expect(took).toBeLessThan(stop[1] ? 4000 : 10_000);
        if (!stop[1]) expect(took).toBeGreaterThanOrEqual(3000);
        expect(stopped.signal).toBeNull();
        expect(stopped.code, stopped.stderr).toBe(1);
        expect(stopped.stderr).toContain('interrupt again to exit at once');
        expect(stopped.stderr).toContain(
          `${says}; slots in flight may be left open: \`slotshift fix --seed ${cluster.seeds[0]}\``,
        );
        await rt.call('CLIENT', 'UNPAUSE');
        rt.disconnect();

        const fix = await runCli(['fix', '--seed', cluster.seeds[0]!, '--yes']);
        expect(fix.code, fix.stdout + fix.stderr).toBe(0);
        await expectSettled(cluster);
        const again = await runCli(args, { SLOTSHIFT_LOG_LEVEL: 'warn' });
        expect(again.code, again.stdout + again.stderr).toBe(0);
        await expectSettled(cluster);
        expect(await missingLoadedKeys(cluster, 'int2', 20_000)).toEqual([]);
      });
    },
  );

  it('Ctrl-C finishes the slots in flight, leaves none open and says how to resume; apply again finishes', async () => {
    await withClusterAndQueue({ masters: 2, emptyMasters: 1 }, async (cluster, queue) => {
      await loadStrings(cluster, { keys: 20_000, prefix: 'int' });
      const args = [
        ...['apply', '--seed', cluster.seeds[0]!, '--use-empty-masters', '--queue', queue.url, '--yes'],
        ...['--max-moves', '400', '--concurrency', '4', '--group-slots', '2'],
      ];
      const apply = startCli(args, WARN);
      await waitForPlanProgress(queue.url, 20);
      apply.child.kill('SIGINT');
      const stopped = await apply.done;
      expect(stopped.signal).toBeNull();
      expect(stopped.code, stopped.stderr).toBe(1);
      expect(stopped.stderr).toContain('stopping: finishing the slots in flight so none is left open');
      expect(stopped.stdout).toContain(
        'not every slot moved; no slot is left open. Run the same slotshift apply command to resume.',
      );
      const moved = /([\d,]+) of ([\d,]+) slots moved/.exec(stopped.stdout);
      expect(moved, stopped.stdout).not.toBeNull();
      const count = (n: string): number => Number(n.replace(/,/g, ''));
      expect(count(moved![1]!)).toBeLessThan(count(moved![2]!));
      await expectSettled(cluster);

      const resumed = await runCli(args, { SLOTSHIFT_LOG_LEVEL: 'warn' });
      expect(resumed.stdout).toContain('resuming unfinished plan');
      expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
      expect(resumed.stdout).toContain(`${moved![2]} of ${moved![2]} slots moved`);
      await expectSettled(cluster);
      expect(await missingLoadedKeys(cluster, 'int', 20_000)).toEqual([]);
    });
  });

  it('pause holds a running plan (no new slot starts), resume lets apply finish it', async () => {
    await withClusterAndQueue({ masters: 2, emptyMasters: 1 }, async (cluster, queue) => {
      await loadStrings(cluster, { keys: 20_000, prefix: 'pz' });
      const apply = startCli(
        [
          ...['apply', '--seed', cluster.seeds[0]!, '--use-empty-masters', '--queue', queue.url, '--yes'],
          ...['--max-moves', '400', '--concurrency', '4', '--group-slots', '2'],
        ],
        WARN,
      );
      await waitForPlanProgress(queue.url, 20);
      const pause = await runCli(['pause', '--queue', queue.url]);
      expect(pause.code, pause.stderr).toBe(0);
      expect(pause.stdout).toContain('(queue paused)');
      // The slots in flight finish; after that the count must not move.
      await new Promise((r) => setTimeout(r, 1500));
      const held = await slotsDone(queue.url);
      await new Promise((r) => setTimeout(r, 2000));
      expect(await slotsDone(queue.url)).toBe(held);
      await expect.poll(() => apply.child.exitCode, { timeout: 100 }).toBeNull();
      await expectSettled(cluster);

      const resume = await runCli(['resume', '--queue', queue.url]);
      expect(resume.code, resume.stderr).toBe(0);
      expect(resume.stdout).not.toContain('(queue paused)');
      const r = await apply.done;
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stderr).toContain(
        `queue paused: the slots in flight finish and no new one starts until \`slotshift resume --queue ${queue.url}\``,
      );
      expect(r.stderr).toContain('queue resumed');
      expect(r.stdout).toMatch(/([\d,]+) of \1 slots moved/);
      await expectSettled(cluster);
      expect(await missingLoadedKeys(cluster, 'pz', 20_000)).toEqual([]);
    });
  });
});
