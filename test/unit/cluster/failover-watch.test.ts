import { describe, expect, it } from 'vitest';
import { failoversNotKept } from '../../../src/cluster/index.js';
import { evenOwners, nodeId, topologyFromOwners } from '../planner/fixtures.js';

// Masters 0 and 1; replicas 2 and 3 of master 0.
const topology = topologyFromOwners(evenOwners(2), 2, 2);
const [m0, m1, r2, r3] = [0, 1, 2, 3].map(nodeId) as [string, string, string, string];

describe('failoversNotKept', () => {
  it('names a replica that ran an election during the plan and is a replica at the end', () => {
    const before = new Map([
      [m0, 0],
      [m1, 0],
      [r2, 4],
      [r3, 0],
    ]);
    const after = new Map([
      [m0, 0],
      [m1, 0],
      [r2, 9],
      [r3, 0],
    ]);
    const found = failoversNotKept(before, after, topology);
    expect(found.map((f) => [f.replica.id, f.master?.id])).toEqual([[r2, m0]]);
  });

  it('says nothing when no election ran, or when the node that ran one is a master at the end', () => {
    const quiet = new Map([
      [m0, 3],
      [m1, 0],
      [r2, 4],
      [r3, 0],
    ]);
    expect(failoversNotKept(quiet, quiet, topology)).toEqual([]);
    // Master 1 ran an election (it was a replica during the plan) and kept its promotion.
    const after = new Map([
      [m0, 3],
      [m1, 5],
      [r2, 4],
      [r3, 0],
    ]);
    expect(failoversNotKept(quiet, after, topology)).toEqual([]);
  });

  it('skips nodes that did not answer before or after', () => {
    const before = new Map([
      [m0, 0],
      [m1, 0],
      [r3, 0],
    ]);
    const after = new Map([
      [m0, 0],
      [m1, 0],
      [r2, 7],
    ]);
    expect(failoversNotKept(before, after, topology)).toEqual([]);
  });
});
