import { describe, expect, it } from 'vitest';
import {
  expectSettled,
  loadStrings,
  missingLoadedKeys,
  runCli,
  topologyOf,
  waitForPlanProgress,
  withClusterAndQueue,
} from '../../harness/index.js';

/**
 * apply reads the cluster after the plan rather than assuming no slot is open: a slot whose target
 * died before owning any slot stays MIGRATING on its source (Redis replaces only masters with slots),
 * and anything else may open one meanwhile. Here a slot the plan pins is opened by hand mid-plan.
 */
describe('apply: slots open after the plan', () => {
  it('names each open slot and the fix, and exits 1; fix closes it', async () => {
    await withClusterAndQueue({ masters: 2, emptyMasters: 1 }, async (cluster, queue) => {
      await loadStrings(cluster, { keys: 20_000, prefix: 'open' });
      const before = await topologyOf(cluster);
      const pinned = 16383;
      const owner = before.owners[pinned]!;
      const empty = cluster.nodes.find((n) => n.kind === 'empty')!;
      const apply = runCli(
        [
          ...['apply', '--seed', cluster.seeds[0]!, '--use-empty-masters', '--queue', queue.url, '--yes'],
          ...['--max-moves', '400', '--concurrency', '4', '--group-slots', '2', '--pin', String(pinned)],
        ],
        { SLOTSHIFT_LOG_LEVEL: 'warn' },
      );
      await waitForPlanProgress(queue.url, 20);
      const r = cluster.connect(empty);
      await r.call('CLUSTER', 'SETSLOT', String(pinned), 'IMPORTING', owner);
      r.disconnect();

      const result = await apply;
      expect(result.stdout).toContain('400 of 400 slots moved');
      expect(result.stdout).toContain(
        `  OPEN slot ${pinned}: importing on ${empty.id.slice(0, 8)} from ${owner.slice(0, 8)}\n`,
      );
      expect(result.stdout).toContain(
        `1 open slot after the plan: \`slotshift fix --seed ${cluster.seeds[0]}\` closes it.`,
      );
      expect(result.code, result.stdout + result.stderr).toBe(1);

      const fix = await runCli(['fix', '--seed', cluster.seeds[0]!, '--yes']);
      expect(fix.code, fix.stdout + fix.stderr).toBe(0);
      const after = await expectSettled(cluster);
      expect(after.owners[pinned]).toBe(owner);
      expect(await missingLoadedKeys(cluster, 'open', 20_000)).toEqual([]);
    });
  });
});
