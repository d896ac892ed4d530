import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  expectSettled,
  loadStrings,
  missingLoadedKeys,
  runCli,
  withClusterAndQueue,
} from '../../harness/index.js';

/** A config file as the daemon reads it, naming only a seed and the queue. */
function configFile(seed: string, queueUrl: string, extra = ''): string {
  const file = join(mkdtempSync(join(tmpdir(), 'slotshift-config-')), 'slotshift.yaml');
  writeFileSync(file, `cluster:\n  seeds:\n    - ${seed}\nqueue:\n  url: ${queueUrl}\n${extra}`);
  return file;
}

describe("-c, --config: the daemon's config file for apply, worker and the control commands", () => {
  it('gives apply its cluster and queue, and progress its queue; a flag still wins', async () => {
    await withClusterAndQueue({ masters: 2, emptyMasters: 1 }, async (cluster, queue) => {
      await loadStrings(cluster, { keys: 5_000, prefix: 'cf' });
      const file = configFile(cluster.seeds[0]!, queue.url);
      const r = await runCli(['apply', '-c', file, '--use-empty-masters', '--max-moves', '50', '--yes']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain('50 of 50 slots moved');
      const progress = await runCli(['progress', '-c', file, '--json']);
      expect(progress.code, progress.stderr).toBe(0);
      expect(JSON.parse(progress.stdout)).toMatchObject({ done: 50, total: 50 });
      // --queue wins over the file's queue: an unreachable one is refused at once, naming it (a
      // worker too: it retries a queue it loses later, not one it never reached).
      const before = await expectSettled(cluster);
      for (const command of [['progress'], ['apply', '--use-empty-masters', '--yes'], ['worker']]) {
        const r = await runCli([...command, '-c', file, '--queue', 'redis://127.0.0.1:1']);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toContain('cannot reach the queue Redis at 127.0.0.1:1: connection refused');
      }
      expect((await expectSettled(cluster)).owners).toEqual(before.owners);
      expect(await missingLoadedKeys(cluster, 'cf', 5_000)).toEqual([]);
    });
  });

  it('a config file with a mistake is refused with its file and line, and nothing moves', async () => {
    await withClusterAndQueue({ masters: 2, emptyMasters: 1 }, async (cluster, queue) => {
      const before = await expectSettled(cluster);
      const file = configFile(cluster.seeds[0]!, queue.url, 'workers:\n  concurency: 4\n');
      const r = await runCli(['apply', '-c', file, '--use-empty-masters', '--yes']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${file}:7:`);
      expect(r.stderr).toContain('workers.concurency: unknown field "concurency"');
      expect((await expectSettled(cluster)).owners).toEqual(before.owners);
    });
  });
});
