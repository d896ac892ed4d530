import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addKey,
  EMPTY_CHECKSUM,
  foldDigests,
  isDigest,
  removeKey,
  replaceKey,
  xorDigest,
  ZERO_DIGEST,
  type Digest,
} from '../../../src/checksum/index.js';
import { createHash } from 'node:crypto';

const digest = fc
  .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }))
  .map(([hi, lo]) => hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0'));

/**
 * A stand-in for the Lua key digest with the same shape (name and value both hashed), so the
 * properties about renames and swaps exercise a digest that depends on both.
 */
function h(name: string, value: string): Digest {
  return createHash('sha1').update(`${name.length}:${name}${value}`).digest('hex').slice(0, 16);
}

/** name → value maps, names unique. */
const keyspace = fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 8 }), {
  maxKeys: 30,
});

const fold = (m: Record<string, string>) => foldDigests(Object.entries(m).map(([k, v]) => h(k, v)));

describe('xor fold', () => {
  it('has ZERO as identity and every digest as its own inverse', () => {
    fc.assert(
      fc.property(digest, (d) => {
        expect(xorDigest(d, ZERO_DIGEST)).toBe(d);
        expect(xorDigest(d, d)).toBe(ZERO_DIGEST);
        expect(isDigest(xorDigest(d, d))).toBe(true);
      }),
    );
  });

  it('matches a BigInt XOR', () => {
    fc.assert(
      fc.property(digest, digest, (a, b) => {
        const expected = (BigInt(`0x${a}`) ^ BigInt(`0x${b}`)).toString(16).padStart(16, '0');
        expect(xorDigest(a, b)).toBe(expected);
      }),
    );
  });

  it('does not depend on the order of the digests', () => {
    fc.assert(
      fc.property(fc.array(digest, { maxLength: 50 }), fc.integer(), (ds, seed) => {
        const shuffled = [...ds].sort((x, y) => (x + seed).localeCompare(y + seed));
        expect(foldDigests(shuffled)).toEqual(foldDigests(ds));
        expect(foldDigests([...ds].reverse())).toEqual(foldDigests(ds));
      }),
    );
  });

  it('fold(S ∪ {k}) = fold(S) ⊕ h(k), and removing k undoes it', () => {
    fc.assert(
      fc.property(keyspace, fc.string({ minLength: 1, maxLength: 8 }), fc.string(), (m, k, v) => {
        fc.pre(!(k in m));
        const s = fold(m);
        const withK = fold({ ...m, [k]: v });
        expect(withK).toEqual(addKey(s, h(k, v)));
        expect(removeKey(withK, h(k, v))).toEqual(s);
      }),
    );
  });

  it('replace: new = old ⊕ old_k ⊕ new_k', () => {
    fc.assert(
      fc.property(keyspace, fc.string(), (m, v2) => {
        const names = Object.keys(m);
        fc.pre(names.length > 0);
        const k = names[0]!;
        const after = fold({ ...m, [k]: v2 });
        expect(replaceKey(fold(m), h(k, m[k]!), h(k, v2))).toEqual(after);
      }),
    );
  });

  it('changes when two keys swap their values', () => {
    fc.assert(
      fc.property(keyspace, (m) => {
        const names = Object.keys(m);
        fc.pre(names.length >= 2 && m[names[0]!] !== m[names[1]!]);
        const [a, b] = [names[0]!, names[1]!];
        expect(fold({ ...m, [a]: m[b]!, [b]: m[a]! })).not.toEqual(fold(m));
      }),
    );
  });

  it('changes when a key is renamed', () => {
    fc.assert(
      fc.property(keyspace, fc.string({ minLength: 1, maxLength: 8 }), (m, newName) => {
        const names = Object.keys(m);
        fc.pre(names.length > 0 && !(newName in m));
        const old = names[0]!;
        const renamed = { ...m, [newName]: m[old]! };
        delete renamed[old];
        expect(fold(renamed)).not.toEqual(fold(m));
      }),
    );
  });

  it('folds nothing to the empty checksum', () => {
    expect(foldDigests([])).toEqual(EMPTY_CHECKSUM);
  });
});
