import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  buildTopology,
  infoNumber,
  openSlots,
  parseAddress,
  parseClusterNodes,
  parseClusterShards,
  parseNodeAddress,
  slotCount,
  type NodesLine,
} from '../../../src/cluster/index.js';
import { InvalidAddressError, UnexpectedReplyError } from '../../../src/errors/index.js';

// Recorded from a real 3-master/3-replica redis 7.0.15 cluster with slot 100 open from A to B and
// the replica of C killed (flagged `fail`).
const fixture = (name: string): string => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');
const A = '78f8c613c016480c086a9db7517618b96d582467';
const B = '31bbaa11fcc227f71254fca5b48bf955c67e84fe';
const C = 'be38a39df12a7f1730e819e8d9e0e1d6df23ffb2';
const FAILED = '0d9c4525093709847d03e89fce21fbc921be3053';

describe('parseClusterNodes', () => {
  const source = parseClusterNodes(fixture('nodes-source-view.txt'));
  const target = parseClusterNodes(fixture('nodes-target-view.txt'));

  it('reads every node with role, master and slot ranges', () => {
    expect(source).toHaveLength(6);
    const a = source.find((l) => l.id === A)!;
    expect(a).toMatchObject({ myself: true, role: 'master', masterId: null, host: '127.0.0.1' });
    expect(a.slots).toEqual([{ start: 0, end: 5461 }]);
    expect(source.filter((l) => l.role === 'replica')).toHaveLength(3);
    expect(source.find((l) => l.id === FAILED)).toMatchObject({
      role: 'replica',
      masterId: C,
      connected: false,
    });
  });

  it('reads open slots from the myself line, in both directions', () => {
    expect(source.find((l) => l.id === A)!.migrating).toEqual([{ slot: 100, to: B }]);
    expect(target.find((l) => l.id === B)!.importing).toEqual([{ slot: 100, from: A }]);
    // The open slot marker is not a slot the node owns.
    expect(slotCount(target.find((l) => l.id === B)!.slots)).toBe(5461);
  });

  it('keeps fail flags and drops myself from flags', () => {
    expect(source.find((l) => l.id === FAILED)!.flags).toContain('fail');
    expect(source.find((l) => l.id === A)!.flags).not.toContain('myself');
  });

  it('rejects a malformed line naming the command', () => {
    expect(() => parseClusterNodes('abc 1.2.3.4:1@2 master - 0 0 1 connected')).toThrow(UnexpectedReplyError);
    expect(() => parseClusterNodes(`${A} 127.0.0.1:1@2 master - 0 0 1 connected 99999`)).toThrow(
      /slot out of range/,
    );
    expect(() => parseClusterNodes(42)).toThrow(/CLUSTER NODES/);
  });

  it('parses IPv6 and hostname addresses', () => {
    expect(parseNodeAddress('::1:7000@17000')).toEqual({
      host: '::1',
      port: 7000,
      busPort: 17000,
      hostname: null,
    });
    expect(parseNodeAddress('10.0.0.1:7000@17000,redis-a')).toMatchObject({
      host: '10.0.0.1',
      hostname: 'redis-a',
    });
  });
});

describe('parseClusterShards', () => {
  it('reads shard slots and node health', () => {
    const shards = parseClusterShards(JSON.parse(fixture('shards-source-view.json')));
    expect(shards).toHaveLength(3);
    const c = shards.find((s) => s.nodes.some((n) => n.id === C))!;
    expect(c.slots).toEqual([{ start: 10923, end: 16383 }]);
    expect(c.nodes.find((n) => n.id === FAILED)).toMatchObject({ role: 'replica', health: 'fail' });
  });
  it('rejects a reply of the wrong shape', () => {
    expect(() => parseClusterShards([['slots']])).toThrow(UnexpectedReplyError);
  });
});

describe('buildTopology', () => {
  const views = new Map<string, NodesLine[] | null>([
    [A, parseClusterNodes(fixture('nodes-source-view.txt'))],
    [B, parseClusterNodes(fixture('nodes-target-view.txt'))],
    [C, parseClusterNodes(fixture('nodes-third-view.txt'))],
    [FAILED, null],
  ]);
  const seedView = views.get(A)!;

  it('builds masters, replicas, open slots and failing nodes', () => {
    const t = buildTopology({
      seedView,
      ownViews: views,
      shards: parseClusterShards(JSON.parse(fixture('shards-source-view.json'))),
    });
    expect(
      t.nodes
        .filter((n) => n.role === 'master')
        .map((n) => n.id)
        .sort(),
    ).toEqual([A, B, C].sort());
    expect(t.agreed).toBe(true);
    expect(t.owners[100]).toBe(A);
    expect(t.owners[16383]).toBe(C);
    expect(openSlots(t)).toHaveLength(2);
    expect(openSlots(t)).toEqual(
      expect.arrayContaining([
        { slot: 100, nodeId: A, state: 'migrating', peerId: B },
        { slot: 100, nodeId: B, state: 'importing', peerId: A },
      ]),
    );
    const failed = t.nodes.find((n) => n.id === FAILED)!;
    expect(failed).toMatchObject({ failing: true, reachable: false, role: 'replica', masterId: C });
  });

  it('reports disagreement when one master sees a different owner', () => {
    const skewed = parseClusterNodes(fixture('nodes-third-view.txt')).map((l) =>
      l.id === B ? { ...l, slots: [{ start: 0, end: 10922 }] } : l.id === A ? { ...l, slots: [] } : l,
    );
    const t = buildTopology({ seedView, ownViews: new Map([...views, [C, skewed]]), shards: null });
    expect(t.agreed).toBe(false);
    expect(t.owners[0]).toBe(A);
    expect(t.disagreements[0]).toEqual({ nodeId: C, slot: 0, expected: A, seen: B });
  });
});

describe('parseAddress', () => {
  it('accepts host:port and [v6]:port', () => {
    expect(parseAddress('127.0.0.1:7000')).toEqual({ host: '127.0.0.1', port: 7000 });
    expect(parseAddress('[::1]:7000')).toEqual({ host: '::1', port: 7000 });
  });
  it.each(['localhost', '127.0.0.1:', ':7000', '127.0.0.1:70000', '1.2.3.4:12ab', '::1:7000'])(
    'rejects %s',
    (bad) => {
      expect(() => parseAddress(bad)).toThrow(InvalidAddressError);
    },
  );
});

describe('infoNumber', () => {
  const info = 'cluster_state:ok\r\ncluster_current_epoch:12\r\ncluster_my_epoch:7\r\n';
  it('reads a numeric field of CLUSTER INFO, as text or bytes', () => {
    expect(infoNumber(info, 'cluster_my_epoch')).toBe(7);
    expect(infoNumber(Buffer.from(info), 'cluster_current_epoch')).toBe(12);
  });
  it('is null for a missing or non-numeric field and for a reply that is not text', () => {
    expect(infoNumber(info, 'cluster_stats_messages_auth-req_sent')).toBeNull();
    expect(infoNumber(info, 'cluster_state')).toBeNull();
    expect(infoNumber(null, 'cluster_my_epoch')).toBeNull();
  });
});
