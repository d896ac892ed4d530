import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { masters, slotCount } from '../../../src/cluster/index.js';
import { BIN, expectSettled, runCli, waitForPlanProgress, withClusterAndQueue } from '../../harness/index.js';

const dir = mkdtempSync(join(tmpdir(), 'slotshift-sources-'));

function rebalancePlan(name: string, spec: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `apiVersion: slotshift/v1\nkind: RebalancePlan\nmetadata:\n  name: ${name}\nspec:\n${spec}\n`,
  );
  return file;
}

/** An apply interrupted before any slot moved (no workers): its plan is left unfinished on the queue. */
async function leaveUnfinishedPlan(
  seed: string,
  queueUrl: string,
): Promise<{ planId: string; total: number }> {
  const first = spawn(
    process.execPath,
    [BIN, 'apply', '--seed', seed, '--use-empty-masters', '--queue', queueUrl, '--yes', '--no-workers'],
    { stdio: 'ignore' },
  );
  const exited = new Promise<number | null>((resolve) => first.once('exit', resolve));
  await waitForPlanProgress(queueUrl, 0);
  first.kill('SIGINT');
  expect(await exited).toBe(1);
  return JSON.parse((await runCli(['progress', '--queue', queueUrl, '--json'])).stdout) as {
    planId: string;
    total: number;
  };
}

describe('where a plan comes from: -f FILE, flags, the queue', () => {
  it('refuses policy flags next to -f (they were dropped); a plan file sets the latency budget', async () => {
    await withClusterAndQueue({ masters: 2, emptyMasters: 1 }, async (cluster, queue) => {
      const seed = cluster.seeds[0]!;
      const noop = rebalancePlan('noop', '  threshold: 2');
      const before = await expectSettled(cluster);
      const planned = await runCli(['plan', '--seed', seed, '-f', noop, '--drain', seed, '--threshold', '0']);
      expect(planned.code).toBe(2);
      expect(planned.stderr).toContain(`--drain, --threshold cannot be combined with -f ${noop}`);
      expect(planned.stdout).toBe('');
      const applied = await runCli([
        'apply',
        '--seed',
        seed,
        '-f',
        noop,
        '--use-empty-masters',
        '--queue',
        queue.url,
        '--yes',
      ]);
      expect(applied.code).toBe(2);
      expect(applied.stderr).toContain(`--use-empty-masters cannot be combined with -f ${noop}`);
      expect(applied.stderr).toMatch(/Put them in the file.*or drop -f/);
      expect((await expectSettled(cluster)).owners).toEqual(before.owners);

      // spec.limits.latencyBudgetMs used to be read and ignored.
      const scale = rebalancePlan(
        'scale',
        '  useEmptyMasters: true\n  limits:\n    maxMoves: 20\n    latencyBudgetMs: 9',
      );
      const r = await runCli(['apply', '--seed', seed, '-f', scale, '--queue', queue.url, '--yes'], {
        SLOTSHIFT_LOG_LEVEL: 'info',
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('20 of 20 slots moved');
      const enqueued = JSON.parse(r.stderr.split('\n').find((l) => l.includes('"plan enqueued"'))!) as Record<
        string,
        unknown
      >;
      expect(enqueued).toMatchObject({ latencyBudgetMs: 9, perNodeLimit: 64 });

      // `plan -o` saves the latency budget (the file's, or --latency-budget-ms) and `apply -f` of the
      // saved plan uses it: it was dropped, and the saved plan moved with the default.
      const flagged = join(dir, 'scale-flagged.json');
      const withFlag = await runCli([
        'plan',
        '--seed',
        seed,
        '-f',
        scale,
        '--latency-budget-ms',
        '4',
        '-o',
        flagged,
      ]);
      expect(withFlag.code, withFlag.stderr).toBe(0);
      expect(JSON.parse(readFileSync(flagged, 'utf8'))).toMatchObject({ limits: { latencyBudgetMs: 4 } });
      const saved = join(dir, 'scale-saved.yaml');
      const p = await runCli(['plan', '--seed', seed, '-f', scale, '-o', saved]);
      expect(p.code, p.stderr).toBe(0);
      expect(parseYaml(readFileSync(saved, 'utf8'))).toMatchObject({ limits: { latencyBudgetMs: 9 } });
      const s = await runCli(['apply', '--seed', seed, '-f', saved, '--queue', queue.url, '--yes'], {
        SLOTSHIFT_LOG_LEVEL: 'info',
      });
      expect(s.code, s.stderr).toBe(0);
      expect(s.stdout).toContain('20 of 20 slots moved');
      const savedEnqueued = JSON.parse(
        s.stderr.split('\n').find((l) => l.includes('"plan enqueued"'))!,
      ) as Record<string, unknown>;
      expect(savedEnqueued).toMatchObject({ latencyBudgetMs: 9 });
    });
  });

  it('refuses a saved plan edited so that its moves do not fit the cluster, naming the file and move', async () => {
    await withClusterAndQueue({ masters: 2, emptyMasters: 1 }, async (cluster, queue) => {
      const seed = cluster.seeds[0]!;
      const saved = join(dir, 'fresh.json');
      expect((await runCli(['plan', '--seed', seed, '--use-empty-masters', '-o', saved])).code).toBe(0);
      const plan = JSON.parse(readFileSync(saved, 'utf8')) as {
        moves: Array<{ slot: number; from: string; to: string }>;
      };
      const before = await expectSettled(cluster);
      const m = plan.moves[3]!;
      const moving = new Set(plan.moves.map((x) => x.slot));
      const other = before.owners.findIndex((o, slot) => o !== null && o !== m.from && !moving.has(slot));
      const edited = (name: string, change: (moves: typeof plan.moves) => void): string => {
        const copy = structuredClone(plan);
        change(copy.moves);
        const file = join(dir, `${name}.json`);
        writeFileSync(file, JSON.stringify(copy));
        return file;
      };
      const cases = [
        [
          edited('unknown-target', (ms) => (ms[3]!.to = 'deadbeef'.repeat(5))),
          `moves[3] (slot ${m.slot}): its target ${'deadbeef'.repeat(5)} is not a node of this cluster`,
        ],
        [
          edited('not-the-owner', (ms) => (ms[3]!.slot = other)),
          `moves[3] (slot ${other}): slot ${other} is owned by`,
        ],
        [
          edited('twice', (ms) => (ms[4]!.slot = m.slot)),
          `invalid plan at moves.4.slot: slot ${m.slot} moves twice`,
        ],
      ] as const;
      for (const [file, problem] of cases) {
        const shown = await runCli(['plan', '--seed', seed, '-f', file]);
        expect(shown.code, shown.stdout).toBe(2);
        expect(shown.stderr).toContain(`${file}: `);
        expect(shown.stderr).toContain(problem);
        const applied = await runCli(['apply', '--seed', seed, '-f', file, '--queue', queue.url, '--yes']);
        expect(applied.code, applied.stdout + applied.stderr).toBe(2);
        expect(applied.stderr).toContain(problem);
        expect(applied.stderr).not.toContain('unexpected error');
      }
      expect((await expectSettled(cluster)).owners).toEqual(before.owners);
      // Nothing was enqueued either.
      expect((await runCli(['progress', '--queue', queue.url])).stderr).toContain(
        'no plan has been enqueued',
      );
    });
  });

  it('apply with other policy flags does not resume the unfinished plan on the queue; after cancel it plans anew', async () => {
    await withClusterAndQueue({ masters: 2, emptyMasters: 1 }, async (cluster, queue) => {
      const seed = cluster.seeds[0]!;
      const { planId } = await leaveUnfinishedPlan(seed, queue.url);
      const before = await expectSettled(cluster);

      const weighted = ['apply', '--seed', seed, '--weight', `${seed}=2`, '--queue', queue.url, '--yes'];
      const refused = await runCli(weighted);
      expect(refused.code, refused.stdout).toBe(2);
      expect(refused.stdout).not.toContain('resuming');
      expect(refused.stderr).toContain(`the queue holds unfinished plan ${planId} (0 of `);
      expect(refused.stderr).toContain('the flags given (--weight) make a different plan');
      expect(refused.stderr).toContain(`\`slotshift cancel --queue ${queue.url} --plan ${planId}\``);
      expect((await expectSettled(cluster)).owners).toEqual(before.owners);

      expect((await runCli(['cancel', '--queue', queue.url])).code).toBe(0);
      const fresh = await runCli(weighted);
      expect(fresh.code, fresh.stdout + fresh.stderr).toBe(0);
      expect(fresh.stdout).toContain(`plan ${planId} on the queue was cancelled`);
      expect(fresh.stdout).not.toContain('resuming');
      // What the flags asked for (within the default 2% threshold): the seed master holds about
      // twice the other's slots, and the empty master none.
      const counts = new Map(masters(await expectSettled(cluster)).map((n) => [n.addr, slotCount(n.slots)]));
      expect(counts.get(seed)).toBeGreaterThan(10_700);
      expect(counts.get(cluster.seeds[2]!)).toBe(0);
    });
  });

  it('apply -f says it replaces an unfinished plan on the queue before it asks', async () => {
    await withClusterAndQueue({ masters: 2, emptyMasters: 1 }, async (cluster, queue) => {
      const seed = cluster.seeds[0]!;
      const { planId, total } = await leaveUnfinishedPlan(seed, queue.url);
      const saved = join(dir, 'weighted.yaml');
      expect((await runCli(['plan', '--seed', seed, '--weight', `${seed}=2`, '-o', saved])).code).toBe(0);
      const replacing = await runCli(['apply', '--seed', seed, '-f', saved, '--queue', queue.url, '--yes']);
      expect(replacing.code, replacing.stderr).toBe(0);
      expect(replacing.stdout).toContain(
        `this replaces the unfinished plan ${planId} on the queue (0 of ${total.toLocaleString('en-US')} slots moved): its remaining slots are cancelled`,
      );
    });
  });
});
