import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DaemonStatus } from '../../../src/daemon/index.js';
import {
  BIN,
  expectSettled,
  freePorts,
  manualFailover,
  missingLoadedKeys,
  runCli,
} from '../../harness/index.js';
import { queueOnClusterNode } from '../../harness/queue-on-cluster.js';
import { getJson, tempDir, waitFor, writePlan } from './helpers.js';

const KEYS = 20_000;

/**
 * The daemon's queue on the cluster, in its pinned slot, and the queue's node fails over mid-plan:
 * as apply and `slotshift worker` (test/integration/cli/queue-moved.test.ts), the daemon stops and
 * says where the queue went. Before, its worker logged the MOVED errors for ever and nothing moved,
 * which is what an unattended night run must not do. Failed over while the plan is paused, as there.
 */
describe('slotshift daemon with its queue on a cluster node that fails over', () => {
  it('stops with exit 1, naming where the queue went, with no slot open and nothing lost', async () => {
    const { cluster, queueName, slot, replica, queueUrl } = await queueOnClusterNode('dsq', 'dqm', KEYS);
    try {
      const dir = tempDir();
      writePlan(dir, 'scale-out', `useEmptyMasters: true\npin: [${slot}]\nlimits: { maxPerNode: 1 }`);
      // Not in the plans directory: every YAML file there is read as a plan.
      const config = join(tempDir(), 'slotshift.yaml');
      writeFileSync(
        config,
        [
          `cluster: { seeds: ["${cluster.seeds[0]!}"] }`,
          `queue: { url: "${queueUrl}" }`,
          'workers: { concurrency: 2, perNodeLimit: 1 }',
          'log: { level: warn }',
          `plans: ${dir}`,
          'tickSeconds: 0.5',
        ].join('\n'),
      );
      const [port] = await freePorts(1);
      const listen = `127.0.0.1:${port}`;
      const daemon = spawn(
        process.execPath,
        [BIN, 'daemon', '-c', config, '--queue-name', queueName, '--listen', listen],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      daemon.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((done) => daemon.once('exit', done));
      try {
        await waitFor(
          'slots moving',
          async () => {
            if (daemon.exitCode !== null) throw new Error(`the daemon exited: ${stderr.slice(-2000)}`);
            const s = await getJson<DaemonStatus>(listen, '/status');
            return (s.plan?.done ?? 0) > 50 ? s : undefined;
          },
          60_000,
        ).catch((e: unknown) => {
          throw new Error(`${String(e)}\n${stderr.slice(-3000)}`);
        });
        const pause = await runCli(['pause', '--queue', queueUrl, '--queue-name', queueName]);
        expect(pause.code, pause.stderr).toBe(0);
        // Epoch bumps of the last closes must reach the replica before it asks for votes.
        await new Promise((done) => setTimeout(done, 1_000));
        expect(await manualFailover(cluster, replica)).not.toBeNull();

        const stillRunning = new Promise<string>((done) => setTimeout(() => done('still running'), 60_000));
        expect(await Promise.race([exited, stillRunning]), stderr.slice(-3000)).toBe(1);
        expect(stderr).toContain(
          `the queue's slot ${slot} is now served by ${replica.host}:${replica.port} (its node failed over); ` +
            `nothing moved is lost: run slotshift daemon with --queue redis://${replica.host}:${replica.port} to go on from there`,
        );
        expect(stderr).not.toContain('stop-timeout');
      } finally {
        if (daemon.exitCode === null) daemon.kill('SIGKILL');
      }
      const after = await expectSettled(cluster);
      expect(after.owners[slot]).toBe(replica.id);
      expect(await missingLoadedKeys(cluster, 'dqm', KEYS)).toEqual([]);
    } finally {
      await cluster.stop();
    }
  }, 150_000);
});
