import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  SLOT_COUNT,
  slotsChangedBetween,
  type ClusterNode,
  type Topology,
} from '../../../src/cluster/index.js';
import { evenOwners, nodeId, topologyFromOwners } from '../planner/fixtures.js';

/** `t` with node `n`'s open slots replaced. */
function withOpen(t: Topology, n: number, open: Pick<ClusterNode, 'migrating' | 'importing'>): Topology {
  return { ...t, nodes: t.nodes.map((node) => (node.id === nodeId(n) ? { ...node, ...open } : node)) };
}

describe('slotsChangedBetween', () => {
  const stable = topologyFromOwners(evenOwners(3), 3);

  it('finds nothing between two reads of a cluster at rest, open slots included', () => {
    const open = withOpen(
      withOpen(stable, 0, { migrating: [{ slot: 7, to: nodeId(1) }], importing: [] }),
      1,
      {
        migrating: [],
        importing: [{ slot: 7, from: nodeId(0) }],
      },
    );
    expect(slotsChangedBetween(stable, stable)).toEqual([]);
    expect(slotsChangedBetween(open, open)).toEqual([]);
  });

  it('names exactly the slots whose owner changed', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: SLOT_COUNT - 1 }), { maxLength: 40 }), (moved) => {
        const owners = evenOwners(3);
        for (const s of moved) owners[s] = (owners[s]! + 1) % 3;
        const after = topologyFromOwners(owners, 3);
        expect(slotsChangedBetween(stable, after)).toEqual([...moved].sort((a, b) => a - b));
        expect(slotsChangedBetween(stable, after, [...moved, 0, 16383])).toEqual(
          [...moved].sort((a, b) => a - b),
        );
      }),
      { numRuns: 25 },
    );
  });

  it('names a slot that was opened, closed, or opened towards another node in between', () => {
    const migrating = (to: number) =>
      withOpen(stable, 0, { migrating: [{ slot: 7, to: nodeId(to) }], importing: [] });
    expect(slotsChangedBetween(stable, migrating(1))).toEqual([7]);
    expect(slotsChangedBetween(migrating(1), stable)).toEqual([7]);
    expect(slotsChangedBetween(migrating(1), migrating(2))).toEqual([7]);
    const importingToo = withOpen(migrating(1), 1, {
      migrating: [],
      importing: [{ slot: 7, from: nodeId(0) }],
    });
    expect(slotsChangedBetween(migrating(1), importingToo)).toEqual([7]);
  });

  it('names a slot another master claims in its own view before the majority view follows', () => {
    const claimed = {
      ...stable,
      nodes: stable.nodes.map((n) =>
        n.id === nodeId(1) ? { ...n, slots: [{ start: 7, end: 7 }, ...n.slots] } : n,
      ),
    };
    expect(claimed.owners[7]).toBe(stable.owners[7]);
    expect(slotsChangedBetween(stable, claimed)).toEqual([7]);
  });

  it('looks only at the slots asked about', () => {
    const owners = evenOwners(3);
    owners[100] = 2;
    expect(slotsChangedBetween(stable, topologyFromOwners(owners, 3), [0, 1, 99, 101])).toEqual([]);
  });
});
