import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { startDaemon, type Daemon, type DaemonOptions } from '../../../src/daemon/index.js';
import { HttpListenError } from '../../../src/http/index.js';
import {
  BIN,
  forwardPort,
  freePorts,
  runCli,
  startLocalCluster,
  startLocalRedis,
  type LocalRedis,
} from '../../harness/index.js';
import { capturedLog, daemonOn, queueName, tempDir, waitFor, writePlan, type LogLine } from './helpers.js';

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

/**
 * A daemon whose queue Redis is at `queuePort` on 127.0.0.1, with no cluster: the queue's comings
 * and goings are seen without one (the seed answers nothing, so its rounds fail after them).
 */
async function daemonWithoutCluster(
  queuePort: number,
  queueRetry?: DaemonOptions['queueRetry'],
): Promise<{ daemon: Daemon; logged: LogLine[] }> {
  const { log, logged } = capturedLog();
  const dir = tempDir();
  writePlan(dir, 'balanced', 'useEmptyMasters: false');
  const daemon = await startDaemon({
    seeds: [{ host: '127.0.0.1', port: 1 }],
    connection: {},
    queueUrl: `redis://127.0.0.1:${queuePort}`,
    queueName: queueName(),
    plans: dir,
    listen: '127.0.0.1:0',
    tickMs: 500,
    leaseTtlMs: 3000,
    processMetrics: false,
    ...(queueRetry ? { queueRetry } : {}),
    log,
  });
  return { daemon, logged };
}

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

      // A queue URL the server refuses is exit 2 at once, not waited for: waiting cannot fix it.
      // These run beside the waiting daemon below, each on its own HTTP port, to keep the file short.
      const [free, nothing, ...others] = await freePorts(4);
      const freeListen = `127.0.0.1:${free}`;
      const conf = config(dir, queue, good, freeListen);
      const admin = new Redis(queue.port, '127.0.0.1');
      await admin.call('ACL', 'SETUSER', 'alice', 'on', '>right', '~*', '&*', '+@all');
      admin.disconnect();
      const refusals = Promise.all(
        (
          [
            [`redis://alice:wrong@127.0.0.1:${queue.port}`, 'authentication failed (WRONGPASS'],
            [`${queue.url}/99`, `--queue: database 99 does not exist on 127.0.0.1:${queue.port}`],
          ] as const
        ).map(async ([url, says], i) => ({
          says,
          refused: await runCli(
            ['daemon', '-c', conf, '--queue', url, '--listen', `127.0.0.1:${others[i]!}`],
            { SLOTSHIFT_LOG_LEVEL: 'info' },
            30_000,
          ),
        })),
      );

      // One that does not answer is waited for, serving /healthz and /readyz (503, with the reason);
      // SIGTERM while it waits is a clean stop. It used to exit 2.
      const waiting = spawn(
        process.execPath,
        [BIN, 'daemon', '-c', conf, '--queue', `redis://127.0.0.1:${nothing}`],
        { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SLOTSHIFT_LOG_LEVEL: 'info' } },
      );
      let stderr = '';
      waiting.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((r) => waiting.once('exit', r));
      try {
        await waitFor('a retry logged', () => stderr.includes('retrying in 1 s'), 15_000);
        const line = JSON.parse(stderr.split('\n').find((l) => l.includes('retrying in 1 s'))!) as Record<
          string,
          unknown
        >;
        expect(line).toMatchObject({ attempt: 1, retryInMs: 1000 });
        expect(line['reason']).toContain(
          `cannot reach the queue Redis at 127.0.0.1:${nothing}: connection refused`,
        );
        expect((await fetch(`http://${freeListen}/healthz`)).status).toBe(200);
        const r = await readyz(freeListen);
        expect(r.status).toBe(503);
        expect(r.body['reason']).toContain('queue: cannot reach the queue Redis');
      } finally {
        waiting.kill('SIGTERM');
      }
      expect(await exited, stderr).toBe(0);
      expect(stderr).not.toContain('daemon started');
      for (const { says, refused } of await refusals) {
        expect(refused.stderr).toContain(says);
        expect(refused.stderr).not.toContain('queue Redis not reachable');
        expect(refused.stderr).not.toContain('daemon started');
        expect(refused.code).toBe(2);
      }
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
  it('waits for a queue Redis that does not answer yet, with backoff, then starts once it does', async () => {
    const queue = await startLocalRedis();
    const [port] = await freePorts(1);
    const { daemon, logged } = await daemonWithoutCluster(port!, { firstMs: 100, maxMs: 200 });
    let proxy: { close(): Promise<void> } | null = null;
    try {
      const retries = await waitFor('three attempts logged', () => {
        const r = logged.filter((l) => l.msg.startsWith('queue Redis not reachable'));
        return r.length >= 3 && r;
      });
      expect(retries.map((l) => l['retryInMs'])).toEqual([100, 200, 200]);
      expect(retries[0]!.msg).toBe('queue Redis not reachable (attempt 1); retrying in 0.1 s');
      expect(retries[0]!['reason']).toContain(`127.0.0.1:${port}: connection refused`);
      expect((await fetch(`http://${daemon.httpAddress}/healthz`)).status).toBe(200);
      const waiting = await readyz(daemon.httpAddress);
      expect(waiting.status).toBe(503);
      expect(waiting.body['checks']).toMatchObject({ queue: false });
      expect(waiting.body['reason']).toMatch(
        /^queue: cannot reach the queue Redis at .*: connection refused/,
      );
      const status = await daemon.status();
      expect(status).toMatchObject({ state: 'starting', role: 'standby', plan: null });
      expect(status.lastError?.kind).toBe('QueueUnreachableError');

      // The queue Redis appears at its address: the daemon starts, takes the lease, and /readyz no
      // longer names the queue.
      proxy = await forwardPort(port!, queue.port);
      await waitFor('the planner lease', async () => (await daemon.status()).role === 'leader');
      const msgs = logged.map((l) => l.msg);
      expect(msgs).toContain('queue Redis reachable; starting');
      expect(msgs).toContain('daemon started');
      const after = await readyz(daemon.httpAddress);
      expect(after.body['checks']).toMatchObject({ queue: true });
      expect(after.body['reason'] ?? '').not.toMatch(/^queue:/);
    } finally {
      await daemon.stop();
      await proxy?.close();
      await queue.stop();
    }
    expect(daemon.state()).toBe('stopped');
  });

  it('a queue Redis that goes away while the daemon runs: one warning, a line when it is back, and stop does not wait for it', async () => {
    const queue = await startLocalRedis();
    const [port] = await freePorts(1);
    let proxy = await forwardPort(port!, queue.port);
    const { daemon, logged } = await daemonWithoutCluster(port!);
    const away = (): typeof logged => logged.filter((l) => l.msg.startsWith('queue Redis unreachable'));
    try {
      await waitFor('the planner lease', async () => (await daemon.status()).role === 'leader');
      await proxy.close();
      await waitFor('the outage logged', () => away().length > 0);
      // BullMQ retries its connections every second or two; before, each retry was an error line
      // with its stack ("worker error").
      await new Promise((r) => setTimeout(r, 4000));
      expect(away()).toHaveLength(1);
      expect(away()[0]!.level).toBe(40);
      expect(logged.filter((l) => l.msg === 'worker error')).toEqual([]);

      proxy = await forwardPort(port!, queue.port);
      await waitFor('back', () => logged.some((l) => l.msg.startsWith('queue Redis reachable again')));

      // Away again when asked to stop, with no slot in flight: it stops at once. Before, it waited
      // for the queue Redis for good (the CLI's --stop-timeout ended it, exit 1).
      await proxy.close();
      await waitFor('the second outage logged', () => away().length > 1);
      const stopped = await Promise.race([
        daemon.stop().then(() => 'stopped'),
        new Promise((r) => setTimeout(() => r('still stopping after 20 s'), 20_000)),
      ]);
      expect(stopped).toBe('stopped');
      expect(daemon.state()).toBe('stopped');
    } finally {
      await proxy.close();
      await queue.stop();
    }
  });
});
