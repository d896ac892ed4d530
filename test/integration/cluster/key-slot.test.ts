import fc from 'fast-check';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { keySlot } from '../../../src/cluster/index.js';
import { useCluster } from '../../harness/index.js';

describe('keySlot against a live node', () => {
  it('matches CLUSTER KEYSLOT for keys full of braces', async () => {
    const cluster = await useCluster({ masters: 1 });
    const node = new Redis(cluster.seeds[0]!);
    try {
      const braces = fc.constantFrom('{', '}', '{}', 'a', 'b', ':', 'é', '\u{1F600}');
      const keys = fc.sample(
        fc.array(braces, { minLength: 1, maxLength: 10 }).map((parts) => parts.join('')),
        { numRuns: 3000, seed: 7 },
      );
      const pipe = node.pipeline();
      for (const k of keys) pipe.call('CLUSTER', 'KEYSLOT', k);
      const answers = ((await pipe.exec()) ?? []).map(([err, slot]) => (err ? err.message : Number(slot)));
      const wrong = keys.filter((k, i) => keySlot(k) !== answers[i]);
      expect(wrong).toEqual([]);
      expect(keys.filter((k) => /^[^{]*\{\}.*\}/.test(k)).length).toBeGreaterThan(100);
    } finally {
      node.disconnect();
    }
  });
});
