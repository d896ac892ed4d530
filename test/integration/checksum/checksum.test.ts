import calculateSlot from 'cluster-key-slot';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clusterChecksums,
  compareChecksums,
  compareSnapshots,
  EMPTY_CHECKSUM,
  foldDigests,
  keyDigests,
  luaScript,
  openSlotChecksum,
  parseSnapshot,
  reconcile,
  runScript,
  slotChecksum,
  slotFold,
  slotKeyDigests,
  takeSnapshot,
  withDigestLibrary,
  type ChecksumNode,
  type Digest,
} from '../../../src/checksum/index.js';
import { toRanges } from '../../../src/cluster/model.js';
import { loadStrings, startLocalCluster, type LocalCluster, type LocalNode } from '../../harness/index.js';

// Digests each key with the shared library, then MIGRATEs them, in one script: what the migration
// engine does. Its success here is the proof that MIGRATE may be called from EVAL on 7.0.
const MIGRATE_WITH_DIGEST = luaScript(
  withDigestLibrary(String.raw`
-- KEYS: keys of one slot. ARGV: host, port, include_ttl ('1'/'0'). Output: {MIGRATE reply, digests}
local digests = {}
for i = 1, #KEYS do digests[i] = (ss.digest_key(KEYS[i], ARGV[3] == '1', 0)) end
local reply = redis.call('MIGRATE', ARGV[1], ARGV[2], '', 0, 5000, 'KEYS', unpack(KEYS))
return { reply, digests }
`),
);

let cluster: LocalCluster;
const conns = new Map<string, Redis>();
const conn = (n: LocalNode): Redis => {
  let c = conns.get(n.id);
  if (!c) conns.set(n.id, (c = cluster.connect(n)));
  return c;
};
const masters = (): LocalNode[] => cluster.nodes.filter((n) => n.kind === 'master');

beforeAll(async () => {
  cluster = await startLocalCluster({ masters: 2 });
});
afterAll(async () => {
  for (const c of conns.values()) c.disconnect();
  await cluster?.stop();
});

async function ownerOf(slot: number): Promise<LocalNode> {
  const reply = (await conn(masters()[0]!).call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  const range = reply.find(([start, end]) => start <= slot && slot <= end);
  const node = cluster.nodes.find((n) => n.port === range?.[2][1]);
  if (!node) throw new Error(`no owner for slot ${slot}`);
  return node;
}

async function sourceAndTarget(slot: number): Promise<{ src: LocalNode; dst: LocalNode }> {
  const src = await ownerOf(slot);
  return { src, dst: masters().find((n) => n.id !== src.id)! };
}

/**
 * The slot protocol by hand: IMPORTING on the target, MIGRATING on the source, digest+MIGRATE
 * batches until the slot is empty, then NODE on target and source.
 */
async function moveSlot(
  slot: number,
  src: LocalNode,
  dst: LocalNode,
  includeTtl: boolean,
): Promise<Map<string, Digest>> {
  const s = conn(src);
  const d = conn(dst);
  await d.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', src.id);
  await s.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', dst.id);
  const digests = new Map<string, Digest>();
  for (;;) {
    const keys = (await s.call('CLUSTER', 'GETKEYSINSLOT', slot, 50)) as string[];
    if (keys.length === 0) break;
    const [reply, ds] = (await runScript(s, MIGRATE_WITH_DIGEST, keys, [
      dst.host,
      dst.port,
      includeTtl ? '1' : '0',
    ])) as [string, Digest[]];
    expect(reply).toBe('OK');
    keys.forEach((k, i) => digests.set(k, ds[i]!));
  }
  await d.call('CLUSTER', 'SETSLOT', slot, 'NODE', dst.id);
  await s.call('CLUSTER', 'SETSLOT', slot, 'NODE', dst.id);
  return digests;
}

async function encoding(r: Redis, key: string): Promise<string> {
  return (await r.call('OBJECT', 'ENCODING', key)) as string;
}

/** One key of every type and encoding, all under `{tag}` so they share a slot. */
async function buildEveryType(r: Redis, tag: string): Promise<Record<string, string>> {
  const k = (name: string): string => `{${tag}}:${name}`;
  const fields = (n: number, long = false): string[] =>
    Array.from({ length: n }, (_, i) => [`f${i}`, long ? `v${i}`.padEnd(100, '*') : `v${i}`]).flat();
  await r.set(k('string'), 'hello world');
  await r.set(k('int-string'), '12345');
  await r.set(k('ttl'), 'expiring', 'PX', 600_000);
  await r.hset(k('hash-small'), ...fields(5));
  // More fields than any listpack limit this harness may configure (redis default 128, harness 512).
  await r.hset(k('hash-many'), ...fields(1000));
  await r.hset(k('hash-long'), ...fields(3, true));
  await r.sadd(k('set-int'), 1, 2, 3, 500, -7);
  await r.sadd(k('set-big'), ...Array.from({ length: 300 }, (_, i) => `m${i}`));
  await r.zadd(k('zset-small'), 1, 'a', 2.5, 'b', -3, 'c', 1, 'd');
  await r.zadd(k('zset-big'), ...Array.from({ length: 200 }, (_, i) => [i / 3, `z${i}`]).flat());
  await r.rpush(k('list'), 'x', 'y', 'z', 'x');
  await r.rpush(k('list-big'), ...Array.from({ length: 300 }, (_, i) => `e${i}`));
  for (let i = 0; i < 5; i++) await r.xadd(k('stream'), '*', 'a', `${i}`, 'b', `${i * 2}`);
  await r.xgroup('CREATE', k('stream'), 'g1', '0');
  await r.xreadgroup('GROUP', 'g1', 'c1', 'COUNT', 2, 'STREAMS', k('stream'), '>');
  const [first] = await r.xrange(k('stream'), '-', '+', 'COUNT', 1);
  const firstId = first![0];
  await r.xdel(k('stream'), firstId);
  const enc: Record<string, string> = {};
  for (const name of [
    'string',
    'int-string',
    'hash-small',
    'hash-many',
    'hash-long',
    'set-int',
    'set-big',
    'zset-small',
    'zset-big',
    'list',
    'stream',
  ]) {
    enc[name] = await encoding(r, k(name));
  }
  return enc;
}

/** Keys of one logical value of each type larger than the default inline limit. */
async function buildLarge(r: Redis, tag: string): Promise<string[]> {
  const k = (name: string): string => `{${tag}}:${name}`;
  const n = 2500;
  await r.hset(k('big-hash'), ...Array.from({ length: n }, (_, i) => [`f${i}`, `v${i}`]).flat());
  await r.sadd(k('big-set'), ...Array.from({ length: n }, (_, i) => `m${i}`));
  await r.sadd(k('big-intset'), ...Array.from({ length: n }, (_, i) => i * 7));
  await r.zadd(k('big-zset'), ...Array.from({ length: n }, (_, i) => [i % 17, `z${i}`]).flat());
  await r.rpush(k('big-list'), ...Array.from({ length: n }, (_, i) => `e${i % 10}`));
  const p = r.pipeline();
  for (let i = 0; i < n; i++) p.xadd(k('big-stream'), '*', 'i', `${i}`);
  await p.exec();
  // 2.5 MiB: over the 1 MiB inline size, and not a whole number of pieces.
  await r.set(k('big-string'), Buffer.alloc(2.5 * 1024 * 1024, 'abcdefghij'));
  return ['big-hash', 'big-set', 'big-intset', 'big-zset', 'big-list', 'big-stream', 'big-string'].map(k);
}

describe('key digests on a real cluster', () => {
  it('every type digests the same after a real MIGRATE into a node with other encodings', async () => {
    const tag = 'types';
    const slot = calculateSlot(`{${tag}}`);
    const { src, dst } = await sourceAndTarget(slot);
    const srcEnc = await buildEveryType(conn(src), tag);
    expect(srcEnc).toMatchObject({
      'hash-small': 'listpack',
      'hash-many': 'hashtable',
      'hash-long': 'hashtable',
      'set-int': 'intset',
      'set-big': 'hashtable',
      'zset-small': 'listpack',
      'zset-big': 'skiplist',
    });
    const keys = (await conn(src).call('CLUSTER', 'GETKEYSINSLOT', slot, 100)) as string[];
    const before = await keyDigests(conn(src), keys, { includeTtl: true });
    const beforeNoTtl = await keyDigests(conn(src), keys);
    expect(before.every((d) => d !== null)).toBe(true);
    expect(new Set(before).size).toBe(keys.length);

    // The target keeps nothing compact, so every small value changes encoding on RESTORE.
    const d = conn(dst);
    const limits = ['hash-max-listpack-entries', 'zset-max-listpack-entries', 'set-max-intset-entries'];
    const saved = new Map<string, string>();
    for (const name of limits) {
      const [, value] = (await d.config('GET', name)) as [string, string];
      saved.set(name, value);
      await d.config('SET', name, '0');
    }
    try {
      const inScript = await moveSlot(slot, src, dst, true);
      expect(keys.map((k) => inScript.get(k))).toEqual(before);
      const after = await keyDigests(d, keys, { includeTtl: true });
      expect(after).toEqual(before);
      expect(await keyDigests(d, keys)).toEqual(beforeNoTtl);
      expect(await encoding(d, `{${tag}}:hash-small`)).toBe('hashtable');
      expect(await encoding(d, `{${tag}}:zset-small`)).toBe('skiplist');
      expect(await encoding(d, `{${tag}}:set-int`)).toBe('hashtable');
      expect(await d.pttl(`{${tag}}:ttl`)).toBeGreaterThan(0);
    } finally {
      for (const [name, value] of saved) await d.config('SET', name, value);
    }
  });

  it('gives the same digest to one logical value in compact and in hashtable/skiplist encoding on one node', async () => {
    const tag = 'reencode';
    const slot = calculateSlot(`{${tag}}`);
    const r = conn(await ownerOf(slot));
    const h = `{${tag}}:h`;
    const z = `{${tag}}:z`;
    const s = `{${tag}}:s`;
    await r.hset(h, 'a', '1', 'b', '2');
    await r.zadd(z, 1, 'a', 2, 'b');
    await r.sadd(s, 1, 2, 3);
    const compact = await keyDigests(r, [h, z, s]);
    expect([await encoding(r, h), await encoding(r, z), await encoding(r, s)]).toEqual([
      'listpack',
      'listpack',
      'intset',
    ]);
    // A value over a limit converts; removing it again does not convert back.
    await r.hset(h, 'x'.repeat(100), '1');
    await r.hdel(h, 'x'.repeat(100));
    await r.zadd(z, 0, 'y'.repeat(100));
    await r.zrem(z, 'y'.repeat(100));
    await r.sadd(s, 'not-an-integer');
    await r.srem(s, 'not-an-integer');
    expect([await encoding(r, h), await encoding(r, z), await encoding(r, s)]).toEqual([
      'hashtable',
      'skiplist',
      'hashtable',
    ]);
    expect(await keyDigests(r, [h, z, s])).toEqual(compact);
  });

  it('tells apart values that differ only in order, score, type, TTL presence or name', async () => {
    const tag = 'differ';
    const slot = calculateSlot(`{${tag}}`);
    const r = conn(await ownerOf(slot));
    const k = (n: string): string => `{${tag}}:${n}`;
    await r.rpush(k('l1'), 'a', 'b');
    await r.rpush(k('l2'), 'b', 'a');
    await r.zadd(k('z1'), 1, 'a');
    await r.zadd(k('z2'), 2, 'a');
    await r.set(k('s1'), 'v');
    await r.set(k('s2'), 'v');
    await r.set(k('t1'), 'v', 'PX', 600_000);
    await r.sadd(k('set'), 'a');
    await r.rpush(k('list'), 'a');
    const [l1, l2, z1, z2, s1, s2, t1] = await keyDigests(
      r,
      ['l1', 'l2', 'z1', 'z2', 's1', 's2', 't1'].map(k),
    );
    expect(l1).not.toBe(l2);
    expect(z1).not.toBe(z2);
    expect(s1).not.toBe(s2);
    const [set, list] = await keyDigests(r, [k('set'), k('list')]);
    expect(set).not.toBe(list);
    // t1 vs a persistent copy under the same name: only includeTtl sees the difference.
    const [withTtl, withoutTtl] = [(await keyDigests(r, [k('t1')], { includeTtl: true }))[0], t1];
    await r.persist(k('t1'));
    expect((await keyDigests(r, [k('t1')], { includeTtl: true }))[0]).not.toBe(withTtl);
    expect((await keyDigests(r, [k('t1')]))[0]).toBe(withoutTtl);
    expect(await keyDigests(r, [k('nope')])).toEqual([null]);
  });

  it('digests large values in bounded chunks to the same result as whole, also across a MIGRATE', async () => {
    const tag = 'large';
    const slot = calculateSlot(`{${tag}}`);
    const { src, dst } = await sourceAndTarget(slot);
    const keys = await buildLarge(conn(src), tag);
    const whole = await keyDigests(conn(src), keys, { inlineMaxElements: 1_000_000, callBudget: 1 });
    const chunked = await keyDigests(conn(src), keys, {
      inlineMaxElements: 10,
      chunkElements: 7,
      chunkBytes: 1,
    });
    expect(chunked).toEqual(whole);
    const inScript = await moveSlot(slot, src, dst, false);
    expect(keys.map((k) => inScript.get(k))).toEqual(whole);
    expect(await keyDigests(conn(dst), keys)).toEqual(whole);
  });

  it('reading strings with MGET (expectSmallStrings) gives every key the digest TYPE-first gives', async () => {
    const tag = 'mget';
    const slot = calculateSlot(`{${tag}}`);
    const r = conn(await ownerOf(slot));
    await buildEveryType(r, tag);
    const large = await buildLarge(r, tag);
    await r.set(`{${tag}}:empty`, '');
    const keys = [
      ...((await r.call('CLUSTER', 'GETKEYSINSLOT', slot, 1000)) as string[]),
      `{${tag}}:missing`,
    ];
    expect(keys).toEqual(expect.arrayContaining([...large, `{${tag}}:empty`, `{${tag}}:string`]));
    for (const includeTtl of [false, true]) {
      const typeFirst = await keyDigests(r, keys, { includeTtl });
      expect(typeFirst.filter((d) => d === null)).toHaveLength(1);
      expect(await keyDigests(r, keys, { includeTtl, expectSmallStrings: true })).toEqual(typeFirst);
      // A budget of one unit: every call stops after its first key, MGET or not.
      expect(await keyDigests(r, keys, { includeTtl, expectSmallStrings: true, callBudget: 1 })).toEqual(
        typeFirst,
      );
    }
  });

  it('names a changed field, a deleted key and an extra key after a move, and the slot checksums differ', async () => {
    const tag = 'drift';
    const slot = calculateSlot(`{${tag}}`);
    const { src, dst } = await sourceAndTarget(slot);
    const k = (n: string): string => `{${tag}}:${n}`;
    const s = conn(src);
    for (let i = 0; i < 20; i++) await s.set(k(`s${i}`), `v${i}`);
    await s.hset(k('h'), 'a', '1', 'b', '2');
    const expected = await slotKeyDigests(s, slot);
    const expectedSum = await slotChecksum(s, slot);
    expect(expectedSum).toEqual({ slot, ...foldDigests(expected.values()) });
    expect(expectedSum.keys).toBe(21);

    await moveSlot(slot, src, dst, false);
    const d = conn(dst);
    expect(await slotChecksum(d, slot)).toEqual(expectedSum);
    await d.hset(k('h'), 'b', '3');
    await d.del(k('s7'));
    await d.set(k('extra'), 'x');
    const actual = await slotKeyDigests(d, slot);
    expect(reconcile(expected, actual)).toEqual({
      missing: [k('s7')],
      changed: [k('h')],
      extra: [k('extra')],
    });
    const actualSum = await slotChecksum(d, slot);
    expect(compareChecksums([expectedSum], [actualSum])).toEqual([
      { slot, a: { keys: 21, xor: expectedSum.xor }, b: { keys: 21, xor: actualSum.xor } },
    ]);
  });

  it('folds a slot on its node to the fold of its key digests, and leaves a slot too large for one call to the caller', async () => {
    const tag = 'fold';
    const slot = calculateSlot(`{${tag}}`);
    const r = conn(await ownerOf(slot));
    await buildEveryType(r, tag);
    await r.set(`{${tag}}:empty`, '');
    const folds = new Map<boolean, unknown>();
    for (const includeTtl of [false, true]) {
      const byKey = foldDigests((await slotKeyDigests(r, slot, { includeTtl })).values());
      expect(byKey.keys).toBe(14);
      for (const expectSmallStrings of [false, true]) {
        expect(await slotFold(r, slot, { includeTtl, expectSmallStrings })).toEqual(byKey);
      }
      folds.set(includeTtl, byKey);
    }
    // The slot holds a key with a TTL: only includeTtl sees it.
    expect(folds.get(true)).not.toEqual(folds.get(false));
    // More keys than one call folds, a collection over the inline limit, more work than the budget.
    expect(await slotFold(r, slot, { batchKeys: 13 })).toBeNull();
    expect(await slotFold(r, slot, { inlineMaxElements: 999 })).toBeNull();
    expect(await slotFold(r, slot, { callBudget: 100 })).toBeNull();
    expect(await slotChecksum(r, slot, { batchKeys: 13 })).toEqual({ slot, ...folds.get(false)! });

    const emptySlot = calculateSlot('{fold-nothing}');
    expect(await slotFold(conn(await ownerOf(emptySlot)), emptySlot)).toEqual(EMPTY_CHECKSUM);

    // A string over 1 MiB is digested in pieces by the caller, never whole inside the fold.
    const bigSlot = calculateSlot('{fold-big}');
    const b = conn(await ownerOf(bigSlot));
    await b.set('{fold-big}:s', Buffer.alloc(2 * 1024 * 1024, 'ab'));
    expect(await slotFold(b, bigSlot, { expectSmallStrings: true })).toBeNull();
    expect((await slotChecksum(b, bigSlot)).keys).toBe(1);
  });

  it('checksums a slot left open halfway over both its nodes, on the fold, key-by-key and chunked paths', async () => {
    const tag = 'halfway';
    const slot = calculateSlot(`{${tag}}`);
    const { src, dst } = await sourceAndTarget(slot);
    const s = conn(src);
    const d = conn(dst);
    await buildEveryType(s, tag);
    const large = await buildLarge(s, tag);
    const paths = [{}, { batchKeys: 3 }, { inlineMaxElements: 100 }];
    const whole = await Promise.all(paths.map((o) => slotChecksum(s, slot, o)));
    expect(whole[0]!.keys).toBe(20);

    await d.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', src.id);
    await s.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', dst.id);
    const listed = (await s.call('CLUSTER', 'GETKEYSINSLOT', slot, 100)) as string[];
    const half = [...large.slice(0, 3), ...listed.filter((k) => !large.includes(k)).slice(0, 6)];
    await s.call('MIGRATE', dst.host, dst.port, '', 0, 10_000, 'KEYS', ...half);
    // A key on both sides, as a MIGRATE that timed out after the restore leaves it: clients read
    // the owner's copy, so the slot's checksum is made with that one.
    const stay = listed.find((k) => !half.includes(k) && k.endsWith(':string'))!;
    await d.pipeline().call('ASKING').call('SET', stay, 'a stale copy').exec();
    expect(await d.call('CLUSTER', 'COUNTKEYSINSLOT', slot)).toBe(10);
    // The importer lost its scripts (a restart): the EVALSHA after ASKING falls back to EVAL.
    await d.call('SCRIPT', 'FLUSH');

    for (const [i, o] of paths.entries()) {
      expect(await openSlotChecksum(s, [d], slot, o)).toEqual(whole[i]);
    }
    // The owner alone misses the keys that moved.
    expect((await slotChecksum(s, slot)).keys).toBe(11);
    await d.pipeline().call('ASKING').call('DEL', stay).exec();
    await moveSlot(slot, src, dst, false);
    expect(await slotChecksum(d, slot)).toEqual(whole[0]);
  });

  it('checksums a slot only its importer has open over both nodes', async () => {
    const tag = 'importer-only';
    const slot = calculateSlot(`{${tag}}`);
    const { src, dst } = await sourceAndTarget(slot);
    const s = conn(src);
    const names = Array.from({ length: 8 }, (_, i) => `{${tag}}:${i}`);
    for (const k of names) await s.set(k, `v-${k}`);
    const whole = await slotChecksum(s, slot);
    await conn(dst).call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', src.id);
    await s.call('MIGRATE', dst.host, dst.port, '', 0, 5000, 'KEYS', ...names.slice(0, 5));
    expect(await openSlotChecksum(s, [conn(dst)], slot)).toEqual(whole);
    await moveSlot(slot, src, dst, false);
    expect(await slotChecksum(conn(dst), slot)).toEqual(whole);
  });

  it('lists a slot bigger than one GETKEYSINSLOT page whole', async () => {
    const tag = 'bigslot';
    const slot = calculateSlot(`{${tag}}`);
    const r = conn(await ownerOf(slot));
    const p = r.pipeline();
    for (let i = 0; i < 2345; i++) p.set(`{${tag}}:${i}`, `${i}`);
    await p.exec();
    expect((await slotChecksum(r, slot, { batchKeys: 100 })).keys).toBe(2345);
  });

  it('checksums chosen slots across masters with progress, and snapshots name the slot that changed', async () => {
    const tag = 'snap';
    const slot = calculateSlot(`{${tag}}`);
    const owner = await ownerOf(slot);
    await conn(owner).set(`{${tag}}:a`, '1');
    const nodes = await checksumNodes();
    const slots = [0, 1, slot, 16383];
    const progress: number[] = [];
    const first = await clusterChecksums(nodes, { slots, onProgress: (p) => progress.push(p.slotsDone) });
    expect(first.map((c) => c.slot)).toEqual([...slots].sort((a, b) => a - b));
    expect(progress).toEqual([1, 2, 3, 4]);
    const a = takeSnapshot(first, { takenAt: new Date(0), includeTtl: false });
    const roundTripped = parseSnapshot(JSON.parse(JSON.stringify(a)));
    expect(roundTripped).toEqual(a);
    await conn(owner).set(`{${tag}}:a`, '2');
    const b = takeSnapshot(await clusterChecksums(nodes, { slots }), {
      takenAt: new Date(1),
      includeTtl: false,
    });
    expect(compareSnapshots(roundTripped, b).map((x) => x.slot)).toEqual([slot]);
  });

  it('measures digest throughput for 100k x 100 B strings on one node (printed, not asserted)', async () => {
    const tag = 'perf';
    const slot = calculateSlot(`{${tag}}`);
    const r = conn(await ownerOf(slot));
    await loadStrings(cluster, { keys: 100_000, valueBytes: 100, prefix: `{${tag}}` });
    const started = performance.now();
    const sum = await slotChecksum(r, slot);
    const ms = performance.now() - started;
    expect(sum.keys).toBe(100_000);
    console.log(
      `slotChecksum of 100000 x 100 B strings in one slot: ${ms.toFixed(0)} ms, ${Math.round(100_000 / (ms / 1000))} keys/s`,
    );
    const nodes = await checksumNodes();
    const t0 = performance.now();
    const all = await clusterChecksums(nodes);
    const allMs = performance.now() - t0;
    const keys = all.reduce((n, c) => n + c.keys, 0);
    console.log(`clusterChecksums of all 16384 slots (${keys} keys, 2 masters): ${allMs.toFixed(0)} ms`);
  });
});

async function checksumNodes(): Promise<ChecksumNode[]> {
  const reply = (await conn(masters()[0]!).call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  return masters().map((n) => {
    const slots: number[] = [];
    for (const [start, end, [, port]] of reply)
      if (port === n.port) for (let s = start; s <= end; s++) slots.push(s);
    return { id: n.id, redis: conn(n), slots: toRanges(slots) };
  });
}
