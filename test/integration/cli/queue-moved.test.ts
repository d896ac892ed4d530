import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PlanQueue } from '../../../src/queue/index.js';
import { BIN, expectSettled, manualFailover, missingLoadedKeys, runCli } from '../../harness/index.js';
import { queueOnClusterNode } from '../../harness/queue-on-cluster.js';

/**
 * The queue on the cluster, in its pinned slot, and its node fails over mid-plan. slotshift keeps
 * one connection to the queue, so apply (and a worker process) stops and says where the queue went;
 * apply again with that address goes on (with a new plan: one of the old plan's masters is a replica
 * now). Before, apply ended with `unexpected error: MOVED 13028 127.0.0.1:43351`, and a worker logged
 * the MOVED errors for ever. The failover is made while the plan is paused: a replica's CLUSTER
 * FAILOVER is often refused while targets close slots (README, manualFailover).
 */
describe('the queue on a cluster node that fails over', () => {
  it.each(['apply', 'a worker process'] as const)(
    '%s stops, naming where the queue went; apply there goes on with nothing lost',
    async (mover) => {
      const { cluster, queueName, slot, replica, queueUrl } = await queueOnClusterNode('ssq', 'qm', 20_000);
      try {
        const movedTo = `redis://${replica.host}:${replica.port}`;
        const planArgs = [
          ...['apply', '--seed', cluster.seeds[0]!, '--use-empty-masters', '--yes'],
          ...['--queue-name', queueName, '--pin', String(slot)],
        ];
        const slow = ['--concurrency', '2', '--group-slots', '1'];
        const worker =
          mover === 'apply'
            ? null
            : spawn(
                process.execPath,
                [BIN, 'worker', '--queue', queueUrl, '--queue-name', queueName, ...slow],
                {
                  stdio: ['ignore', 'ignore', 'pipe'],
                },
              );
        let workerLog = '';
        worker?.stderr?.on('data', (d: Buffer) => (workerLog += d.toString()));
        const workerExit = worker ? new Promise<number | null>((done) => worker.once('exit', done)) : null;
        try {
          const apply = runCli([...planArgs, '--queue', queueUrl, ...(worker ? ['--no-workers'] : slow)], {
            SLOTSHIFT_LOG_LEVEL: 'warn',
          });
          const q = new PlanQueue(queueUrl, queueName);
          try {
            await expect
              .poll(
                async () => {
                  const current = await q.currentPlan();
                  return current ? (await q.progress(current.planId, current.total)).done : 0;
                },
                { timeout: 30_000, interval: 100 },
              )
              .toBeGreaterThan(50);
          } finally {
            await q.close();
          }
          const pause = await runCli(['pause', '--queue', queueUrl, '--queue-name', queueName]);
          expect(pause.code, pause.stderr).toBe(0);
          // The last slots closed before the pause bumped epochs: a replica that has not heard of them
          // yet has its votes denied (manualFailover asks again, but only 13 s later).
          await new Promise((done) => setTimeout(done, 1_000));
          expect(await manualFailover(cluster, replica)).not.toBeNull();

          const moved = `the queue's slot ${slot} is now served by ${replica.host}:${replica.port} (its node failed over); nothing moved is lost: run`;
          const stopped = await apply;
          expect(stopped.code, stopped.stdout + stopped.stderr).toBe(1);
          expect(stopped.stderr).toContain(
            `${moved} the same slotshift apply with --queue ${movedTo} to go on from there`,
          );
          expect(stopped.stderr).not.toContain('unexpected error');
          if (workerExit) {
            expect(await workerExit, workerLog.slice(-2000)).toBe(1);
            expect(workerLog).toContain(
              `${moved} slotshift worker with --queue ${movedTo} to go on from there`,
            );
          }
        } finally {
          worker?.kill('SIGKILL');
        }

        const resume = await runCli(['resume', '--queue', movedTo, '--queue-name', queueName]);
        expect(resume.code, resume.stderr).toBe(0);
        // A master of the plan is a replica now, so the plan no longer fits: apply plans again from
        // the cluster as it is, on the queue where it is.
        const again = await runCli([...planArgs, '--queue', movedTo], { SLOTSHIFT_LOG_LEVEL: 'warn' });
        expect(again.code, again.stdout + again.stderr).toBe(0);
        const after = await expectSettled(cluster);
        expect(after.owners[slot]).toBe(replica.id);
        expect(await missingLoadedKeys(cluster, 'qm', 20_000)).toEqual([]);
      } finally {
        await cluster.stop();
      }
    },
    120_000,
  );
});
