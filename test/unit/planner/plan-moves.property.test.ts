import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SLOT_COUNT, type Topology } from '../../../src/cluster/index.js';
import {
  ImpossiblePolicyError,
  planMoves,
  REASON_ALREADY_BALANCED,
  simulatePlan,
  withinThreshold,
  type Plan,
  type PlanPolicy,
} from '../../../src/planner/index.js';
import {
  clusterArb,
  countBy,
  lcg,
  nodeId,
  ownersFromRuns,
  topologyFromOwners,
  type GeneratedCluster,
} from './fixtures.js';
import { redisCliRebalance } from './redis-cli-rebalance.js';

interface Case {
  readonly cluster: GeneratedCluster;
  readonly policy: PlanPolicy;
  readonly withStats: boolean;
}

/** Policies over ids of the generated cluster; master 0 always keeps a positive weight. */
function caseArb(maxMasters: number): fc.Arbitrary<Case> {
  return clusterArb(maxMasters).chain((cluster) => {
    const all = cluster.masterCount + cluster.emptyCount;
    const index = fc.integer({ min: 1, max: Math.max(1, all - 1) });
    return fc
      .record({
        weights: fc.array(
          fc.tuple(
            index,
            fc.oneof(fc.integer({ min: 0, max: 5 }), fc.double({ min: 0.1, max: 4, noNaN: true })),
          ),
          { maxLength: 6 },
        ),
        drain: fc.array(index, { maxLength: 2 }),
        exclude: fc.array(index, { maxLength: 2 }),
        useEmptyMasters: fc.boolean(),
        threshold: fc.constantFrom(0, 1, 2, 5, 10),
        maxPerNode: fc.integer({ min: 1, max: 6 }),
        withStats: fc.boolean(),
      })
      .map(({ weights, drain, exclude, useEmptyMasters, threshold, maxPerNode, withStats }) => {
        const valid = (i: number): boolean => i < all;
        const excluded = [...new Set(exclude.filter(valid))];
        const claimed = new Set(excluded);
        const weightMap: Record<string, number> = {};
        for (const [i, w] of weights) {
          if (!valid(i) || claimed.has(i)) continue;
          claimed.add(i);
          weightMap[nodeId(i)] = w;
        }
        const drained = [...new Set(drain.filter((i) => valid(i) && !claimed.has(i)))];
        const policy: PlanPolicy & { [fc.toStringMethod]?: () => string } = {
          weights: weightMap,
          drain: drained.map(nodeId),
          exclude: excluded.map(nodeId),
          useEmptyMasters,
          threshold,
          maxPerNode,
        };
        return { cluster, policy, withStats };
      });
  });
}

function plan(c: Case, topology: Topology = c.cluster.topology): Plan {
  return planMoves(topology, c.withStats ? { keys: c.cluster.keys, bytes: c.cluster.bytes } : {}, c.policy);
}

/** Rational share of the participants' slots, before integer rounding. */
function idealShare(p: Plan, id: string): number {
  const weights = Object.values(p.policy.weights);
  const total = Object.keys(p.policy.weights).reduce((sum, k) => sum + (p.before[k]?.slots ?? 0), 0);
  return (total * (p.policy.weights[id] ?? 0)) / weights.reduce((a, b) => a + b, 0);
}

const RUNS = { numRuns: 60 };

describe('planMoves properties (balanceBy slots)', () => {
  it('leaves every slot with one master, each master within threshold of its target, nothing moved twice', () => {
    fc.assert(
      fc.property(caseArb(300), (c) => {
        const p = plan(c);
        const after = simulatePlan(c.cluster.topology, p);
        expect(after.owners.every((o) => o !== null)).toBe(true);
        const masterIds = new Set(after.nodes.filter((n) => n.role === 'master').map((n) => n.id));
        expect(after.owners.every((o) => o !== null && masterIds.has(o))).toBe(true);
        expect(new Set(p.moves.map((m) => m.slot)).size).toBe(p.moves.length);

        const counts = countBy(after.owners);
        const givers = new Set(p.moves.map((m) => m.from));
        const takers = new Set(p.moves.map((m) => m.to));
        for (const [id, target] of Object.entries(p.targets)) {
          const have = counts.get(id) ?? 0;
          expect(withinThreshold(have, target, p.policy.threshold)).toBe(true);
          // Integer targets are the rational share rounded (largest remainder): within one slot.
          expect(Math.abs(target - idealShare(p, id))).toBeLessThan(1);
          // A master outside its band goes all the way to its target, not to the band's edge.
          const before = p.before[id]?.slots ?? 0;
          if (!withinThreshold(before, target, p.policy.threshold)) expect(have).toBe(target);
          if (givers.has(id)) expect(have).toBeGreaterThanOrEqual(target);
          if (takers.has(id)) expect(have).toBeLessThanOrEqual(target);
          expect(givers.has(id) && takers.has(id)).toBe(false);
          if (p.policy.weights[id] === 0) expect(have).toBe(0);
        }
        for (const id of p.policy.exclude) expect(counts.get(id) ?? 0).toBe(p.before[id]?.slots);
        expect(Object.values(p.after).reduce((sum, l) => sum + l.slots, 0)).toBe(SLOT_COUNT);
        expect(p.waves.flat().sort((a, b) => a - b)).toEqual(p.moves.map((_, i) => i));
        for (const wave of p.waves) {
          const perNode = countBy(wave.flatMap((i) => [p.moves[i]?.from ?? null, p.moves[i]?.to ?? null]));
          for (const n of perNode.values()) expect(n).toBeLessThanOrEqual(p.policy.maxPerNode);
        }
      }),
      RUNS,
    );
  });

  it('finds nothing to do on its own result, and gives the same plan for the same input', () => {
    fc.assert(
      fc.property(caseArb(300), (c) => {
        const first = plan(c);
        expect(JSON.stringify(plan(c))).toBe(JSON.stringify(first));
        const again = plan(c, simulatePlan(c.cluster.topology, first));
        expect(again.moves).toEqual([]);
        expect(again.reason).toBe(REASON_ALREADY_BALANCED);
      }),
      RUNS,
    );
  });

  it('never moves more slots, bytes or keys than redis-cli rebalance on the same input', () => {
    fc.assert(
      fc.property(
        clusterArb(40),
        fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 8 }),
        fc.boolean(),
        fc.constantFrom(1, 2, 5),
        fc.boolean(),
        (cluster, weightList, useEmptyMasters, threshold, keysOnly) => {
          const weights = new Map<string, number>();
          weightList.forEach((w, i) => {
            // redis-cli ignores weights of empty masters without useEmpty; slotshift honours them.
            if (i + 1 < (useEmptyMasters ? cluster.masterCount + cluster.emptyCount : cluster.masterCount)) {
              weights.set(nodeId(i + 1), w);
            }
          });
          const reference = redisCliRebalance(cluster.topology, weights, {
            useEmpty: useEmptyMasters,
            threshold,
          });
          // redis-cli's threshold test differs from ours (see redisCliRebalance); compare when it acts.
          if (reference === 'no rebalancing needed') return;
          const policy: PlanPolicy = { weights: Object.fromEntries(weights), useEmptyMasters, threshold };
          const participating = planMoves(cluster.topology, {}, policy).policy.weights;
          fc.pre(Object.values(participating).some((w) => w > 0));
          const stats = keysOnly ? { keys: cluster.keys } : { keys: cluster.keys, bytes: cluster.bytes };
          const ours = planMoves(cluster.topology, stats, policy);
          expect(ours.moves.length).toBeLessThanOrEqual(reference.length);
          const sum = (slots: readonly number[], per: readonly number[]): number =>
            slots.reduce((s, slot) => s + (per[slot] ?? 0), 0);
          const theirs = reference.map((m) => m.slot);
          if (keysOnly) expect(ours.totals.keys).toBeLessThanOrEqual(sum(theirs, cluster.keys));
          else expect(ours.totals.bytes).toBeLessThanOrEqual(sum(theirs, cluster.bytes));
        },
      ),
      RUNS,
    );
  });

  it('with stats, each donor gives one block of consecutive slots, no dearer than its first slots', () => {
    fc.assert(
      fc.property(caseArb(12), (c) => {
        fc.pre(c.withStats);
        const p = plan(c);
        const bytes = c.cluster.bytes;
        const byDonor = new Map<string, number[]>();
        for (const m of p.moves) byDonor.set(m.from, [...(byDonor.get(m.from) ?? []), m.slot]);
        for (const [donor, given] of byDonor) {
          // Pinned slots are never moved, so the donor's own order is over all it owns here.
          const owned = c.cluster.topology.owners.flatMap((o, slot) => (o === donor ? [slot] : []));
          const positions = given.map((slot) => owned.indexOf(slot)).sort((a, b) => a - b);
          const first = positions[0] ?? 0;
          expect(positions).toEqual(positions.map((_, k) => first + k));
          const cost = (slots: readonly number[]): number =>
            slots.reduce((sum, s) => sum + (bytes[s] ?? 0), 0);
          expect(cost(given)).toBeLessThanOrEqual(cost(owned.slice(0, given.length)));
        }
      }),
      RUNS,
    );
  });

  it('refuses to plan when every master taking part has weight 0', () => {
    fc.assert(
      fc.property(clusterArb(20), (cluster) => {
        const drain = Array.from({ length: cluster.masterCount }, (_, i) => nodeId(i));
        expect(() => planMoves(cluster.topology, {}, { drain })).toThrow(ImpossiblePolicyError);
      }),
      { numRuns: 20 },
    );
  });
});

describe('planMoves properties (balanceBy keys)', () => {
  /** The property, over a generated cluster and the two percentages. */
  const keyShareProperty = fc.property(
    clusterArb(16),
    fc.constantFrom(2, 5),
    fc.constantFrom(10, 20),
    (cluster, threshold, slotTolerance) => {
      const policy: PlanPolicy = { balanceBy: 'keys', threshold, slotTolerance };
      const p = planMoves(cluster.topology, { keys: cluster.keys }, policy);
      const after = simulatePlan(cluster.topology, p);
      expect(new Set(p.moves.map((m) => m.slot)).size).toBe(p.moves.length);
      const keysOf = new Map<string, number>();
      after.owners.forEach((o, s) => o && keysOf.set(o, (keysOf.get(o) ?? 0) + (cluster.keys[s] ?? 0)));
      const totalKeys = cluster.keys.reduce((a, b) => a + b, 0);
      const ids = Object.keys(p.policy.weights);
      const counts = countBy(after.owners);
      for (const id of ids) {
        expect(withinThreshold(keysOf.get(id) ?? 0, totalKeys / ids.length, threshold)).toBe(true);
        expect(withinThreshold(counts.get(id) ?? 0, p.targets[id] ?? 0, slotTolerance)).toBe(true);
      }
      const again = planMoves(after, { keys: cluster.keys }, policy);
      expect(again.moves).toEqual([]);
    },
  );

  it('brings every master within the threshold of its key share, slot counts within slotTolerance', () => {
    fc.assert(keyShareProperty, { numRuns: 40 });
  });

  it('does so where the partner with room has too narrow a gap for any slot (a found counterexample)', () => {
    // Shrunk from fast-check seed 1125772634 (1 failure in about 1,400 runs of the property above).
    // The first master ended 21 keys over its 5% band: the only partner with room to take a slot was
    // 22 keys short of its share and none of the master's slots fitted; the planner stopped there
    // instead of swapping with a partner that had no room.
    const owners = ownersFromRuns(
      [
        { length: 61, owner: 2 },
        { length: 2725, owner: 1 },
        { length: 140, owner: 0 },
        { length: 1625, owner: 3 },
      ],
      4,
    );
    const rand = lcg(27);
    const keys = owners.map((_, s) => Math.floor(rand() * 100) * (s < 2702 ? 5 : 1));
    const topology = topologyFromOwners(owners, 4, 1);
    const policy: PlanPolicy = { balanceBy: 'keys', threshold: 5, slotTolerance: 20 };
    const after = simulatePlan(topology, planMoves(topology, { keys }, policy));
    const keysOf = new Map<string, number>();
    after.owners.forEach((o, s) => o && keysOf.set(o, (keysOf.get(o) ?? 0) + (keys[s] ?? 0)));
    const share = keys.reduce((a, b) => a + b, 0) / 4;
    for (const m of [0, 1, 2, 3]) expect(withinThreshold(keysOf.get(nodeId(m)) ?? 0, share, 5)).toBe(true);
  });
});
