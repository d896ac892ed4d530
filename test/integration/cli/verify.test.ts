import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import calculateSlot from 'cluster-key-slot';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  expectSettled,
  keysInSlot,
  loadStrings,
  runCli,
  topologyOf,
  useCluster,
  waitForPlanProgress,
  withClusterAndQueue,
  type CliResult,
  type LocalCluster,
} from '../../harness/index.js';

describe('slotshift verify', () => {
  let cluster: LocalCluster;
  const dir = mkdtempSync(join(tmpdir(), 'slotshift-verify-'));
  beforeAll(async () => {
    cluster = await useCluster({ masters: 3 });
    await loadStrings(cluster, { keys: 5000, prefix: 'ver' });
  });

  it('checksums every slot, saves a snapshot and finds no difference when nothing changed', async () => {
    const snap = join(dir, 'before.json');
    const first = await runCli(['verify', '--seed', cluster.seeds[0]!, '--save', snap, '--json']);
    expect(first.code).toBe(0);
    const doc = JSON.parse(first.stdout) as { slots: number; keys: number; checksum: string };
    expect(doc).toMatchObject({ slots: 16384, keys: 5000 });
    expect(doc.checksum).toMatch(/^[0-9a-f]{16}$/);
    const again = await runCli(['verify', '--seed', cluster.seeds[0]!, '--against', snap]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('matches the snapshot');
  });

  it('names the slot whose key changed since the snapshot, with exit code 1', async () => {
    const snap = join(dir, 'before2.json');
    await runCli(['verify', '--seed', cluster.seeds[0]!, '--save', snap]);
    const key = 'ver:42';
    const slot = calculateSlot(key);
    const t = await topologyOf(cluster);
    const owner = cluster.nodes.find((n) => n.id === t.owners[slot])!;
    const c = cluster.connect(owner);
    await c.set(key, 'changed');
    c.disconnect();
    const r = await runCli(['verify', '--seed', cluster.seeds[0]!, '--against', snap]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('1 slot differs');
    expect(r.stdout).toContain(`slot ${slot}:`);
  });

  it('--slots limits the work', async () => {
    const r = await runCli(['verify', '--seed', cluster.seeds[0]!, '--slots', '0-99,200', '--json']);
    expect((JSON.parse(r.stdout) as { slots: number }).slots).toBe(101);
  });

  it('checks a few slots against a full snapshot, and everything against a partial one, comparing only what both cover', async () => {
    const full = join(dir, 'full.json');
    const part = join(dir, 'part.json');
    expect((await runCli(['verify', '--seed', cluster.seeds[0]!, '--save', full])).code).toBe(0);
    const few = await runCli([
      'verify',
      '--seed',
      cluster.seeds[0]!,
      '--slots',
      '0-10',
      '--against',
      full,
      '--save',
      part,
    ]);
    expect(few.stdout).toContain('matches the snapshot');
    expect(few.code).toBe(0);
    const all = await runCli(['verify', '--seed', cluster.seeds[0]!, '--against', part, '--json']);
    expect(all.code).toBe(0);
    expect(JSON.parse(all.stdout)).toMatchObject({
      differences: [],
      against: { file: part, notInSnapshot: 16384 - 11 },
    });
  });

  it('refuses a --save it cannot write before it starts, and names the snapshot file that is malformed', async () => {
    const save = await runCli([
      'verify',
      '--seed',
      cluster.seeds[0]!,
      '--save',
      join(dir, 'no-such-dir', 'x.json'),
    ]);
    expect(save.code).toBe(2);
    expect(save.stderr).toContain('--save: cannot write');
    expect(save.stdout).toBe('');
    const wrong = join(dir, 'v2.json');
    writeFileSync(
      wrong,
      JSON.stringify({ version: 2, takenAt: new Date().toISOString(), includeTtl: false, slots: [] }),
    );
    const against = await runCli(['verify', '--seed', cluster.seeds[0]!, '--against', wrong]);
    expect(against.code).toBe(2);
    expect(against.stderr).toContain(wrong);
    expect(against.stderr).toContain('version');
  });

  it('a bad snapshot file is a clear error', async () => {
    const r = await runCli(['verify', '--seed', cluster.seeds[0]!, '--against', join(dir, 'nope.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('cannot read snapshot');
  });

  it('counts a slot left open halfway on both its nodes, so the keys that moved are no difference', async () => {
    const snap = join(dir, 'before-open.json');
    const t = await topologyOf(cluster);
    const slot = 0;
    const names = keysInSlot(slot, 6, 'half-open');
    const source = cluster.nodes.find((n) => n.id === t.owners[slot])!;
    const target = cluster.nodes.find((n) => n.kind === 'master' && n.id !== source.id)!;
    const from = cluster.connect(source);
    const to = cluster.connect(target);
    try {
      for (const k of names) await from.set(k, `v-${k}`);
      expect((await runCli(['verify', '--seed', cluster.seeds[0]!, '--save', snap])).code).toBe(0);
      const before = await runCli(['verify', '--seed', cluster.seeds[0]!, '--slots', `${slot}`, '--json']);
      const whole = JSON.parse(before.stdout) as { keys: number; checksum: string };
      expect(whole.keys).toBeGreaterThanOrEqual(6);
      await to.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', source.id);
      await from.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', target.id);
      await from.call('MIGRATE', target.host, target.port, '', 0, 5000, 'KEYS', ...names.slice(0, 3));
      expect(await to.call('CLUSTER', 'COUNTKEYSINSLOT', slot)).toBe(3);

      const split = await runCli(['verify', '--seed', cluster.seeds[0]!, '--slots', `${slot}`, '--json']);
      expect(split.code).toBe(0);
      expect(JSON.parse(split.stdout)).toMatchObject({ keys: whole.keys, checksum: whole.checksum });
      const against = await runCli(['verify', '--seed', cluster.seeds[0]!, '--against', snap]);
      expect(against.stdout).toContain('matches the snapshot');
      expect(against.code).toBe(0);
    } finally {
      from.disconnect();
      to.disconnect();
      expect((await runCli(['fix', '--seed', cluster.seeds[0]!, '--yes'])).code).toBe(0);
    }
  });

  it('run during a rebalance, it either matches or refuses, and never reports a difference that is only a move', async () => {
    await withClusterAndQueue({ masters: 3, emptyMasters: 1 }, async (moving, queue) => {
      await loadStrings(moving, { keys: 20_000, prefix: 'mv' });
      const seed = moving.seeds[0]!;
      const snap = join(dir, 'before-move.json');
      expect((await runCli(['verify', '--seed', seed, '--save', snap])).code).toBe(0);
      const apply: { result?: CliResult } = {};
      const applying = runCli([
        'apply',
        '--seed',
        seed,
        '--queue',
        queue.url,
        '--use-empty-masters',
        '--yes',
      ]);
      void applying.then((r) => (apply.result = r));
      await waitForPlanProgress(queue.url, 1);
      const runs: CliResult[] = [];
      while (!apply.result) runs.push(await runCli(['verify', '--seed', seed, '--against', snap]));
      expect((await applying).code).toBe(0);
      for (const r of runs) {
        if (r.code === 0) expect(r.stdout).toContain('matches the snapshot');
        else {
          expect(r.stderr, r.stdout).toMatch(/moved while being checksummed|claimed by two nodes/);
          expect(r.code).toBe(2);
        }
      }
      // The loop started once slots moved: at least one run saw a move under way.
      expect(runs.some((r) => r.code === 2)).toBe(true);
      await expectSettled(moving);
      const after = await runCli(['verify', '--seed', seed, '--against', snap]);
      expect(after.stdout).toContain('matches the snapshot');
    });
  }, 120_000);
});
