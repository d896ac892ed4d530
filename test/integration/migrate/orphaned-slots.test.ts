import { describe, expect, it } from 'vitest';
import { NodePool } from '../../../src/cluster/index.js';
import { handOverOrphanedSlots } from '../../../src/migrate/index.js';
import { runCli } from '../../harness/index.js';
import { expectServedByHeir, orphanASlot, plannedMasters } from '../../harness/orphaned-slot.js';

describe('slots a dead target kept', () => {
  it('go to the replica elected in its place (handOverOrphanedSlots): the cluster is up, every key served', async () => {
    const o = await orphanASlot('orph');
    const pool = new NodePool({ connectTimeoutMs: 1_000 });
    try {
      const planned = plannedMasters(o);
      expect(await handOverOrphanedSlots(pool, planned)).toBe(1);
      // Nothing is left to give: a second sweep (another worker's) changes nothing.
      expect(await handOverOrphanedSlots(pool, planned)).toBe(0);
      await expectServedByHeir(o);
    } finally {
      await pool.close();
    }
  }, 90_000);

  it('are given by `slotshift fix`, without a plan, to the only live master holding their keys', async () => {
    const o = await orphanASlot('orphfix');
    const seed = `${o.a.host}:${o.a.port}`;
    const status = await runCli(['status', '--seed', seed, '--json']);
    expect((JSON.parse(status.stdout) as { deadOwnerSlots: number }).deadOwnerSlots).toBe(1);
    const said = await runCli(['status', '--seed', seed]);
    expect(said.stdout).toContain('slots owned by a dead master no replica replaces: 1');
    const fix = await runCli(['fix', '--seed', seed, '--yes']);
    expect(fix.code, fix.stdout + fix.stderr).toBe(0);
    expect(fix.stdout).toContain('a failed master no replica replaces');
    await expectServedByHeir(o);
    const after = await runCli(['status', '--seed', seed]);
    expect(after.stdout).not.toContain('dead master');
  }, 90_000);
});
