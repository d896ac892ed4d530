import { describe, expect, it } from 'vitest';
import { buildTopology, parseClusterNodes, type Topology } from '../../../src/cluster/index.js';
import { planFix, slotsNeedingRepair, type SlotKeyCounts } from '../../../src/migrate/index.js';

// Node ids: S a master, T a target that died, H the replica elected in its place, O another master.
const id = (c: string): string => c.repeat(40);
const [S, T, H, O, TR] = ['a', 'b', 'c', 'd', 'e'].map(id) as [string, string, string, string, string];
const port: Record<string, number> = { [S]: 7001, [T]: 7002, [H]: 7003, [O]: 7004, [TR]: 7005 };

/** A topology from CLUSTER NODES rows `[id, flags, master id or '-', slots]`, every live node agreeing. */
function topology(...rows: Array<[string, string, string, string]>): Topology {
  const text = rows
    .map(([n, flags, master, slots]) =>
      `${n} 127.0.0.1:${port[n]}@${port[n]! + 10000} ${flags} ${master} 0 0 1 connected ${slots}`.trim(),
    )
    .join('\n');
  const view = parseClusterNodes(text);
  const own = new Map(view.map((l) => [l.id, l.flags.includes('fail') ? null : view]));
  return buildTopology({ seedView: view, ownViews: own, shards: null });
}

const counts = (entries: Array<[string, number, number]>): SlotKeyCounts => {
  const m = new Map<string, Map<number, number>>();
  for (const [node, slot, keys] of entries)
    m.set(node, (m.get(node) ?? new Map<number, number>()).set(slot, keys));
  return m;
};

describe('planFix: slots a dead master still owns', () => {
  it('gives such a slot to the only live master holding its keys (the replica elected in its place)', () => {
    const t = topology(
      [S, 'master', '-', '0-5000'],
      [T, 'master,fail', '-', '5001'],
      [H, 'master', '-', '5002-6000'],
      [O, 'master', '-', '6001-16383'],
    );
    expect(slotsNeedingRepair(t)).toEqual([5001]);
    expect(planFix(t, counts([[H, 5001, 12]]))).toEqual([
      expect.objectContaining({ kind: 'assign', slot: 5001, owner: H }),
    ]);
  });

  it('says what to do by hand when no live master, or more than one, holds its keys', () => {
    const t = topology(
      [S, 'master', '-', '0-5000'],
      [T, 'master,fail', '-', '5001'],
      [H, 'master', '-', '5002-6000'],
      [O, 'master', '-', '6001-16383'],
    );
    for (const c of [
      counts([]),
      counts([
        [H, 5001, 3],
        [O, 5001, 1],
      ]),
    ]) {
      const [action] = planFix(t, c);
      expect(action).toMatchObject({ kind: 'unfixable', slot: 5001 });
      expect(action?.reason).toContain('CLUSTER SETSLOT <slot> NODE');
    }
  });

  it('leaves the slots of a dead master that a live replica still follows: Redis elects it', () => {
    const t = topology(
      [S, 'master', '-', '0-5000'],
      [T, 'master,fail', '-', '5001-6000'],
      [TR, 'slave', T, ''],
      [O, 'master', '-', '6001-16383'],
    );
    expect(slotsNeedingRepair(t)).toEqual([]);
    expect(planFix(t, counts([[TR, 5001, 12]]))).toEqual([]);
  });

  it('leaves a master only suspected (fail?) alone', () => {
    const t = topology(
      [S, 'master', '-', '0-5000'],
      [T, 'master,fail?', '-', '5001'],
      [H, 'master', '-', '5002-6000'],
      [O, 'master', '-', '6001-16383'],
    );
    expect(slotsNeedingRepair(t)).toEqual([]);
  });
});
