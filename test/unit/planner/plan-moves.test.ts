import { describe, expect, it } from 'vitest';
import { SLOT_COUNT } from '../../../src/cluster/index.js';
import { InvalidOptionError } from '../../../src/errors/index.js';
import {
  AmbiguousNodeRefError,
  ImpossiblePolicyError,
  InvalidPlanError,
  InvalidStatsError,
  NotAMasterError,
  OpenSlotsError,
  parsePlan,
  planMoves,
  planToJson,
  planToYaml,
  REASON_ALREADY_BALANCED,
  simulatePlan,
  StalePlanError,
  TopologyDisagreementError,
  UncoveredSlotsError,
  UnknownNodeError,
  withinThreshold,
} from '../../../src/planner/index.js';
import { countBy, evenOwners, makeNode, nodeId, topologyFromOwners } from './fixtures.js';
import { redisCliRebalance } from './redis-cli-rebalance.js';

const three = topologyFromOwners(evenOwners(3), 3, 1);

describe('planMoves examples', () => {
  it('finds a freshly created even cluster already balanced', () => {
    const plan = planMoves(three);
    expect(plan.moves).toEqual([]);
    expect(plan.reason).toBe(REASON_ALREADY_BALANCED);
  });

  it('drains a weight-0 node completely, leaving no slot behind (redis/redis#3001, #4941)', () => {
    // 3 masters, one drained: 16384 / 2 leaves no remainder, but with 3 or 7 keepers redis-trib left one.
    for (const masters of [3, 4, 8]) {
      const topology = topologyFromOwners(evenOwners(masters), masters);
      const plan = planMoves(topology, {}, { weights: { [nodeId(0)]: 0 } });
      const after = countBy(simulatePlan(topology, plan).owners);
      expect(after.get(nodeId(0)) ?? 0).toBe(0);
      expect([...after.values()].reduce((a, b) => a + b, 0)).toBe(SLOT_COUNT);
      expect(planMoves(simulatePlan(topology, plan), {}, { drain: [nodeId(0)] }).moves).toEqual([]);
    }
  });

  it('moves only the excess of an unbalanced master, and fewer keys than redis-cli on skewed stats', () => {
    // Master 0 holds 8192 slots, masters 1 and 2 hold 4096 each; keys are heavy in master 0's low slots.
    const owners = Array.from({ length: SLOT_COUNT }, (_, s) => (s < 8192 ? 0 : s < 12288 ? 1 : 2));
    const topology = topologyFromOwners(owners, 3);
    const keys = owners.map((_, s) => (s < 4096 ? 1000 : 1));
    const plan = planMoves(topology, { keys }, { threshold: 0 });
    const reference = redisCliRebalance(topology, new Map(), { threshold: 1 });
    if (reference === 'no rebalancing needed') throw new Error('reference should rebalance');
    expect(plan.moves.length).toBe(reference.length);
    const referenceKeys = reference.reduce((sum, m) => sum + (keys[m.slot] ?? 0), 0);
    expect(plan.totals.keys).toBeLessThan(referenceKeys);
    expect(plan.moves.every((m) => m.slot >= 4096)).toBe(true);
  });

  it('gives new masters their whole share at the default threshold, as redis-cli does', () => {
    const topology = topologyFromOwners(evenOwners(3), 6);
    const plan = planMoves(topology, {}, { useEmptyMasters: true });
    const after = countBy(simulatePlan(topology, plan).owners);
    for (let m = 0; m < 6; m++) {
      expect(after.get(nodeId(m))).toBe(plan.targets[nodeId(m)]);
      expect(Math.abs((after.get(nodeId(m)) ?? 0) - SLOT_COUNT / 6)).toBeLessThan(1);
    }
    const reference = redisCliRebalance(topology, new Map(), { useEmpty: true });
    expect(reference).not.toBe('no rebalancing needed');
    // redis-cli rounds shares differently: it may move a slot or two more, never fewer.
    const referenceMoves = (reference as unknown[]).length;
    expect(plan.moves.length).toBeLessThanOrEqual(referenceMoves);
    expect(plan.moves.length).toBeGreaterThanOrEqual(referenceMoves - 2);
  });

  it('takes whole ranges and peels long ones from one end when stats are absent', () => {
    const owners = evenOwners(2);
    const topology = topologyFromOwners(owners, 3);
    const plan = planMoves(topology, {}, { useEmptyMasters: true, threshold: 0 });
    const fromZero = plan.moves.filter((m) => m.from === nodeId(0)).map((m) => m.slot);
    // Master 0 owns 0-8191 and keeps the low end: the slots it gives form one contiguous block.
    expect(Math.max(...fromZero) - Math.min(...fromZero) + 1).toBe(fromZero.length);
    expect(Math.max(...fromZero)).toBe(8191);
  });

  it('balances keys where slot balancing cannot', () => {
    const owners = evenOwners(4);
    const topology = topologyFromOwners(owners, 4);
    const keys = owners.map((_, s) => (s < 4096 ? 40 + (s % 7) : 5 + (s % 3)));
    const slotsPlan = planMoves(topology, { keys }, {});
    expect(slotsPlan.moves).toEqual([]);
    const plan = planMoves(topology, { keys }, { balanceBy: 'keys', threshold: 2, slotTolerance: 60 });
    const keysOf = new Map<string, number>();
    simulatePlan(topology, plan).owners.forEach(
      (o, s) => o && keysOf.set(o, (keysOf.get(o) ?? 0) + (keys[s] ?? 0)),
    );
    const share = keys.reduce((a, b) => a + b, 0) / 4;
    for (let m = 0; m < 4; m++) expect(withinThreshold(keysOf.get(nodeId(m)) ?? 0, share, 2)).toBe(true);
    expect(withinThreshold(slotsPlan.before[nodeId(0)]?.keys ?? 0, share, 2)).toBe(false);
  });

  it('leaves pinned slots and excluded masters alone', () => {
    const topology = topologyFromOwners(evenOwners(2), 3);
    const plan = planMoves(
      topology,
      {},
      {
        useEmptyMasters: true,
        pin: [{ start: 0, end: 99 }],
        exclude: [nodeId(1)],
      },
    );
    expect(plan.moves.some((m) => m.slot < 100)).toBe(false);
    expect(plan.moves.some((m) => m.from === nodeId(1) || m.to === nodeId(1))).toBe(false);
    expect(plan.targets[nodeId(0)]).toBe(4096);
  });

  it('cuts at maxMoves and maxBytes and a later plan continues', () => {
    const topology = topologyFromOwners(evenOwners(2), 3);
    const bytes = new Array<number>(SLOT_COUNT).fill(10);
    const plan = planMoves(topology, { bytes }, { useEmptyMasters: true, maxMoves: 100, threshold: 0 });
    expect(plan.moves).toHaveLength(100);
    expect(plan.deferred).toBe(5461 - 100);
    const byBytes = planMoves(topology, { bytes }, { useEmptyMasters: true, maxBytes: 255, threshold: 0 });
    expect(byBytes.moves).toHaveLength(25);
    const rest = planMoves(simulatePlan(topology, plan), { bytes }, { useEmptyMasters: true, threshold: 0 });
    expect(rest.moves).toHaveLength(5461 - 100);
    expect(plan.reason).toBe('100 moves kept and 5361 deferred by maxMoves 100; plan again after applying');
    const one = planMoves(topology, { bytes }, { useEmptyMasters: true, maxMoves: 1, threshold: 0 });
    expect(one.reason).toBe('1 move kept and 5460 deferred by maxMoves 1; plan again after applying');
  });

  it('builds waves no wider than maxPerNode with disjoint pairs side by side', () => {
    const owners = Array.from({ length: SLOT_COUNT }, (_, s) => (s < 8192 ? 0 : 2));
    const topology = topologyFromOwners(owners, 4);
    const plan = planMoves(topology, {}, { useEmptyMasters: true, threshold: 0, maxPerNode: 3 });
    const first = plan.waves[0] ?? [];
    expect(first).toHaveLength(6);
    expect(new Set(first.map((i) => plan.moves[i]?.from)).size).toBe(2);
  });
});

describe('plan as data', () => {
  const topology = topologyFromOwners(evenOwners(2), 3);
  const plan = planMoves(
    topology,
    { keys: new Array<number>(SLOT_COUNT).fill(3) },
    { useEmptyMasters: true },
  );

  it('round-trips through JSON and YAML unchanged', () => {
    expect(parsePlan(planToJson(plan))).toEqual(plan);
    expect(JSON.stringify(parsePlan(planToYaml(plan)))).toBe(JSON.stringify(plan));
    const empty = planMoves(three);
    expect(JSON.stringify(parsePlan(planToYaml(empty)))).toBe(JSON.stringify(empty));
  });

  it('rejects a malformed plan naming the field', () => {
    const json = JSON.parse(planToJson(plan)) as { moves: { slot: number }[] };
    json.moves[0] = { ...json.moves[0], slot: 99999 };
    expect(() => parsePlan(JSON.stringify(json))).toThrow(InvalidPlanError);
    expect(() => parsePlan(JSON.stringify(json))).toThrow(/moves\.0\.slot/);
    expect(() => parsePlan('kind: [')).toThrow(InvalidPlanError);
  });

  it('refuses to simulate a plan on another topology', () => {
    expect(() => simulatePlan(three, plan)).toThrow(StalePlanError);
  });
});

describe('bad input', () => {
  it.each([
    [{ weights: { nope: 1 } }, UnknownNodeError, /no node matches "nope"/],
    [{ weights: { '127.0.0.1:9999': 1 } }, UnknownNodeError, /127\.0\.0\.1:9999/],
    [{ weights: { [nodeId(0)]: -1 } }, InvalidOptionError, /at least 0/],
    [{ weights: { [nodeId(0)]: Number.POSITIVE_INFINITY } }, InvalidOptionError, /finite/],
    [{ drain: [nodeId(0), nodeId(1), nodeId(2)] }, ImpossiblePolicyError, /nowhere to go/],
    [{ drain: [nodeId(0)], pin: [{ start: 5, end: 5 }] }, ImpossiblePolicyError, /pinned slot 5/],
    [{ drain: [nodeId(3)] }, NotAMasterError, /is replica/],
    [{ threshold: Number.NaN }, InvalidOptionError, /threshold/],
    [{ maxPerNode: 0 }, InvalidOptionError, /maxPerNode/],
    [{ pin: [{ start: 10, end: 2 }] }, InvalidOptionError, /pin\[0\]/],
  ])('policy %o throws %o', (policy, errorType, message) => {
    expect(() => planMoves(three, {}, policy)).toThrow(errorType);
    expect(() => planMoves(three, {}, policy)).toThrow(message);
  });

  it('resolves host:port and id prefixes, and refuses an ambiguous prefix', () => {
    const plan = planMoves(three, {}, { weights: { '127.0.0.1:7000': 2, [nodeId(1).slice(0, 6)]: 1 } });
    expect(plan.policy.weights[nodeId(0)]).toBe(2);
    const twins = topologyFromOwners(evenOwners(2), 2);
    const nodes = twins.nodes.map((n, i) => ({ ...n, id: `abcd${i}`.padEnd(40, '0') }));
    const owners = twins.owners.map((o) => nodes[twins.nodes.findIndex((n) => n.id === o)]?.id ?? null);
    expect(() => planMoves({ ...twins, nodes, owners }, {}, { weights: { abcd: 1 } })).toThrow(
      AmbiguousNodeRefError,
    );
  });

  it('refuses open slots, disagreement and uncovered slots, pointing to slotshift fix', () => {
    const nodes = three.nodes.map((n) =>
      n.id === nodeId(0) ? { ...n, migrating: [{ slot: 1, to: nodeId(1) }] } : n,
    );
    expect(() => planMoves({ ...three, nodes })).toThrow(OpenSlotsError);
    expect(() => planMoves({ ...three, nodes })).toThrow(/slotshift fix/);
    expect(() => planMoves({ ...three, agreed: false })).toThrow(TopologyDisagreementError);
    const owners = [...three.owners];
    owners[42] = null;
    expect(() => planMoves({ ...three, owners })).toThrow(UncoveredSlotsError);
    expect(() => planMoves({ ...three, owners })).toThrow(/slotshift fix/);
  });

  it('refuses stats of the wrong shape and a measure without stats', () => {
    expect(() => planMoves(three, { keys: [1, 2, 3] })).toThrow(InvalidStatsError);
    expect(() => planMoves(three, {}, { balanceBy: 'memory' })).toThrow(InvalidStatsError);
  });

  it('treats an explicitly weighted empty master as taking part even without useEmptyMasters', () => {
    const topology = topologyFromOwners(evenOwners(2), 3);
    expect(planMoves(topology).policy.weights[nodeId(2)]).toBeUndefined();
    const plan = planMoves(topology, {}, { weights: { [nodeId(2)]: 1 } });
    expect(plan.targets[nodeId(2)]).toBe(5461);
    expect(makeNode(0).id).toBe(nodeId(0));
  });
});
