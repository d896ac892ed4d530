import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DaemonStatus } from '../../../src/daemon/index.js';
import {
  expectSettled,
  freePorts,
  loadStrings,
  missingLoadedKeys,
  startLocalCluster,
  startLocalRedis,
} from '../../harness/index.js';
import { getJson, queueName, tempDir, waitFor, writePlan } from './helpers.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const KEYS = 20_000;

describe('slotshift daemon (the CLI as a user runs it)', () => {
  it('finishes the slots in flight on SIGTERM, leaves none open, and exits 0', async () => {
    const cluster = await startLocalCluster({ masters: 3, emptyMasters: 1 });
    const queue = await startLocalRedis();
    try {
      await loadStrings(cluster, { keys: KEYS, prefix: 'term' });
      const dir = tempDir();
      const plans = join(dir, 'plans');
      execFileSync('mkdir', ['-p', plans]);
      const empty = cluster.nodes.find((n) => n.kind === 'empty')!;
      writePlan(
        plans,
        'scale-out',
        `useEmptyMasters: true\nweights: { '${empty.addr}': 0.3 }\nlimits: { maxPerNode: 1 }`,
      );
      const [port] = await freePorts(1);
      const config = join(dir, 'slotshift.yaml');
      // Seeds, queue and listen come from the flags: the config's values are overridden.
      writeFileSync(
        config,
        [
          'cluster: { seeds: ["127.0.0.1:1"] }',
          'queue: { url: "redis://127.0.0.1:1" }',
          'workers: { concurrency: 2, perNodeLimit: 1 }',
          'log: { level: warn }',
          'plans: /nonexistent',
          'tickSeconds: 0.5',
        ].join('\n'),
      );
      const listen = `127.0.0.1:${port}`;
      const name = queueName();
      const run = (): {
        exited: Promise<number | null>;
        stderr: () => string;
        term: () => void;
        kill: () => void;
      } => {
        const child = spawn(
          process.execPath,
          [
            join(ROOT, 'bin', 'slotshift.js'),
            'daemon',
            '-c',
            config,
            '--seed',
            cluster.seeds[0]!,
            '--queue',
            queue.url,
            '--queue-name',
            name,
            '--listen',
            listen,
            '--plan',
            plans,
          ],
          { stdio: ['ignore', 'ignore', 'pipe'] },
        );
        let err = '';
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        return {
          exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
          stderr: () => err,
          term: () => child.kill('SIGTERM'),
          kill: () => {
            if (child.exitCode === null) child.kill('SIGKILL');
          },
        };
      };
      const first = run();
      let stopped: DaemonStatus;
      let midPlan: DaemonStatus;
      try {
        midPlan = await waitFor('slots moving', async () => {
          const s = await getJson<DaemonStatus>(listen, '/status');
          return s.state === 'enqueued' && (s.plan?.done ?? 0) > 20 ? s : undefined;
        });
        first.term();
        expect(await first.exited).toBe(0);
      } finally {
        first.kill();
      }
      expect(first.stderr()).not.toMatch(/"level":50/);
      await expectSettled(cluster);

      // A restarted daemon resumes the same plan from the queue and finishes it.
      const second = run();
      try {
        stopped = await waitFor(
          'the plan finished after the restart',
          async () => {
            const s = await getJson<DaemonStatus>(listen, '/status');
            return s.state === 'idle' && s.plan?.finished ? s : undefined;
          },
          60_000,
          200,
        );
        second.term();
        expect(await second.exited).toBe(0);
      } finally {
        second.kill();
      }
      expect(stopped.plan!.planId).toBe(midPlan.plan!.planId);
      expect(stopped.plan!.done).toBe(stopped.plan!.total);
      expect(second.stderr()).not.toMatch(/"level":50/);
      await expectSettled(cluster);
      expect(await missingLoadedKeys(cluster, 'term', KEYS)).toEqual([]);
    } finally {
      await cluster.stop();
      await queue.stop();
    }
  }, 90_000);
});
