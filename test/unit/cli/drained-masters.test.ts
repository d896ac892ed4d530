import { describe, expect, it } from 'vitest';
import type { Topology } from '../../../src/cluster/index.js';
import { drainedMasterNotes } from '../../../src/cli/drained-masters.js';
import { planMoves, simulatePlan } from '../../../src/planner/index.js';
import { evenOwners, nodeId, topologyFromOwners } from '../planner/fixtures.js';

// Three masters at 127.0.0.1:7000-7002; the plan drains the third.
const before = topologyFromOwners(evenOwners(3), 3);
const plan = planMoves(before, {}, { drain: [nodeId(2)] });
const drained = nodeId(2);

/** The cluster after the plan, with the drained master as Redis leaves it. */
function after(role: 'replica' | 'master'): Topology {
  const moved = simulatePlan(before, plan);
  const heir = plan.moves.at(-1)!.to;
  return {
    ...moved,
    nodes: moved.nodes.map((n) =>
      n.id !== drained
        ? n
        : role === 'replica'
          ? { ...n, role: 'replica', masterId: heir, slots: [] }
          : { ...n, slots: [] },
    ),
  };
}

describe('after an apply that drains a master, one line says what became of it and how to remove it', () => {
  it('names the master Redis made it a replica of, and the commands that remove it', () => {
    const t = after('replica');
    const heir = t.nodes.find((n) => n.id === plan.moves.at(-1)!.to)!;
    // redis-cli is pointed at a master that stays: the first, by id, still holding slots.
    const stays = t.nodes
      .filter((n) => n.role === 'master' && n.slots.length > 0)
      .sort((a, b) => a.id.localeCompare(b.id))[0]!;
    expect(drainedMasterNotes(plan, t)).toEqual([
      `drained: 127.0.0.1:7002 (${drained.slice(0, 8)}) holds no slots now; Redis made it a replica of ${heir.addr} (${heir.id.slice(0, 8)}), as it does with a master left without slots. ` +
        `To remove it from the cluster: redis-cli --cluster del-node ${stays.addr} ${drained} (it forgets the node everywhere and shuts it down), or CLUSTER FORGET ${drained} on every other node within 60 s`,
    ]);
  });

  it('says so when it stayed a master without slots', () => {
    const [note] = drainedMasterNotes(plan, after('master'));
    expect(note).toContain('holds no slots now; it is still a master, with no slots.');
  });

  it('says nothing when no master was drained, or the drained one still holds slots', () => {
    const scaleOut = topologyFromOwners(evenOwners(3), 4);
    const filling = planMoves(scaleOut, {}, { useEmptyMasters: true });
    expect(drainedMasterNotes(filling, simulatePlan(scaleOut, filling))).toEqual([]);
    expect(drainedMasterNotes(plan, before)).toEqual([]);
  });
});
