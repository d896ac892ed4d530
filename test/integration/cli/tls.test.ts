import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { masters, slotCount } from '../../../src/cluster/index.js';
import { StatusReportSchema } from '../../../src/status/index.js';
import {
  expectSettled,
  loadStrings,
  missingLoadedKeys,
  runCli,
  startLocalCluster,
  startLocalRedis,
  topologyOf,
  useTlsCertificates,
  type LocalCluster,
  type LocalRedis,
} from '../../harness/index.js';

const KEYS = 5000;

/**
 * The CLI against a TLS-only cluster (`port 0`, TLS on the client port, the bus and replication) that
 * demands client certificates: status, a failed connection that changes nothing, and a real apply
 * whose MIGRATEs run node to node over TLS.
 */
describe('slotshift over mutual TLS', () => {
  const certs = useTlsCertificates();
  /** Another CA's client certificate, which the servers must refuse. */
  const stranger = useTlsCertificates();
  let cluster: LocalCluster;
  let queue: LocalRedis;
  const clientCert = (): string[] => ['--tls-cert', certs.clientCertFile, '--tls-key', certs.clientKeyFile];
  const verified = (): string[] => ['--tls-ca', certs.caFile, ...clientCert()];

  beforeAll(async () => {
    cluster = await startLocalCluster({ masters: 3, emptyMasters: 1, tls: certs });
    // The queue Redis is plain TCP: only the cluster speaks TLS.
    queue = await startLocalRedis();
    await loadStrings(cluster, { keys: KEYS, prefix: 'tls' });
  });
  afterAll(async () => {
    await cluster?.stop();
    await queue?.stop();
  });

  it('status --json reads the topology through the TLS ports, verifying the servers', async () => {
    const r = await runCli(['status', '--seed', cluster.seeds[0]!, ...verified(), '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = StatusReportSchema.parse(JSON.parse(r.stdout));
    expect(report.clusterState).toBe('ok');
    expect(report.masters.map((m) => m.addr).sort()).toEqual([...cluster.seeds].sort());
    expect(report.masters.every((m) => m.reachable)).toBe(true);
    expect(report.masters.reduce((a, m) => a + m.slots, 0)).toBe(16384);
    expect(report.masters.reduce((a, m) => a + (m.keys ?? 0), 0)).toBe(KEYS);
    const empty = cluster.nodes.find((n) => n.kind === 'empty')!;
    expect(report.masters.find((m) => m.id === empty.id)?.slots).toBe(0);
    expect(report.balance).toMatchObject({ mastersWithSlots: 3, emptyMasters: 1 });
    expect(report.openSlots).toEqual([]);
    expect(report.agreed).toBe(true);
  });

  it('status works with --tls-insecure and no CA', async () => {
    const r = await runCli([
      'status',
      '--seed',
      cluster.seeds[1]!,
      '--tls-insecure',
      ...clientCert(),
      '--json',
    ]);
    expect(r.code).toBe(0);
    const report = StatusReportSchema.parse(JSON.parse(r.stdout));
    expect(report.masters).toHaveLength(4);
    expect(report.masters.reduce((a, m) => a + m.slots, 0)).toBe(16384);
  });

  it('without --tls-ca the server certificate is not trusted: exit 2, one TLS line, nothing changed', async () => {
    const before = await topologyOf(cluster);
    const r = await runCli([
      'apply',
      '--seed',
      cluster.seeds[0]!,
      ...clientCert(),
      '--use-empty-masters',
      '--queue',
      queue.url,
      '--yes',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`TLS connection to ${cluster.seeds[0]} failed`);
    expect(r.stderr).toMatch(/certificate/i);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
    const after = await topologyOf(cluster);
    expect(after.owners).toEqual(before.owners);
    const q = new Redis(queue.port, queue.host);
    try {
      expect(await q.dbsize()).toBe(0);
    } finally {
      q.disconnect();
    }
  });

  it('mutual TLS: no client certificate, or one from another CA, is refused with exit 2', async () => {
    const missing = await runCli(['status', '--seed', cluster.seeds[0]!, '--tls-ca', certs.caFile]);
    expect(missing.code, missing.stderr).toBe(2);
    expect(missing.stderr).toContain(`TLS connection to ${cluster.seeds[0]} failed`);
    expect(missing.stderr).toContain('client certificate');
    const foreign = await runCli([
      'status',
      '--seed',
      cluster.seeds[0]!,
      '--tls-ca',
      certs.caFile,
      '--tls-cert',
      stranger.clientCertFile,
      '--tls-key',
      stranger.clientKeyFile,
    ]);
    expect(foreign.code, foreign.stderr).toBe(2);
    expect(foreign.stderr).toContain(`TLS connection to ${cluster.seeds[0]} failed`);
    expect(foreign.stderr).toContain('client certificate');
  });

  it('apply moves slots onto the empty master over TLS: every key kept, no slot open', async () => {
    const r = await runCli([
      'apply',
      '--seed',
      cluster.seeds[0]!,
      ...verified(),
      '--use-empty-masters',
      '--queue',
      queue.url,
      '--yes',
    ]);
    // No warning either: a write watcher or an owner announcement that cannot connect over TLS only warns.
    expect(r.stderr.split('\n').filter((l) => /"level":(40|50|60)/.test(l))).toEqual([]);
    expect(r.code).toBe(0);
    const summary = /([\d,]+) of \1 slots moved \(([\d,]+) keys, .*, \1 verified, 0 mismatches/.exec(
      r.stdout,
    );
    expect(summary, r.stdout).not.toBeNull();
    // Keys really moved, so MIGRATE ran node to node over TLS (tls-cluster), not only empty slots.
    const movedKeys = Number(summary![2]!.replace(/,/g, ''));
    expect(movedKeys).toBeGreaterThan(0);
    const empty = cluster.nodes.find((n) => n.kind === 'empty')!;
    const target = cluster.connect(empty);
    try {
      expect(await target.dbsize()).toBe(movedKeys);
    } finally {
      target.disconnect();
    }
    const t = await expectSettled(cluster);
    // Open slots are read from each node's own view: every node must have answered over TLS.
    expect(t.nodes.every((n) => n.reachable)).toBe(true);
    const counts = masters(t).map((m) => slotCount(m.slots));
    expect(counts).toHaveLength(4);
    expect(slotCount(masters(t).find((m) => m.id === empty.id)!.slots)).toBeGreaterThan((16384 / 4) * 0.97);
    expect(Math.min(...counts)).toBeGreaterThan((16384 / 4) * 0.97);
    expect(await missingLoadedKeys(cluster, 'tls', KEYS)).toEqual([]);
  });
});
