import { beforeAll, describe, expect, it } from 'vitest';
import { StatusReportSchema } from '../../../src/status/index.js';
import {
  freePorts,
  loadStrings,
  runCli,
  useCluster,
  useRedis,
  type LocalCluster,
} from '../../harness/index.js';

describe('slotshift status', () => {
  let cluster: LocalCluster;
  beforeAll(async () => {
    cluster = await useCluster({ masters: 3, replicasPerMaster: 1, emptyMasters: 1 });
    await loadStrings(cluster, { keys: 3000, prefix: 'status' });
  });

  it('prints a table per master with slots, share, keys, replicas and a verdict', async () => {
    const r = await runCli(['status', '--seed', cluster.seeds[0]!]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const n of cluster.nodes.filter((x) => x.kind !== 'replica')) expect(r.stdout).toContain(n.addr);
    expect(r.stdout).toMatch(/5,46[12]\W+33\.3[34]%/);
    expect(r.stdout).toContain('open slots: none');
    expect(r.stdout).toContain('slot map: every node agrees');
    expect(r.stdout).toMatch(/verdict: balanced: 3 masters within 2%.*; 1 master holds no slots/);
  });

  it('--json prints the documented document', async () => {
    const r = await runCli(['status', '--seed', cluster.seeds[1]!, '--json']);
    expect(r.code).toBe(0);
    const report = StatusReportSchema.parse(JSON.parse(r.stdout));
    expect(report.clusterState).toBe('ok');
    expect(report.masters).toHaveLength(4);
    expect(report.masters.reduce((a, m) => a + m.slots, 0)).toBe(16384);
    expect(report.masters.reduce((a, m) => a + (m.keys ?? 0), 0)).toBe(3000);
    const withSlots = report.masters.filter((m) => m.slots > 0);
    for (const m of withSlots) {
      expect(m.replicas).toHaveLength(1);
      expect(m.replicas[0]!.id).toBe(
        cluster.nodes.find((n) => n.kind === 'replica' && n.masterId === m.id)!.id,
      );
    }
    expect(report.balance).toMatchObject({ balanced: true, mastersWithSlots: 3, emptyMasters: 1 });
    expect(report.openSlots).toEqual([]);
  });

  it('shows a slot opened by hand on both sides', async () => {
    const [a, b] = cluster.nodes.filter((n) => n.kind === 'master');
    const ca = cluster.connect(a!);
    const cb = cluster.connect(b!);
    await cb.call('CLUSTER', 'SETSLOT', '7', 'IMPORTING', a!.id);
    await ca.call('CLUSTER', 'SETSLOT', '7', 'MIGRATING', b!.id);
    try {
      const r = await runCli(['status', '--seed', a!.addr, '--json']);
      expect(r.code).toBe(0);
      const report = StatusReportSchema.parse(JSON.parse(r.stdout));
      expect(report.openSlots).toEqual(
        expect.arrayContaining([
          { slot: 7, nodeId: a!.id, state: 'migrating', peerId: b!.id },
          { slot: 7, nodeId: b!.id, state: 'importing', peerId: a!.id },
        ]),
      );
      const human = await runCli(['status', '--seed', a!.addr]);
      // A rebalance opens slots too: the hint must not send a user to fix while one runs.
      expect(human.stdout).toContain(
        'open slots (1; a move under way shows its slots here: if no slotshift apply, worker or daemon (nor redis-cli --cluster) is running, close them with slotshift fix)',
      );
      // plan refuses while a slot is open: the verdict must not send the user there.
      expect(human.stdout).toMatch(
        /^verdict: .*1 slot is open, so slotshift plan refuses for now: .* run slotshift fix, then slotshift plan$/m,
      );
      expect(human.stdout).not.toContain('slotshift plan --use-empty-masters spreads');
    } finally {
      await ca.call('CLUSTER', 'SETSLOT', '7', 'STABLE');
      await cb.call('CLUSTER', 'SETSLOT', '7', 'STABLE');
      ca.disconnect();
      cb.disconnect();
    }
  });

  it('says once, in its own words, that a password given to a cluster without auth is not needed', async () => {
    const r = await runCli(['status', '--seed', cluster.seeds[0]!, '--password', 'not-needed-123']);
    expect(r.code).toBe(0);
    // ioredis printed its own warning once per connection: 7 times for these 7 nodes.
    expect(r.stderr).not.toContain('[WARN]');
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^slotshift: 127\.0\.0\.1:\d+ asks for no password; the password given .* is not needed$/,
      ),
    ]);
    expect(r.stderr).not.toContain('not-needed-123');
  });

  it('uses the next seed when the first does not answer', async () => {
    const [dead] = await freePorts(1);
    const r = await runCli(['status', '--seed', `127.0.0.1:${dead}`, '--seed', cluster.seeds[0]!, '--json']);
    expect(r.code).toBe(0);
    expect(StatusReportSchema.parse(JSON.parse(r.stdout)).masters).toHaveLength(4);
  });
});

describe('slotshift status: bad input gets one clear line and exit code 2', () => {
  const expectOneLine = (stderr: string): void => {
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).not.toMatch(/\n\s+at /);
  };

  it('an unreachable seed', async () => {
    const [port] = await freePorts(1);
    const r = await runCli(['status', '--seed', `127.0.0.1:${port}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `cannot connect to 127.0.0.1:${port}: connection refused; check that redis-server runs there and the address and port are right (--seed HOST:PORT)`,
    );
    expectOneLine(r.stderr);
  });

  it('a malformed address', async () => {
    const r = await runCli(['status', '--seed', 'localhost']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid address "localhost"');
    expectOneLine(r.stderr);
  });

  it('no seed at all', async () => {
    const r = await runCli(['status']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--seed: at least one seed is required');
  });

  it('a seed that is not in cluster mode', async () => {
    const redis = await useRedis();
    const r = await runCli(['status', '--seed', `${redis.host}:${redis.port}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${redis.host}:${redis.port} is not in cluster mode`);
    expectOneLine(r.stderr);
  });

  it('TLS asked of a server that does not speak it', async () => {
    const redis = await useRedis();
    const r = await runCli([
      'status',
      '--seed',
      `${redis.host}:${redis.port}`,
      '--tls',
      '--connect-timeout',
      '2000',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`TLS connection to ${redis.host}:${redis.port} failed`);
    expectOneLine(r.stderr);
  });

  it('an unknown command or option is a usage error', async () => {
    expect((await runCli(['statuz'])).code).toBe(2);
    expect((await runCli(['status', '--bogus'])).code).toBe(2);
  });

  it('--debug shows the stack trace', async () => {
    const [port] = await freePorts(1);
    const r = await runCli(['--debug', 'status', '--seed', `127.0.0.1:${port}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\n\s+at /);
  });
});

describe('slotshift status: credentials', () => {
  const SECRET = 's3cret-pass-123';
  let cluster: LocalCluster;
  beforeAll(async () => {
    cluster = await useCluster({
      masters: 3,
      extraArgs: ['--requirepass', SECRET, '--masterauth', SECRET],
      password: SECRET,
    });
    const c = cluster.connect(cluster.nodes[0]!);
    // An ACL user on one node is enough to prove ACL auth; the others accept it via requirepass.
    for (const n of cluster.nodes) {
      const cn = cluster.connect(n);
      await cn.call('ACL', 'SETUSER', 'ops', 'on', `>${SECRET}-ops`, '~*', '+@all');
      cn.disconnect();
    }
    c.disconnect();
  });

  it('reads the password from SLOTSHIFT_PASSWORD', async () => {
    const r = await runCli(['status', '--seed', cluster.seeds[0]!, '--json'], { SLOTSHIFT_PASSWORD: SECRET });
    expect(r.code).toBe(0);
    expect(StatusReportSchema.parse(JSON.parse(r.stdout)).masters).toHaveLength(3);
  });

  it('authenticates an ACL user', async () => {
    const r = await runCli([
      'status',
      '--seed',
      cluster.seeds[0]!,
      '--user',
      'ops',
      '--password',
      `${SECRET}-ops`,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('every node agrees');
  });

  it('a wrong password names the node, not the password', async () => {
    const r = await runCli(['status', '--seed', cluster.seeds[0]!], {
      SLOTSHIFT_PASSWORD: 'wrong-guess-999',
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`authentication failed at ${cluster.seeds[0]}`);
    expect(r.stderr).not.toContain('wrong-guess-999');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('no password where one is required', async () => {
    const r = await runCli(['status', '--seed', cluster.seeds[0]!]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('authentication failed');
    expect(r.stderr).not.toContain(SECRET);
  });
});
