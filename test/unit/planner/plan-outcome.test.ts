import { describe, expect, it } from 'vitest';
import { slotsNotWherePlanned, type Move } from '../../../src/planner/index.js';
import { evenOwners, makeNode, nodeId, topologyFromOwners } from './fixtures.js';

const move = (slot: number, from: number, to: number): Move => ({
  slot,
  from: nodeId(from),
  to: nodeId(to),
  keys: 1,
  bytes: 100,
});

describe('slotsNotWherePlanned', () => {
  // Three masters, even split: slot 0 on master 0, slot 16383 on master 2.
  const owners = evenOwners(3);

  it('finds nothing when every moved slot is on its target', () => {
    const after = [...owners];
    after[0] = 2;
    expect(slotsNotWherePlanned([move(0, 0, 2)], new Set([0]), topologyFromOwners(after, 3))).toEqual([]);
  });

  it('names a moved slot that went back to the source side', () => {
    // Slot 1 was moved to master 2, and is owned by master 0 again.
    const after = [...owners];
    after[0] = 2;
    expect(
      slotsNotWherePlanned([move(0, 0, 2), move(1, 0, 2)], new Set([0, 1]), topologyFromOwners(after, 3)),
    ).toEqual([{ slot: 1, planned: nodeId(2), owner: nodeId(0) }]);
  });

  it('accepts the master that replaced the target in a failover, and skips slots not done', () => {
    const after = [...owners];
    after[0] = 3; // node 3 took over from node 2, which follows it now
    const t = topologyFromOwners(after, 4);
    const nodes = t.nodes.map((n) =>
      n.id === nodeId(2) ? makeNode(2, { role: 'replica', masterId: nodeId(3), flags: ['slave'] }) : n,
    );
    const topology = { ...t, nodes };
    expect(slotsNotWherePlanned([move(0, 0, 2), move(1, 0, 2)], new Set([0]), topology)).toEqual([]);
  });
});
