import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assignSlots,
  compareSnapshots,
  compareWithSnapshot,
  compileDigestOptions,
  parseSnapshot,
  reconcile,
  SlotOwnershipError,
  SnapshotFormatError,
  SnapshotMismatchError,
  takeSnapshot,
  type ChecksumNode,
} from '../../../src/checksum/index.js';
import { InvalidOptionError } from '../../../src/errors/index.js';
import type { Redis } from 'ioredis';

const digest = fc.stringMatching(/^[0-9a-f]{16}$/);
const digestMap = fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), digest, { maxKeys: 20 });

describe('reconcile', () => {
  it('finds exactly the missing, changed and extra keys', () => {
    fc.assert(
      fc.property(digestMap, digestMap, (exp, act) => {
        const e = new Map(Object.entries(exp));
        const a = new Map(Object.entries(act));
        const r = reconcile(e, a);
        for (const k of r.missing) expect(a.has(k)).toBe(false);
        for (const k of r.extra) expect(e.has(k)).toBe(false);
        for (const k of r.changed) expect(e.get(k)).not.toBe(a.get(k));
        const named = new Set([...r.missing, ...r.changed, ...r.extra]);
        for (const k of new Set([...e.keys(), ...a.keys()])) {
          if (!named.has(k)) expect(e.get(k)).toBe(a.get(k));
        }
      }),
    );
  });

  it('names each kind of difference', () => {
    const e = new Map([
      ['a', '0000000000000001'],
      ['b', '0000000000000002'],
      ['c', '0000000000000003'],
    ]);
    const a = new Map([
      ['a', '0000000000000001'],
      ['b', '00000000000000ff'],
      ['d', '0000000000000004'],
    ]);
    expect(reconcile(e, a)).toEqual({ missing: ['c'], changed: ['b'], extra: ['d'] });
  });
});

describe('snapshots', () => {
  const slots = [
    { slot: 5, keys: 2, xor: '00000000000000aa' },
    { slot: 1, keys: 0, xor: '0000000000000000' },
  ];

  it('round-trip through JSON, sorted by slot, with the clock passed in', () => {
    const snap = takeSnapshot(slots, { takenAt: new Date(Date.UTC(2025, 0, 2)), includeTtl: true });
    expect(snap.takenAt).toBe('2025-01-02T00:00:00.000Z');
    expect(snap.slots.map((s) => s.slot)).toEqual([1, 5]);
    expect(parseSnapshot(JSON.parse(JSON.stringify(snap)))).toEqual(snap);
  });

  it('reject malformed input naming the field', () => {
    const good = takeSnapshot(slots, { takenAt: new Date(0), includeTtl: false });
    const bad = (patch: object): unknown => ({ ...JSON.parse(JSON.stringify(good)), ...patch });
    expect(() => parseSnapshot(bad({ version: 2 }))).toThrow(SnapshotFormatError);
    expect(() => parseSnapshot(bad({ slots: [{ slot: 1, keys: 1, xor: 'XYZ' }] }))).toThrow(
      /slots\[0\]\.xor/,
    );
    expect(() => parseSnapshot(bad({ slots: [{ slot: 16384, keys: 1, xor: '0000000000000000' }] }))).toThrow(
      /slots\[0\]\.slot/,
    );
  });

  it('compare: differing and one-sided slots, refusing different TTL options', () => {
    const a = takeSnapshot(slots, { takenAt: new Date(0), includeTtl: false });
    const b = takeSnapshot(
      [
        { slot: 5, keys: 2, xor: '00000000000000ab' },
        { slot: 1, keys: 0, xor: '0000000000000000' },
        { slot: 9, keys: 1, xor: '0000000000000009' },
      ],
      { takenAt: new Date(1), includeTtl: false },
    );
    expect(compareSnapshots(a, b)).toEqual([
      { slot: 5, a: { keys: 2, xor: '00000000000000aa' }, b: { keys: 2, xor: '00000000000000ab' } },
      { slot: 9, a: null, b: { keys: 1, xor: '0000000000000009' } },
    ]);
    expect(compareSnapshots(a, a)).toEqual([]);
    expect(() => compareSnapshots(a, { ...a, includeTtl: true })).toThrow(SnapshotMismatchError);
  });

  it('verify --against compares only slots both runs were meant to cover, and names a slot gone since', () => {
    const at = { takenAt: new Date(0), includeTtl: false };
    const full = takeSnapshot(
      [0, 1, 2, 3].map((slot) => ({ slot, keys: slot, xor: `000000000000000${slot}` })),
      at,
    );
    // A few slots checked against a full snapshot: the rest is not a difference.
    const few = takeSnapshot(full.slots.slice(0, 2), at);
    expect(compareWithSnapshot(full, few, new Set([0, 1]))).toEqual({ differences: [], notInEarlier: [] });
    // Everything checked against a partial snapshot: the slots it lacks are named, not compared.
    expect(compareWithSnapshot(few, full, null)).toEqual({ differences: [], notInEarlier: [2, 3] });
    // A whole run no longer finds slot 3 (unowned now), and slot 1 changed.
    const now = takeSnapshot(
      [full.slots[0]!, { slot: 1, keys: 5, xor: '0000000000000005' }, full.slots[2]!],
      at,
    );
    expect(compareWithSnapshot(full, now, null).differences).toEqual([
      { slot: 1, a: { keys: 1, xor: '0000000000000001' }, b: { keys: 5, xor: '0000000000000005' } },
      { slot: 3, a: { keys: 3, xor: '0000000000000003' }, b: null },
    ]);
    expect(compareWithSnapshot(full, now, new Set([0, 2])).differences).toEqual([]);
  });
});

describe('slot assignment and options', () => {
  const node = (id: string, start: number, end: number): ChecksumNode => ({
    id,
    redis: null as unknown as Redis,
    slots: [{ start, end }],
  });

  it('gives each chosen slot to its owner, and refuses unowned or doubly claimed slots', () => {
    const nodes = [node('a', 0, 99), node('b', 100, 16383)];
    expect(assignSlots(nodes, [5, 100, 3]).map((w) => [w.node.id, w.slots])).toEqual([
      ['a', [3, 5]],
      ['b', [100]],
    ]);
    expect(assignSlots(nodes).reduce((n, w) => n + w.slots.length, 0)).toBe(16384);
    expect(() => assignSlots([node('a', 0, 10)], [11])).toThrow(SlotOwnershipError);
    expect(() => assignSlots([node('a', 0, 10), node('b', 10, 20)], [10])).toThrow(SlotOwnershipError);
    expect(() => assignSlots(nodes, [16384])).toThrow(InvalidOptionError);
  });

  it('compiles options with defaults and rejects nonsense', () => {
    expect(compileDigestOptions({ batchKeys: 10 }).batchKeys).toBe(10);
    expect(compileDigestOptions({}).includeTtl).toBe(false);
    expect(() => compileDigestOptions({ batchKeys: 0 })).toThrow(InvalidOptionError);
  });
});
