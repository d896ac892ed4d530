import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, loadPlanFile, loadPlanFiles } from '../../../src/config/index.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const planFilesIn = (dir: string): string[] =>
  readdirSync(join(ROOT, dir))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => join(dir, f));

describe('shipped examples', () => {
  it.each(['config/slotshift.yaml', 'docker/slotshift.yaml'])('%s validates', (file) => {
    const config = loadConfig(join(ROOT, file));
    expect(config.cluster.seeds.length).toBeGreaterThan(0);
    expect(config.tickMs).toBeGreaterThan(0);
  });

  it.each([...planFilesIn('config/plans'), ...planFilesIn('docker/plans')])('%s validates', (file) => {
    const plan = loadPlanFile(join(ROOT, file));
    expect(plan.name).toMatch(/^[a-z0-9-]+$/);
  });

  it('compiles the example config to its fully-defaulted form', () => {
    const config = loadConfig(join(ROOT, 'config/slotshift.yaml'));
    expect(config).toEqual({
      file: join(ROOT, 'config/slotshift.yaml'),
      cluster: {
        seeds: ['10.0.0.1:6379', '10.0.0.2:6379'],
        user: 'slotshift',
        password: { from: 'env', name: 'SLOTSHIFT_PASSWORD' },
        tls: {
          caFile: '/etc/slotshift/tls/ca.pem',
          certFile: '/etc/slotshift/tls/client.pem',
          keyFile: '/etc/slotshift/tls/client.key',
          insecure: false,
        },
        connectTimeoutMs: 5000,
      },
      queue: { url: { from: 'inline', value: 'redis://10.0.0.20:6379/0' } },
      workers: { concurrency: 96, perNodeLimit: 64, nice: 10 },
      moves: {
        verify: true,
        latencyBudgetMs: 5,
        maxBatchBytes: 4 * 1024 * 1024,
        migrateTimeoutMs: 10_000,
        groupSlots: 32,
      },
      http: { listen: '127.0.0.1:9187', token: { from: 'env', name: 'SLOTSHIFT_HTTP_TOKEN' } },
      log: { level: 'info' },
      plans: join(ROOT, 'config/plans'),
      tickMs: 30_000,
    });
  });

  it('reads the example plan directory in name order with sizes and durations as numbers', () => {
    const plans = loadPlanFiles(join(ROOT, 'config/plans'));
    expect(plans.map((p) => p.name)).toEqual(['drain-node', 'scale-out', 'weighted']);
    const [drain, scaleOut, weighted] = plans;
    expect(drain?.policy.pin).toEqual([
      { start: 0, end: 99 },
      { start: 5000, end: 5000 },
    ]);
    expect(drain?.limits.maxBytes).toBe(512_000_000);
    expect(drain?.window).toBeNull();
    expect(scaleOut?.limits).toEqual({
      maxMoves: 4000,
      maxBytes: 20 * 2 ** 30,
      latencyBudgetMs: 5,
      maxPerNode: 4,
    });
    expect(scaleOut?.window).toEqual({
      cron: '0 1 * * *',
      durationMs: 4 * 3_600_000,
      timezone: 'Europe/Berlin',
    });
    expect(weighted?.window?.durationMs).toBe(90 * 60_000);
    expect(weighted?.policy.weights).toEqual({ '10.0.0.7:6379': 2, '10.0.0.8:6379': 1.5, e7d1: 0.5 });
  });
});
