import { describe, expect, it } from 'vitest';
import { parseClusterNodes } from '../../../src/cluster/index.js';
import {
  endpointsNow,
  orphanedSlots,
  replicasToPromote,
  type PlannedMaster,
} from '../../../src/migrate/index.js';

// Node ids: S source, T target, and their replicas SR and TR; O another master.
const id = (c: string): string => c.repeat(40);
const S = { id: id('a'), host: '127.0.0.1', port: 7001 };
const T = { id: id('b'), host: '127.0.0.1', port: 7002 };
const O = { id: id('c'), host: '127.0.0.1', port: 7003 };
const SR = { id: id('d'), host: '127.0.0.1', port: 7004 };
const TR = { id: id('e'), host: '127.0.0.1', port: 7005 };
const planned: PlannedMaster[] = [
  { ...S, replicaIds: [SR.id] },
  { ...T, replicaIds: [TR.id] },
  { ...O, replicaIds: [] },
];
const move = { slot: 100, from: S, to: T };

/** A CLUSTER NODES reply: `[node, flags, master id or '-', slots]` per line. */
function nodes(...rows: Array<[typeof S, string, string, string]>): ReturnType<typeof parseClusterNodes> {
  return parseClusterNodes(
    rows
      .map(([n, flags, master, slots]) =>
        `${n.id} ${n.host}:${n.port}@${n.port + 10000} ${flags} ${master} 0 0 1 connected ${slots}`.trim(),
      )
      .join('\n'),
  );
}

describe('endpointsNow: where a retried slot moves from and to', () => {
  it('keeps the planned nodes when nothing failed over', () => {
    const lines = nodes(
      [S, 'myself,master', '-', '0-5000'],
      [T, 'master', '-', '5001-6000'],
      [O, 'master', '-', '6001-16383'],
      [SR, 'slave', S.id, ''],
      [TR, 'slave', T.id, ''],
    );
    expect(endpointsNow(lines, move, planned)).toEqual(move);
  });

  it('follows a demoted source or target to the master it now replicates (a manual failover)', () => {
    const lines = nodes(
      [S, 'slave', SR.id, ''],
      [SR, 'master', '-', '0-5000'],
      [T, 'slave', TR.id, ''],
      [TR, 'myself,master', '-', '5001-6000'],
      [O, 'master', '-', '6001-16383'],
    );
    expect(endpointsNow(lines, move, planned)).toEqual({ slot: 100, from: SR, to: TR });
  });

  it('replaces a dead target by its replica from the plan, now elected master', () => {
    // A dead master keeps no link to the replica that replaced it: only the plan knows them.
    const lines = nodes(
      [S, 'myself,master', '-', '0-5000'],
      [T, 'master,fail', '-', ''],
      [TR, 'master', '-', '5001-6000'],
      [O, 'master', '-', '6001-16383'],
    );
    expect(endpointsNow(lines, move, planned)).toEqual({ slot: 100, from: S, to: TR });
  });

  it('replaces a dead source by its replica from the plan, and by the slot owner for older plans', () => {
    const lines = nodes(
      [S, 'master,fail', '-', ''],
      [SR, 'master', '-', '0-5000'],
      [T, 'myself,master', '-', '5001-6000'],
      [O, 'master', '-', '6001-16383'],
    );
    expect(endpointsNow(lines, move, planned)).toEqual({ slot: 100, from: SR, to: T });
    const older = planned.map(({ id: i, host, port }) => ({ id: i, host, port }));
    expect(endpointsNow(lines, move, older)).toEqual({ slot: 100, from: SR, to: T });
  });

  it('keeps a dead node whose replica is not elected yet (the retry waits and asks again)', () => {
    const lines = nodes(
      [S, 'myself,master', '-', '0-5000'],
      [T, 'master,fail', '-', '5001-6000'],
      [TR, 'slave', T.id, ''],
      [O, 'master', '-', '6001-16383'],
    );
    expect(endpointsNow(lines, move, planned)).toEqual(move);
  });

  it('does not take a third master owning a healthy source slot for the source (a stale plan)', () => {
    const lines = nodes(
      [S, 'myself,master', '-', '0-99 101-5000'],
      [T, 'master', '-', '5001-6000'],
      [O, 'master', '-', '100 6001-16383'],
    );
    expect(endpointsNow(lines, move, planned)).toEqual(move);
  });
});

describe('orphanedSlots: slots a dead master kept although its replica was elected', () => {
  it('names the slots the elected replica did not claim, with that replica as their heir', () => {
    // The replica claimed 5001-5999 (what it had heard); 6000 was taken in the dead target's last moments.
    const lines = nodes(
      [S, 'myself,master', '-', '0-5000'],
      [T, 'master,fail', '-', '6000 6002-6003'],
      [TR, 'master', '-', '5001-5999 6001'],
      [O, 'master', '-', '6004-16383'],
    );
    expect(orphanedSlots(lines, planned)).toEqual([{ dead: T.id, heir: TR, slots: [6000, 6002, 6003] }]);
  });

  it('leaves the slots of a dead master alone while no replica of it is master', () => {
    const lines = nodes(
      [S, 'myself,master', '-', '0-5000'],
      [T, 'master,fail', '-', '5001-6000'],
      [TR, 'slave', T.id, ''],
      [O, 'master', '-', '6001-16383'],
    );
    expect(orphanedSlots(lines, planned)).toEqual([]);
  });

  it('leaves a master only suspected (pfail) or alive, and one the plan names no replica of', () => {
    const lines = nodes(
      [S, 'myself,master', '-', '0-5000'],
      [T, 'master,fail?', '-', '5001-6000'],
      [TR, 'master', '-', '6001-7000'],
      [O, 'master,fail', '-', '7001-16383'],
    );
    expect(orphanedSlots(lines, planned)).toEqual([]);
  });

  it('finds nothing once the elected replica owns everything its dead master had', () => {
    const lines = nodes(
      [S, 'myself,master', '-', '0-5000'],
      [T, 'master,fail', '-', ''],
      [TR, 'master', '-', '5001-6000'],
      [O, 'master', '-', '6001-16383'],
    );
    expect(orphanedSlots(lines, planned)).toEqual([]);
  });
});

describe('replicasToPromote: a target that died before owning any slot', () => {
  it('names its replicas from the plan: Redis elects none for a master without slots', () => {
    const lines = nodes(
      [S, 'myself,master', '-', '0-5000'],
      [T, 'master,fail', '-', ''],
      [TR, 'slave', T.id, ''],
      [O, 'master', '-', '5001-16383'],
    );
    expect(replicasToPromote(lines, move, planned)).toEqual([TR]);
  });

  it('names none for a target alive, only suspected, or owning slots (Redis elects a replica then)', () => {
    for (const [flags, slots] of [
      ['master', ''],
      ['master,fail?', ''],
      ['master,fail', '5001-6000'],
    ] as const) {
      const lines = nodes(
        [S, 'myself,master', '-', '0-5000'],
        [T, flags, '-', slots],
        [TR, 'slave', T.id, ''],
        [O, 'master', '-', '6001-16383'],
      );
      expect(replicasToPromote(lines, move, planned), `${flags} ${slots}`).toEqual([]);
    }
  });

  it('names none once a replica of it is master, or when its replica is down or follows another', () => {
    const promoted = nodes(
      [S, 'myself,master', '-', '0-16383'],
      [T, 'master,fail', '-', ''],
      [TR, 'master', '-', ''],
    );
    expect(replicasToPromote(promoted, move, planned)).toEqual([]);
    const down = nodes(
      [S, 'myself,master', '-', '0-16383'],
      [T, 'master,fail', '-', ''],
      [TR, 'slave,fail', T.id, ''],
    );
    expect(replicasToPromote(down, move, planned)).toEqual([]);
    const moved = nodes(
      [S, 'myself,master', '-', '0-16383'],
      [T, 'master,fail', '-', ''],
      [TR, 'slave', S.id, ''],
    );
    expect(replicasToPromote(moved, move, planned)).toEqual([]);
  });
});
