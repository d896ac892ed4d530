import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectSettled, loadStrings, runCli, withClusterAndQueue } from '../../harness/index.js';

const BIN = join(import.meta.dirname, '..', '..', '..', 'bin', 'slotshift.js');

/** Runs `slotshift args` on a pseudo-terminal (util-linux `script`), as a user at a terminal would. */
function onTerminal(args: readonly string[], typed = ''): { status: number | null; output: string } {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SLOTSHIFT_')));
  const command = [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' ');
  const r = spawnSync('script', ['-qec', command, '/dev/null'], {
    encoding: 'utf8',
    env: base,
    input: typed,
  });
  if (r.error) throw new Error(`could not run script(1) from util-linux: ${r.error.message}`);
  return { status: r.status, output: r.stdout };
}

describe('what apply shows while it works', () => {
  it('on a terminal without --yes: shows the plan, asks, and a "no" changes nothing', async () => {
    await withClusterAndQueue({ masters: 2, emptyMasters: 1 }, async (cluster, queue) => {
      await loadStrings(cluster, { keys: 2_000, prefix: 'ask' });
      const before = await expectSettled(cluster);
      const r = onTerminal(
        [
          ...['apply', '--seed', cluster.seeds[0]!, '--use-empty-masters', '--max-moves', '300'],
          ...['--queue', queue.url],
        ],
        'n\n',
      );
      expect(r.status, r.output).toBe(2);
      expect(r.output).toMatch(/300 slots move, about [\d,]+ keys/);
      expect(r.output).toMatch(/move 300 slots \(about [\d.]+ \w+\)\? \[y\/N\]/);
      expect(r.output).not.toContain('slots moved');
      expect((await expectSettled(cluster)).owners).toEqual(before.owners);
    });
  });

  it('on a terminal: a progress bar up to every slot, and no log lines over it', async () => {
    await withClusterAndQueue({ masters: 2, emptyMasters: 1 }, async (cluster, queue) => {
      await loadStrings(cluster, { keys: 5_000, prefix: 'tty' });
      const r = onTerminal([
        ...['apply', '--seed', cluster.seeds[0]!, '--use-empty-masters', '--max-moves', '300'],
        ...['--queue', queue.url, '--yes', '--concurrency', '4'],
      ]);
      expect(r.status, r.output).toBe(0);
      expect(r.output).toMatch(/slots [█░]+ 300\/300 \| [\d,]+ keys, ~[\d.]+ \w+ \| [\d,]+ keys\/s/);
      expect(r.output).not.toContain('"msg":');
      expect(r.output).toContain('300 of 300 slots moved');
    });
  });

  it('without a terminal: a JSON log line per slot saying what happened to it, and progress lines', async () => {
    await withClusterAndQueue({ masters: 2, emptyMasters: 1 }, async (cluster, queue) => {
      await loadStrings(cluster, { keys: 5_000, prefix: 'pipe' });
      const r = await runCli([
        ...['apply', '--seed', cluster.seeds[0]!, '--use-empty-masters', '--max-moves', '300'],
        ...['--queue', queue.url, '--yes', '--concurrency', '4'],
      ]);
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const moved = lines.filter((l) => l['msg'] === 'slot moved');
      expect(new Set(moved.map((l) => l['slot'])).size).toBe(300);
      for (const l of moved) {
        expect(l).toMatchObject({
          slot: expect.any(Number) as number,
          source: expect.any(String) as string,
          target: expect.any(String) as string,
          keys: expect.any(Number) as number,
          outcome: 'moved',
        });
      }
      expect(lines.some((l) => l['msg'] === 'progress' && l['total'] === 300)).toBe(true);
      expect(r.stderr).not.toMatch(/slots [█░]/);
    });
  });
});
