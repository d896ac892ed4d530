import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { SLOT_COUNT, toRanges, type ClusterNode, type Topology } from '../../../src/cluster/index.js';

/** Deterministic 40-hex node id for the n-th node of a test cluster. */
export function nodeId(n: number): string {
  return createHash('sha1').update(`node-${n}`).digest('hex');
}

export function makeNode(n: number, overrides: Partial<ClusterNode> = {}): ClusterNode {
  const port = 7000 + n;
  return {
    id: nodeId(n),
    host: '127.0.0.1',
    port,
    addr: `127.0.0.1:${port}`,
    role: 'master',
    masterId: null,
    slots: [],
    migrating: [],
    importing: [],
    flags: ['master'],
    failing: false,
    handshake: false,
    connected: true,
    configEpoch: n,
    reachable: true,
    ...overrides,
  };
}

/**
 * A topology where slot s belongs to master `ownerIndex[s]`; masters `0..masterCount-1` exist (some
 * may own nothing) and `replicas` replicas follow master 0.
 */
export function topologyFromOwners(
  ownerIndex: readonly number[],
  masterCount: number,
  replicas = 0,
): Topology {
  const slotsOf: number[][] = Array.from({ length: masterCount }, () => []);
  ownerIndex.forEach((m, slot) => slotsOf[m]?.push(slot));
  const nodes: ClusterNode[] = slotsOf.map((slots, m) => makeNode(m, { slots: toRanges(slots) }));
  for (let r = 0; r < replicas; r++) {
    nodes.push(makeNode(masterCount + r, { role: 'replica', masterId: nodeId(0), flags: ['slave'] }));
  }
  nodes.sort((a, b) => a.id.localeCompare(b.id));
  return { nodes, owners: ownerIndex.map((m) => nodeId(m)), agreed: true, disagreements: [] };
}

/** Contiguous even split over `count` masters, as redis-cli --cluster create lays slots out. */
export function evenOwners(count: number): number[] {
  return Array.from({ length: SLOT_COUNT }, (_, s) => Math.floor((s * count) / SLOT_COUNT));
}

/** Slot owners in runs: `runs` of random length cycling over random masters (fragmented when many). */
export function ownersFromRuns(
  seedRuns: readonly { length: number; owner: number }[],
  masterCount: number,
): number[] {
  const owners: number[] = [];
  let k = 0;
  while (owners.length < SLOT_COUNT) {
    const run = seedRuns[k % seedRuns.length] ?? { length: SLOT_COUNT, owner: 0 };
    for (let i = 0; i < run.length && owners.length < SLOT_COUNT; i++) owners.push(run.owner % masterCount);
    k++;
  }
  return owners;
}

export interface GeneratedCluster {
  readonly topology: Topology;
  /** Masters that own slots. */
  readonly masterCount: number;
  /** Masters with no slot (beyond `masterCount`). */
  readonly emptyCount: number;
  readonly keys: number[];
  readonly bytes: number[];
}

/** Arbitrary cluster: 1..maxMasters masters owning slots in random runs, some empty masters, stats. */
export function clusterArb(maxMasters: number): fc.Arbitrary<GeneratedCluster> {
  return fc
    .record({
      masterCount: fc.integer({ min: 1, max: maxMasters }),
      emptyCount: fc.integer({ min: 0, max: 3 }),
      runs: fc.array(fc.record({ length: fc.integer({ min: 1, max: 3000 }), owner: fc.nat() }), {
        minLength: 1,
        maxLength: 40,
      }),
      layout: fc.constantFrom('runs', 'even', 'skewed', 'scattered'),
      statsSeed: fc.integer({ min: 1, max: 2 ** 30 }),
      hotSpan: fc.integer({ min: 0, max: SLOT_COUNT }),
    })
    .map(({ masterCount, emptyCount, runs, layout, statsSeed, hotSpan }) => {
      const rand = lcg(statsSeed);
      let owners: number[];
      if (layout === 'scattered')
        owners = Array.from({ length: SLOT_COUNT }, () => Math.floor(rand() * masterCount));
      else if (layout === 'even') owners = evenOwners(masterCount);
      else if (layout === 'skewed')
        owners = evenOwners(masterCount).map((m) => (m % 2 === 0 ? m : (m + 1) % masterCount));
      else owners = ownersFromRuns(runs, masterCount);
      // Renumber so masters 0..k-1 are exactly the ones owning slots.
      const used = [...new Set(owners)].sort((a, b) => a - b);
      const renumber = new Map(used.map((m, i) => [m, i]));
      owners = owners.map((m) => renumber.get(m) ?? 0);
      const owning = used.length;
      const keys = owners.map((_, s) => Math.floor(rand() * 100) * (s < hotSpan ? 5 : 1));
      const bytes = keys.map((k) => k * (50 + Math.floor(rand() * 200)));
      const summary = `cluster(layout=${layout}, masters=${owning}, empty=${emptyCount}, statsSeed=${statsSeed}, hotSpan=${hotSpan})`;
      return {
        topology: topologyFromOwners(owners, owning + emptyCount, 1),
        masterCount: owning,
        emptyCount,
        keys,
        bytes,
        // Counterexamples print this instead of 16384-entry arrays.
        [fc.toStringMethod]: () => summary,
      };
    });
}

/** Small seeded generator so stats are reproducible from one number. */
export function lcg(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

export function countBy(owners: readonly (string | null)[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const o of owners) if (o !== null) out.set(o, (out.get(o) ?? 0) + 1);
  return out;
}
