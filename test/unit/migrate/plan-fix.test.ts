import { describe, expect, it } from 'vitest';
import { buildTopology, parseClusterNodes, type Topology } from '../../../src/cluster/index.js';
import {
  chooseDisputedOwner,
  planFix,
  slotsNeedingRepair,
  stableRepairs,
  type SlotKeyCounts,
} from '../../../src/migrate/index.js';

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

/**
 * A topology where each master sees the rows given, with its own slots replaced by `own[id]` in its
 * own view (open slots such as `[20->-<id>]` appear only there) and `views[id]` replacing a whole
 * view (a master that has not yet heard of a move). The seed is the first row.
 */
function viewed(
  rows: Array<[string, string]>,
  own: Record<string, string> = {},
  views: Record<string, Record<string, string>> = {},
): Topology {
  const text = (me: string) =>
    rows
      .map(([n, slots]) => {
        const mine = n === me ? (own[n] ?? slots) : (views[me]?.[n] ?? slots);
        const flags = n === me ? 'myself,master' : 'master';
        return `${n} 127.0.0.1:${port[n]}@${port[n]! + 10000} ${flags} - 0 0 1 connected ${mine}`.trim();
      })
      .join('\n');
  const ownViews = new Map(rows.map(([n]) => [n, parseClusterNodes(text(n))]));
  return buildTopology({ seedView: ownViews.get(rows[0]![0])!, ownViews, shards: null });
}

describe('stableRepairs: only problems the same in two reads are repaired', () => {
  const read = (t: Topology, c: SlotKeyCounts) => ({ actions: planFix(t, c), counts: c });
  const base: Array<[string, string]> = [
    [H, '5001-6000'],
    [S, '0-5000'],
    [O, '6001-16383'],
    [TR, ''],
  ];

  it('leaves alone a slot whose repair differs between the reads, and repairs one that is the same', () => {
    // Slot 20 stays half moved between both reads (a crashed move); slot 30 opens only in the
    // second (a move starting).
    const first = viewed(base, { [S]: `0-5000 [20->-${O}]`, [O]: `6001-16383 [20-<-${S}]` });
    const second = viewed(base, {
      [S]: `0-5000 [20->-${O}] [30->-${O}]`,
      [O]: `6001-16383 [20-<-${S}]`,
    });
    const c = counts([
      [S, 20, 5],
      [O, 20, 2],
      [S, 30, 9],
    ]);
    const { actions, changing } = stableRepairs(read(first, c), read(second, c));
    expect(actions).toEqual([expect.objectContaining({ kind: 'finish-move', slot: 20, from: S, to: O })]);
    expect(changing).toEqual([30]);
  });

  it('does not move a just-moved slot back to its old owner when the next read shows the move done', () => {
    // Slot 10 has just moved from S to TR: both have closed it, H and O have not heard yet, and the
    // seed H breaks the tie for S. Planned from this read alone, TR's keys go back to S (what QA saw).
    const moved: Array<[string, string]> = [
      [H, '5001-6000'],
      [S, '0-9 11-5000'],
      [O, '6001-16383'],
      [TR, '10'],
    ];
    const old = { [S]: '0-5000', [TR]: '' };
    const justMoved = viewed(moved, {}, { [H]: old, [O]: old });
    const c = counts([[TR, 10, 4]]);
    expect(planFix(justMoved, c)).toContainEqual(
      expect.objectContaining({ kind: 'finish-move', slot: 10, from: TR, to: S }),
    );
    expect(stableRepairs(read(justMoved, c), read(viewed(moved), c))).toEqual({ actions: [], changing: [] });
  });

  it('counts a slot as changing when its keys reach another master between the reads, not when their number grows', () => {
    const t = viewed(base, { [S]: `0-5000 [40->-${O}]` });
    const start = read(t, counts([[S, 40, 9]]));
    const written = read(t, counts([[S, 40, 12]]));
    const arrived = read(
      t,
      counts([
        [S, 40, 5],
        [O, 40, 4],
      ]),
    );
    expect(start.actions).toEqual([expect.objectContaining({ kind: 'close', slot: 40, node: S })]);
    expect(stableRepairs(start, written)).toEqual({ actions: start.actions, changing: [] });
    expect(stableRepairs(start, arrived)).toEqual({ actions: [], changing: [40] });
  });
});

describe('chooseDisputedOwner: the keys decide who keeps a slot several masters claim', () => {
  const claim = (node: string, keys: number, configEpoch: number) => ({ node, keys, configEpoch });

  it('keeps the claimant holding the most keys, whatever its epoch or id', () => {
    expect(chooseDisputedOwner([claim(S, 0, 9), claim(O, 12, 1)])).toEqual({ owner: O, rule: 'most-keys' });
    expect(chooseDisputedOwner([claim(O, 3, 9), claim(S, 40, 1), claim(H, 39, 5)])).toEqual({
      owner: S,
      rule: 'most-keys',
    });
  });

  it('breaks a tie on keys by the higher config epoch, then by the smaller node id', () => {
    expect(chooseDisputedOwner([claim(S, 5, 3), claim(O, 5, 7)])).toEqual({ owner: O, rule: 'config-epoch' });
    expect(chooseDisputedOwner([claim(O, 0, 4), claim(S, 0, 4)])).toEqual({ owner: S, rule: 'node-id' });
  });

  it('gives the same answer for any order of the claims', () => {
    const claims = [claim(S, 2, 1), claim(H, 2, 6), claim(O, 2, 6), claim(TR, 1, 9)];
    const orders = [claims, [...claims].reverse(), [claims[2]!, claims[0]!, claims[3]!, claims[1]!]];
    for (const c of orders) expect(chooseDisputedOwner(c)).toEqual({ owner: H, rule: 'node-id' });
  });
});

describe('planFix: a slot claimed by two masters', () => {
  // H, S and O see S as the owner of slot 7 (the majority); O also claims it in its own view, with
  // the slot's keys. Epochs: S 5, O 2 (the rows give every node epoch 1 and are edited here).
  const disputed = (): Topology => {
    const rows: Array<[string, string]> = [
      [H, '5001-6000'],
      [S, '0-5000'],
      [O, '6001-16383'],
    ];
    const t = viewed(rows, { [O]: '7 6001-16383' });
    const epoch: Record<string, number> = { [H]: 1, [S]: 5, [O]: 2 };
    return { ...t, nodes: t.nodes.map((n) => ({ ...n, configEpoch: epoch[n.id] ?? 0 })) };
  };

  it('gives the slot to the claimant holding its keys, not to the one most nodes name', () => {
    const t = disputed();
    expect(t.owners[7]).toBe(S);
    expect(slotsNeedingRepair(t)).toEqual([7]);
    const actions = planFix(t, counts([[O, 7, 25]]));
    expect(actions).toEqual([
      expect.objectContaining({ kind: 'settle-dispute', slot: 7, owner: O, others: [S], rule: 'most-keys' }),
    ]);
    expect(actions[0]?.reason).toContain('most keys');
    // Clients writing to the claimant between fix's two reads do not make it a slot still changing.
    const more = counts([[O, 7, 31]]);
    expect(
      stableRepairs({ actions, counts: counts([[O, 7, 25]]) }, { actions: planFix(t, more), counts: more }),
    ).toEqual({ actions: planFix(t, more), changing: [] });
  });

  it('with no keys on either side, keeps the claim with the higher config epoch and says so', () => {
    const [action] = planFix(disputed(), counts([]));
    expect(action).toMatchObject({ kind: 'settle-dispute', owner: S, others: [O], rule: 'config-epoch' });
    expect(action?.reason).toContain('config epoch');
  });
});
