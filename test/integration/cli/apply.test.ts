import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { keySlot, masters, openSlots, slotCount } from '../../../src/cluster/index.js';
import { parsePlan } from '../../../src/planner/index.js';
import {
  expectSettled,
  keysInSlot,
  loadStrings,
  missingLoadedKeys,
  runCli,
  startLocalCluster,
  startTraffic,
  topologyOf,
  withClusterAndQueue,
} from '../../harness/index.js';

const KEYS = 20_000;

describe('slotshift apply', () => {
  it('scales out onto empty masters while a cluster client keeps reading and writing', async () => {
    await withClusterAndQueue({ masters: 3, emptyMasters: 3 }, async (cluster, queue) => {
      await loadStrings(cluster, { keys: KEYS, prefix: 'load' });
      const traffic = startTraffic(cluster.nodes[0]!, 'app');
      const r = await runCli([
        'apply',
        '--seed',
        cluster.seeds[0]!,
        '--use-empty-masters',
        '--queue',
        queue.url,
        '--yes',
      ]);
      const report = await traffic.stop();
      const errorLines = r.stderr.split('\n').filter((l) => /"level":50/.test(l));
      expect(errorLines).toEqual([]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/([\d,]+) of \1 slots moved \([\d,]+ keys, about [\d.]+ (KiB|MiB)\)/);
      expect(report.errors).toEqual([]);
      expect(report.vanished).toEqual([]);
      expect(report.lost).toEqual([]);
      expect(report.ops).toBeGreaterThan(100);
      const t = await expectSettled(cluster);
      const counts = masters(t).map((m) => slotCount(m.slots));
      expect(Math.min(...counts)).toBeGreaterThan((16384 / 6) * 0.97);
      expect(await missingLoadedKeys(cluster, 'load', KEYS)).toEqual([]);

      const again = await runCli([
        'apply',
        '--seed',
        cluster.seeds[0]!,
        '--use-empty-masters',
        '--queue',
        queue.url,
        '--yes',
      ]);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('nothing to do');
    });
  });

  it('refuses without --yes when there is no terminal, and changes nothing', async () => {
    await withClusterAndQueue({ masters: 2, emptyMasters: 1 }, async (cluster, queue) => {
      const r = await runCli([
        'apply',
        '--seed',
        cluster.seeds[0]!,
        '--use-empty-masters',
        '--queue',
        queue.url,
      ]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('pass --yes');
      const t = await expectSettled(cluster);
      expect(
        masters(t)
          .map((m) => slotCount(m.slots))
          .sort(),
      ).toEqual([0, 8192, 8192]);
    });
  });

  it('moves a big key alone and names it in the summary', async () => {
    await withClusterAndQueue({ masters: 2, emptyMasters: 1 }, async (cluster, queue) => {
      await loadStrings(cluster, { keys: 2_000, prefix: 'load' });
      // The plan first, then the big key in one of its slots: planned with the key, the cheapest
      // block of slots would leave it where it is.
      const dir = mkdtempSync(join(tmpdir(), 'slotshift-bigkey-'));
      const planFile = join(dir, 'plan.yaml');
      const planned = await runCli([
        'plan',
        '--seed',
        cluster.seeds[0]!,
        '--use-empty-masters',
        '-o',
        planFile,
      ]);
      expect(planned.code).toBe(0);
      const move = parsePlan(readFileSync(planFile, 'utf8')).moves[0]!;
      const key = keysInSlot(move.slot, 1, 'big')[0]!;
      const owner = cluster.connect(cluster.nodes.find((n) => n.id === move.from)!);
      await owner.set(key, 'v'.repeat(3_000_000));
      owner.disconnect();

      const r = await runCli([
        'apply',
        '-f',
        planFile,
        '--queue',
        queue.url,
        '--yes',
        '--seed',
        cluster.seeds[0]!,
      ]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('1 big key moved alone (MEMORY USAGE over 976.6 KiB):');
      expect(r.stdout).toMatch(
        new RegExp(`"${key.replace(/[{}]/g, '\\$&')}" in slot ${move.slot}: about [\\d.]+ MiB`),
      );
      const slotLog = r.stderr.split('\n').find((l) => l.includes('"big key moves alone"'));
      expect(slotLog).toContain(`"slot":${move.slot}`);
      const target = cluster.connect(cluster.nodes.find((n) => n.id === move.to)!);
      expect(await target.strlen(key)).toBe(3_000_000);
      target.disconnect();
      await expectSettled(cluster);
      expect(await missingLoadedKeys(cluster, 'load', 2_000)).toEqual([]);
    });
  });

  it('keeps its queue on the cluster only in one pinned slot of the node named', async () => {
    const cluster = await startLocalCluster({ masters: 3, emptyMasters: 1 });
    try {
      await loadStrings(cluster, { keys: 2_000, prefix: 'load' });
      const before = await expectSettled(cluster);
      const queueName = '{ssq}';
      const slot = keySlot('ssq');
      const owner = before.nodes.find((n) => n.id === before.owners[slot])!;
      const other = masters(before).find((n) => n.id !== owner.id && n.slots.length > 0)!;
      const apply = (queueUrl: string, ...more: string[]) =>
        runCli([
          'apply',
          '--seed',
          cluster.seeds[0]!,
          '--use-empty-masters',
          '--queue',
          queueUrl,
          '--yes',
          ...more,
        ]);

      // Untagged, by address or under another name: the fix names a tag, its slot and its master.
      const untaggedSlot = keySlot('slotshift');
      for (const queueUrl of [`redis://${other.host}:${other.port}`, `redis://localhost:${other.port}`]) {
        const r = await apply(queueUrl);
        expect(r.code, queueUrl).toBe(2);
        expect(r.stderr).toContain('is a node of the cluster being rebalanced');
        expect(r.stderr).toContain(`--queue-name '{slotshift}' --pin ${untaggedSlot}`);
      }
      const wrongNode = await apply(
        `redis://${other.host}:${other.port}`,
        '--queue-name',
        queueName,
        '--pin',
        String(slot),
      );
      expect(wrongNode.code).toBe(2);
      expect(wrongNode.stderr).toContain(`its master is ${owner.host}:${owner.port}`);
      const unpinned = await apply(`redis://localhost:${owner.port}`, '--queue-name', queueName);
      expect(unpinned.code).toBe(2);
      expect(unpinned.stderr).toContain(`does not pin it; pin it so no plan moves the queue: --pin ${slot}`);
      expect((await expectSettled(cluster)).owners).toEqual(before.owners);

      const traffic = startTraffic(cluster.nodes[0]!, 'app');
      const queueUrl = `redis://${owner.host}:${owner.port}`;
      const r = await apply(queueUrl, '--queue-name', queueName, '--pin', String(slot));
      const report = await traffic.stop();
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
      expect(report.errors).toEqual([]);
      expect(report.lost).toEqual([]);
      const after = await expectSettled(cluster);
      expect(after.owners[slot]).toBe(owner.id);
      const counts = masters(after).map((m) => slotCount(m.slots));
      expect(Math.min(...counts)).toBeGreaterThan((16384 / 4) * 0.97);
      expect(await missingLoadedKeys(cluster, 'load', 2_000)).toEqual([]);
      // The queue's keys, BullMQ's and slotshift's, all sit in the pinned slot.
      const queueNode = new Redis(queueUrl);
      try {
        const keys = await queueNode.keys('*ssq*');
        expect(keys.some((k) => k.startsWith('bull:{ssq}:'))).toBe(true);
        expect(keys.some((k) => k.startsWith('{ssq}:slotshift:plan:'))).toBe(true);
        expect(new Set(keys.map((k) => keySlot(k)))).toEqual(new Set([slot]));
        const progress = await runCli(['progress', '--queue', queueUrl, '--queue-name', queueName, '--json']);
        expect(progress.code).toBe(0);
        const p = JSON.parse(progress.stdout) as { done: number; total: number; failed: number };
        expect(p.total).toBeGreaterThan(4000);
        expect(p).toMatchObject({ done: p.total, failed: 0 });
      } finally {
        queueNode.disconnect();
      }
    } finally {
      await cluster.stop();
    }
  });
});

describe('slotshift apply survives kill -9 at every protocol step', () => {
  for (const [step, n] of [
    ['after-importing', 40],
    ['after-migrating', 40],
    ['mid-batches', 30],
    ['after-node-target', 40],
  ] as const) {
    it(`killed ${step}, then run again: completes, nothing lost, no slot open`, async () => {
      await withClusterAndQueue({ masters: 2, emptyMasters: 1 }, async (cluster, queue) => {
        // Enough keys that nearly every slot holds some: the planner moves empty slots first.
        await loadStrings(cluster, { keys: 60_000, prefix: 'kill' });
        const args = [
          'apply',
          '--seed',
          cluster.seeds[0]!,
          '--use-empty-masters',
          '--queue',
          queue.url,
          '--yes',
          '--concurrency',
          '4',
          // The kill comes within the first 40 slots; the re-run moving all 5,462 took most of each
          // test's 25-35 s.
          '--max-moves',
          '1500',
        ];
        const killed = await runCli(args, { SLOTSHIFT_FAULT: `${step}:${n}`, SLOTSHIFT_LOG_LEVEL: 'warn' });
        expect(killed.signal, killed.stderr).toBe('SIGKILL');
        expect(killed.stdout).not.toMatch(/slots moved/);
        // The kill left slots in the state of its step, which the re-run has to finish from.
        const left = openSlots(await topologyOf(cluster));
        const on = (slot: number, state: 'migrating' | 'importing'): boolean =>
          left.some((o) => o.slot === slot && o.state === state);
        const slots = [...new Set(left.map((o) => o.slot))];
        const expected = {
          'after-importing': (s: number) => on(s, 'importing') && !on(s, 'migrating'),
          'after-migrating': (s: number) => on(s, 'importing') && on(s, 'migrating'),
          'mid-batches': (s: number) => on(s, 'importing') && on(s, 'migrating'),
          'after-node-target': (s: number) => on(s, 'migrating') && !on(s, 'importing'),
        }[step];
        expect(slots.filter(expected), JSON.stringify(left)).not.toEqual([]);
        if (step === 'mid-batches') {
          // Some of the open slots' keys are on their target already.
          const onTarget = await Promise.all(
            left
              .filter((o) => o.state === 'importing')
              .map(async (o) => {
                const r = cluster.connect(cluster.nodes.find((x) => x.id === o.nodeId)!);
                try {
                  return Number(await r.call('CLUSTER', 'COUNTKEYSINSLOT', String(o.slot)));
                } finally {
                  r.disconnect();
                }
              }),
          );
          expect(onTarget.some((k) => k > 0)).toBe(true);
        }
        const resumed = await runCli(args, { SLOTSHIFT_LOG_LEVEL: 'info' });
        expect(resumed.stdout).toContain('resuming unfinished plan');
        // The killed process's slots in flight were taken back at once, not after their locks
        // expired (10-15 s of every resume before).
        expect(resumed.stderr).toMatch(
          /"jobs":[1-9]\d*,"pids":\[\d+\],"msg":"slot jobs of a killed process on this machine go back/,
        );
        expect(resumed.code).toBe(0);
        await expectSettled(cluster);
        expect(await missingLoadedKeys(cluster, 'kill', 60_000)).toEqual([]);
      });
    });
  }
});
