import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import {
  findRedisServer,
  freePorts,
  startLocalCluster,
  startLocalRedis,
  startOnFreePorts,
  loadStrings,
} from '../../harness/index.js';

describe('local cluster harness', () => {
  it('starts 3 masters + 3 empty masters that agree on the slot map, and stops them all', async () => {
    const started = Date.now();
    const cluster = await startLocalCluster({ masters: 3, emptyMasters: 3 });
    const startupMs = Date.now() - started;
    try {
      expect(cluster.nodes).toHaveLength(6);
      expect(new Set(cluster.nodes.map((n) => n.port)).size).toBe(6);
      const c = cluster.connect(cluster.nodes[5]!);
      const info = (await c.call('CLUSTER', 'INFO')) as string;
      expect(info).toContain('cluster_state:ok');
      expect(info).toContain('cluster_known_nodes:6');
      expect(info).toContain('cluster_slots_assigned:16384');
      c.disconnect();
      // Reported, not asserted: wall time depends on the machine's load (DEVELOPERS: no timed assertions).
      console.log(`6-node cluster up in ${startupMs} ms`);
    } finally {
      await cluster.stop();
    }
    for (const n of cluster.nodes) expect(() => process.kill(n.pid, 0)).toThrow();
  });

  it('attaches replicas to their masters', async () => {
    const cluster = await startLocalCluster({ masters: 3, replicasPerMaster: 1 });
    try {
      const replicas = cluster.nodes.filter((n) => n.kind === 'replica');
      expect(replicas).toHaveLength(3);
      for (const r of replicas) {
        const c = cluster.connect(r);
        const info = await c.info('replication');
        c.disconnect();
        expect(info).toContain('role:slave');
        expect(info).toContain('master_link_status:up');
        const master = cluster.nodes.find((n) => n.id === r.masterId)!;
        expect(info).toContain(`master_port:${master.port}`);
      }
    } finally {
      await cluster.stop();
    }
  });

  it('loads keys onto the owning masters', async () => {
    const cluster = await startLocalCluster({ masters: 3 });
    try {
      await loadStrings(cluster, { keys: 3000, valueBytes: 50 });
      let total = 0;
      for (const n of cluster.nodes) {
        const c = cluster.connect(n);
        total += await c.dbsize();
        c.disconnect();
      }
      expect(total).toBe(3000);
    } finally {
      await cluster.stop();
    }
  });

  it('starts a standalone redis for the queue', async () => {
    const redis = await startLocalRedis();
    try {
      expect(redis.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      await redis.stop();
    }
  });

  it('moves to other ports when another process takes its port before redis-server binds it', async () => {
    const [taken, bus] = await freePorts(2);
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(taken, '127.0.0.1', r));
    const dir = mkdtempSync(join(tmpdir(), 'slotshift-port-'));
    try {
      const started = await startOnFreePorts(findRedisServer(), dir, [taken!, bus!], () => []);
      expect(started.port).not.toBe(taken);
      const r = new Redis({ host: '127.0.0.1', port: started.port, lazyConnect: true });
      await r.connect();
      expect(await r.ping()).toBe('PONG');
      r.disconnect();
      started.child.kill('SIGKILL');
    } finally {
      squatter.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
