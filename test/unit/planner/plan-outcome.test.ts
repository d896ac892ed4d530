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

  it('accepts the replica elected in place of a target that died, and only that node', () => {
    // Node 2 (the target) had node 3 as its replica; node 2 was killed and node 3 elected.
    const beforeT = topologyFromOwners(owners, 3, 0);
    const before = {
      ...beforeT,
      nodes: [...beforeT.nodes, makeNode(3, { role: 'replica', masterId: nodeId(2), flags: ['slave'] })],
    };
    const after = [...owners];
    after[0] = 3;
    after[1] = 1; // moved to node 2 as well, but now on node 1, which never replicated it
    const t = topologyFromOwners(after, 4);
    const dead = t.nodes.map((n) =>
      n.id === nodeId(2) ? makeNode(2, { failing: true, reachable: false, flags: ['master', 'fail'] }) : n,
    );
    const moves = [move(0, 0, 2), move(1, 0, 2)];
    expect(slotsNotWherePlanned(moves, new Set([0, 1]), { ...t, nodes: dead }, before)).toEqual([
      { slot: 1, planned: nodeId(2), owner: nodeId(1) },
    ]);
    // The same owners with the target alive and well: the slot went elsewhere, and that is reported.
    expect(slotsNotWherePlanned(moves, new Set([0, 1]), t, before)).toHaveLength(2);
  });
});
