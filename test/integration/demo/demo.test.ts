import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const DEMO = join(import.meta.dirname, '..', '..', '..', 'dist', 'src', 'demo', 'run-demo.js');

describe('npm run demo', () => {
  it('rebalances a throwaway cluster and shows that every slot still holds what it held', async () => {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SLOTSHIFT_')));
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      // Fewer keys than the README's demo (200,000): the same steps, in seconds.
      execFile(
        process.execPath,
        [DEMO],
        { env: { ...base, DEMO_KEYS: '5000' }, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
        (error, stdout, stderr) =>
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
      );
    });
    expect(r.code, r.stdout.slice(-2000) + r.stderr.slice(-2000)).toBe(0);
    expect(r.stdout).toMatch(/([\d,]+) of \1 slots moved \([\d,]+ keys.*\1 verified, 0 mismatches/);
    expect(r.stdout).toContain('matches the snapshot taken');
    expect(r.stdout).toMatch(/verdict: balanced/);
    expect(r.stdout).toContain('open slots: none');
  }, 120_000);
});
