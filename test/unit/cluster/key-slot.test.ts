import calculateSlot from 'cluster-key-slot';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keySlot } from '../../../src/cluster/index.js';

describe('keySlot', () => {
  it("gives Redis's slots, the empty-tag keys cluster-key-slot gets wrong included", () => {
    // Answers of redis-server 7.0.15's CLUSTER KEYSLOT (test/integration/cluster/key-slot.test.ts
    // compares many more against a live node).
    expect(keySlot('123456789')).toBe(0x31c3);
    expect(keySlot('bull:{}}a:wait')).toBe(10217);
    expect(calculateSlot('bull:{}}a:wait')).not.toBe(10217);
    expect(keySlot('{}}a')).toBe(1201);
    expect(keySlot('bull:{}{a}:wait')).toBe(8230);
    expect(keySlot('user:{42}:name')).toBe(keySlot('42'));
    expect(keySlot(Buffer.from('user:{42}:name'))).toBe(keySlot('42'));
  });

  it('agrees with cluster-key-slot wherever the key has no empty tag', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 24 }), (key) => {
        const first = key.indexOf('{');
        fc.pre(first < 0 || key[first + 1] !== '}');
        expect(keySlot(key)).toBe(calculateSlot(key));
        expect(keySlot(Buffer.from(key))).toBe(calculateSlot(key));
      }),
      { numRuns: 5000 },
    );
  });
});
