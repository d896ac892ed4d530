import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import calculateSlot from 'cluster-key-slot';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadStrings, runCli, topologyOf, useCluster, type LocalCluster } from '../../harness/index.js';

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
    expect(r.stdout).toContain('1 slot(s) differ');
    expect(r.stdout).toContain(`slot ${slot}:`);
  });

  it('--slots limits the work', async () => {
    const r = await runCli(['verify', '--seed', cluster.seeds[0]!, '--slots', '0-99,200', '--json']);
    expect((JSON.parse(r.stdout) as { slots: number }).slots).toBe(101);
  });

  it('a bad snapshot file is a clear error', async () => {
    const r = await runCli(['verify', '--seed', cluster.seeds[0]!, '--against', join(dir, 'nope.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('cannot read snapshot');
  });
});
