import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePlan } from '../../../src/planner/index.js';
import {
  expectSettled,
  loadStrings,
  missingLoadedKeys,
  runCli,
  withClusterAndQueue,
  type CliResult,
} from '../../harness/index.js';

const KEYS = 30_000;

/**
 * QA ran `slotshift fix --yes` during an apply, as status advised: fix took a slot that had just
 * moved, in a view the other masters had not yet caught up with, for a move to undo, and moved its
 * keys back to the old owner; apply then failed with the slot not where planned.
 */
describe('slotshift fix while apply moves slots', () => {
  it('leaves the moving slots to apply: apply ends with every slot where planned, no key lost', async () => {
    await withClusterAndQueue({ masters: 3, emptyMasters: 1 }, async (cluster, queue) => {
      await loadStrings(cluster, { keys: KEYS, prefix: 'load' });
      const planFile = join(mkdtempSync(join(tmpdir(), 'slotshift-fix-apply-')), 'plan.yaml');
      const seed = cluster.seeds[0]!;
      // 1,500 of the 4,096 moves: the fixes race enough slots (all of them took 53 s of a CI run).
      const planned = await runCli([
        ...['plan', '--seed', seed, '--use-empty-masters'],
        ...['--max-moves', '1500', '-o', planFile],
      ]);
      expect(planned.code).toBe(0);
      const plan = parsePlan(readFileSync(planFile, 'utf8'));

      // One slot per group and many at once: slots open and close all the time, as in QA's run.
      const applying = runCli(
        [
          'apply',
          '-f',
          planFile,
          '--seed',
          seed,
          '--queue',
          queue.url,
          '--yes',
          '--per-node',
          '4',
          '--concurrency',
          '8',
          '--group-slots',
          '1',
        ],
        {},
        150_000,
      );
      let applied: CliResult | null = null;
      void applying.then((r) => (applied = r));
      const fixes: CliResult[] = [];
      while (!applied) fixes.push(await runCli(['fix', '--seed', seed, '--yes']));
      const r = applied as CliResult;

      expect(fixes.length).toBeGreaterThan(2);
      // No fix moved a planned slot back towards the master it left.
      const from = new Map(plan.moves.map((m) => [m.slot, m.from]));
      const reversals = fixes.flatMap((f) =>
        [...f.stdout.matchAll(/^slots? (\d+)(?:-(\d+))?: finish move \w+ -> (\w+)/gm)].filter((m) => {
          const [first, last] = [Number(m[1]), Number(m[2] ?? m[1])];
          for (let s = first; s <= last; s++) if (from.get(s)?.startsWith(m[3]!)) return true;
          return false;
        }),
      );
      expect(reversals.map((m) => m[0])).toEqual([]);
      expect(r.stderr.split('\n').filter((l) => /"level":50/.test(l))).toEqual([]);
      expect(r.code).toBe(0);
      const t = await expectSettled(cluster);
      const misplaced = plan.moves.filter((m) => t.owners[m.slot] !== m.to).map((m) => m.slot);
      expect(misplaced).toEqual([]);
      expect(await missingLoadedKeys(cluster, 'load', KEYS)).toEqual([]);
    });
  }, 180_000);
});
