import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HttpListenError } from '../../../src/http/index.js';
import { runCli, startLocalCluster, startLocalRedis, type LocalRedis } from '../../harness/index.js';
import { daemonOn, queueName, tempDir, waitFor, writePlan } from './helpers.js';

/** A daemon config file in `dir`: a seed nothing listens on, the queue, plans and HTTP address. */
function config(dir: string, queue: LocalRedis, plans: string, listen: string): string {
  const file = join(dir, 'slotshift.yaml');
  writeFileSync(
    file,
    `cluster:\n  seeds: ['127.0.0.1:1']\nqueue:\n  url: ${queue.url}\nplans: ${plans}\nhttp:\n  listen: ${listen}\n`,
  );
  return file;
}

const BAD_ZONE = `window:\n  cron: '0 1 * * *'\n  duration: 1h\n  timezone: Nowhere/X`;

async function readyz(address: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://${address}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('slotshift daemon: start-up checks and readiness', () => {
  it('refuses to start on a plan file that does not load, a missing plans directory, or an HTTP address in use', async () => {
    const queue = await startLocalRedis();
    const busy: Server = createServer();
    try {
      await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
      const port = (busy.address() as { port: number }).port;
      // Port 0 is no HOST:PORT in a config file; the busy port serves where the address must not matter.
      const listen = `127.0.0.1:${port}`;
      const dir = tempDir();
      const plan = writePlan(dir, 'bad-zone', BAD_ZONE);
      const bad = await runCli(['daemon', '-c', config(dir, queue, plan, listen)], {}, 30_000);
      expect(bad.stderr).toMatch(new RegExp(`${plan}:\\d+:\\d+: spec\\.window\\.timezone`));
      expect(bad.stderr).not.toContain('daemon started');
      expect(bad.code).toBe(2);

      const missing = await runCli(['daemon', '-c', config(dir, queue, 'no-such-dir', listen)], {}, 30_000);
      expect(missing.stderr).toContain(`cannot read ${join(dir, 'no-such-dir')}`);
      expect(missing.code).toBe(2);

      const good = writePlan(dir, 'balanced', 'useEmptyMasters: false');
      const inUse = await runCli(
        ['daemon', '-c', config(dir, queue, good, listen)],
        { SLOTSHIFT_LOG_LEVEL: 'info' },
        30_000,
      );
      expect(inUse.stderr).toContain(
        `cannot serve the HTTP API on 127.0.0.1:${port}: the address is already in use`,
      );
      expect(inUse.stderr).toContain('set http.listen in the config file, or --listen');
      expect(inUse.stderr).not.toContain('unexpected error');
      // It took no role: no lease, no round.
      expect(inUse.stderr).not.toContain('planner lease taken');
      expect(inUse.stderr).not.toContain('state changed');
      expect(inUse.code).toBe(2);
    } finally {
      busy.close();
      await queue.stop();
    }
  });

  it('a second daemon on the same address fails before it takes the lease; the first keeps it', async () => {
    const cluster = await startLocalCluster({ masters: 2 });
    const queue = await startLocalRedis();
    try {
      const dir = tempDir();
      writePlan(dir, 'balanced', 'useEmptyMasters: false');
      const name = queueName();
      const first = await daemonOn(cluster, queue.url, { plans: dir, queueName: name });
      try {
        await expect(
          daemonOn(cluster, queue.url, { plans: dir, queueName: name, listen: first.httpAddress }),
        ).rejects.toThrow(HttpListenError);
        const status = await first.status();
        expect(status.role).toBe('leader');
        expect(status.leaseHolder).toBe(status.leaseToken);
      } finally {
        await first.stop();
      }
    } finally {
      await cluster.stop();
      await queue.stop();
    }
  });

  it('a plan file made invalid while the daemon runs: it stays up, not ready, with the reason, until fixed', async () => {
    const cluster = await startLocalCluster({ masters: 2 });
    const queue = await startLocalRedis();
    try {
      const dir = tempDir();
      const file = writePlan(dir, 'balanced', 'useEmptyMasters: false');
      const daemon = await daemonOn(cluster, queue.url, { plans: dir, queueName: queueName() });
      try {
        await waitFor('ready', async () => (await readyz(daemon.httpAddress)).status === 200);

        writePlan(dir, 'balanced', BAD_ZONE);
        const broken = await waitFor('not ready', async () => {
          await daemon.tick();
          const r = await readyz(daemon.httpAddress);
          return r.status === 503 && r;
        });
        expect(broken.body['checks']).toMatchObject({ plans: false, cluster: true, queue: true });
        expect(broken.body['reason']).toMatch(
          new RegExp(`plan files: ${file}:\\d+:\\d+: spec\\.window\\.timezone`),
        );
        expect((await fetch(`http://${daemon.httpAddress}/healthz`)).status).toBe(200);

        writePlan(dir, 'balanced', 'useEmptyMasters: false');
        const fixed = await waitFor('ready again', async () => {
          await daemon.tick();
          const r = await readyz(daemon.httpAddress);
          return r.status === 200 && r;
        });
        expect(fixed.body).not.toHaveProperty('reason');
      } finally {
        await daemon.stop();
      }
    } finally {
      await cluster.stop();
      await queue.stop();
    }
  });
});
