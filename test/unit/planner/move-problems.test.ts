import { describe, expect, it } from 'vitest';
import { moveProblems, planMoves, type Plan } from '../../../src/planner/index.js';
import { evenOwners, nodeId, topologyFromOwners } from './fixtures.js';

describe('moveProblems: the moves of a (hand-edited) plan against the topology it was made for', () => {
  // 3 masters and an empty one (node 3); a replica of node 0 (node 4).
  const topology = topologyFromOwners(evenOwners(3), 4, 1);
  const plan = planMoves(topology, {}, { useEmptyMasters: true, threshold: 0 });
  const edit = (i: number, change: Partial<Plan['moves'][number]>): Plan => ({
    ...plan,
    moves: plan.moves.map((m, k) => (k === i ? { ...m, ...change } : m)),
  });

  it('finds nothing wrong with a plan the planner made', () => {
    expect(plan.moves.length).toBeGreaterThan(4000);
    expect(moveProblems(topology, plan)).toEqual([]);
  });

  it('names each bad move by index and slot, and what is wrong with it', () => {
    const m = plan.moves[2]!;
    const ownedByOther = topology.owners.findIndex((o) => o !== m.from && o !== m.to);
    const onTarget = topology.owners.findIndex((o) => o === m.to);
    expect(onTarget).toBe(-1); // the empty master owns nothing yet: use a slot of another master
    expect(moveProblems(topology, edit(2, { to: 'deadbeef'.repeat(5) }))).toEqual([
      { index: 2, slot: m.slot, problem: `its target ${'deadbeef'.repeat(5)} is not a node of this cluster` },
    ]);
    expect(moveProblems(topology, edit(2, { to: nodeId(4) }))[0]?.problem).toMatch(
      /its target 127\.0\.0\.1:7004 \(\w{8}\) is a replica, not a master/,
    );
    const [notOwned] = moveProblems(topology, edit(2, { slot: ownedByOther }));
    expect(notOwned).toMatchObject({ index: 2, slot: ownedByOther });
    expect(notOwned?.problem).toMatch(
      /is owned by 127\.0\.0\.1:\d+ \(\w{8}\), not by its source 127\.0\.0\.1:\d+/,
    );
    const targetSlot = topology.owners.findIndex((o) => o === nodeId(1));
    expect(
      moveProblems(topology, edit(2, { slot: targetSlot, to: nodeId(1), from: nodeId(0) }))[0]?.problem,
    ).toMatch(/is already on its target 127\.0\.0\.1:7001/);
    const twice = edit(5, { slot: plan.moves[1]!.slot, from: plan.moves[1]!.from });
    expect(moveProblems(topology, twice)).toEqual([
      { index: 5, slot: plan.moves[1]!.slot, problem: `slot ${plan.moves[1]!.slot} also moves in moves[1]` },
    ]);
  });
});
