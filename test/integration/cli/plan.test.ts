import calculateSlot from 'cluster-key-slot';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parsePlan } from '../../../src/planner/index.js';
import { StatusReportSchema } from '../../../src/status/index.js';
import { runCli, startLocalRedis, useCluster, type LocalCluster } from '../../harness/index.js';

/** 30 keys in each of slots 0-999, all on the first master: slot counts even, key counts not. */
async function loadSkewed(cluster: LocalCluster): Promise<void> {
  const tags = new Map<number, string>();
  for (let i = 0; tags.size < 1000; i++) {
    const slot = calculateSlot(`{t${i}}`);
    if (slot < 1000 && !tags.has(slot)) tags.set(slot, `{t${i}}`);
  }
  const owner = cluster.connect(cluster.nodes[0]!);
  const pipe = owner.pipeline();
  for (const tag of tags.values()) for (let k = 0; k < 30; k++) pipe.set(`${tag}:${k}`, 'x'.repeat(50));
  await pipe.exec();
  owner.disconnect();
}

describe('slotshift plan', () => {
  let cluster: LocalCluster;
  let seed: string;
  const dir = mkdtempSync(join(tmpdir(), 'slotshift-plan-'));
  beforeAll(async () => {
    cluster = await useCluster({ masters: 3, emptyMasters: 1 });
    seed = cluster.seeds[0]!;
    await loadSkewed(cluster);
  });

  it('--json has planId, moves with slot/from/to/keys/bytes, and before/after slot counts', async () => {
    const r = await runCli(['plan', '--seed', seed, '--use-empty-masters', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      planId: string;
      moves: Array<{ slot: number; from: string; to: string; keys: number; bytes: number }>;
      before: Record<string, number>;
      after: Record<string, number>;
    };
    expect(doc.planId).toMatch(/^[0-9a-f]{16}$/);
    expect(doc.moves.length).toBeGreaterThan(4000);
    const empty = cluster.nodes.find((n) => n.kind === 'empty')!;
    expect(doc.before[empty.id]).toBe(0);
    expect(doc.after[empty.id]).toBeGreaterThan(4000);
    expect(Object.values(doc.after).reduce((a, b) => a + b, 0)).toBe(16384);
    // Slots move, not data: the planner takes the empty slots, none of the 30-key slots 0-999.
    expect(doc.moves.every((m) => m.keys === 0 && m.slot >= 1000)).toBe(true);
  });

  it('prints a before/after table and moves grouped by source -> target, and writes -o for apply -f', async () => {
    const out = join(dir, 'plan.yaml');
    const r = await runCli(['plan', '--seed', seed, '--use-empty-masters', '-o', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/slots before.*slots after/);
    expect(r.stdout).toMatch(/127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+: [\d,]+ slots/);
    expect(r.stdout).toContain(`apply it with: slotshift apply -f ${out}`);
    const { readFileSync } = await import('node:fs');
    expect(parsePlan(readFileSync(out, 'utf8')).moves.length).toBeGreaterThan(4000);
  });

  it('balancing by keys evens out key counts that slot balancing leaves alone', async () => {
    const bySlots = await runCli(['plan', '--seed', seed]);
    expect(bySlots.stdout).toContain('no moves');
    const queue = await startLocalRedis();
    try {
      const r = await runCli([
        'apply',
        '--seed',
        seed,
        '--balance-by',
        'keys',
        '--queue',
        queue.url,
        '--yes',
      ]);
      expect(r.code).toBe(0);
    } finally {
      await queue.stop();
    }
    const status = StatusReportSchema.parse(
      JSON.parse((await runCli(['status', '--seed', seed, '--json'])).stdout),
    );
    const keys = status.masters.filter((m) => m.slots > 0).map((m) => m.keys ?? 0);
    expect(keys.reduce((a, b) => a + b, 0)).toBe(30_000);
    for (const k of keys) expect(Math.abs(k - 10_000) / 10_000).toBeLessThanOrEqual(0.02);
  });

  it('plans for the desired state of a RebalancePlan file (dry run)', async () => {
    const empty = cluster.nodes.find((n) => n.kind === 'empty')!;
    const file = join(dir, 'desired.yaml');
    writeFileSync(
      file,
      `apiVersion: slotshift/v1\nkind: RebalancePlan\nmetadata: { name: t }\nspec:\n  weights: { "${empty.addr}": 2 }\n`,
    );
    const r = await runCli(['plan', '--seed', seed, '-f', file, '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { after: Record<string, number> };
    expect(doc.after[empty.id]).toBeGreaterThan(6000);
  });

  describe('bad input: one clear message, exit code 2, nothing changed', () => {
    const cases: Array<[string, string[], RegExp]> = [
      [
        'unknown node in --weight',
        ['--weight', '10.9.9.9:1=2'],
        /no master matches|unknown node|10\.9\.9\.9:1/i,
      ],
      ['unknown node in --drain', ['--drain', 'ffffffff'], /ffffffff/],
      ['negative weight', ['--weight', `${'SEED'}=-1`], /weight/i],
      ['non-numeric weight', ['--weight', `${'SEED'}=abc`], /NODE=WEIGHT/],
      ['all weights zero', ['--drain', 'ALL'], /weight|nowhere|drain/i],
      ['pinned slot on a drained node', ['--drain', 'SEED', '--pin', '0-10'], /pin/i],
      ['bad pin range', ['--pin', '10-5'], /not a slot or slot range/],
      ['bad threshold', ['--threshold', 'lots'], /--threshold/],
    ];
    for (const [name, args, message] of cases) {
      it(name, async () => {
        const expanded = args.flatMap((a) =>
          a === 'ALL'
            ? cluster.seeds
                .join('\u0000')
                .split('\u0000')
                .flatMap((s, i) => (i === 0 ? [s] : ['--drain', s]))
            : [a.replace('SEED', seed)],
        );
        const r = await runCli(['plan', '--seed', seed, ...expanded]);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
      });
    }

    it('an unknown node in a plan file names the file, line and field', async () => {
      const file = join(dir, 'bad.yaml');
      writeFileSync(
        file,
        'apiVersion: slotshift/v1\nkind: RebalancePlan\nmetadata: { name: t }\nspec:\n  drain:\n    - 10.9.9.9:1\n',
      );
      const r = await runCli(['plan', '--seed', seed, '-f', file]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${file}:6`);
      expect(r.stderr).toContain('spec.drain');
    });

    it('open slots are refused with a pointer to slotshift fix', async () => {
      const [a, b] = cluster.nodes;
      const ca = cluster.connect(a!);
      await ca.call('CLUSTER', 'SETSLOT', '16000', 'IMPORTING', b!.id);
      try {
        const r = await runCli(['plan', '--seed', seed, '--use-empty-masters']);
        expect(r.code).toBe(2);
        expect(r.stderr).toContain('slotshift fix');
      } finally {
        await ca.call('CLUSTER', 'SETSLOT', '16000', 'STABLE');
        ca.disconnect();
      }
    });
  });
});
