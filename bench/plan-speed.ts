/**
 * Times planMoves on 1,000 masters whose 16384 slots are scattered at random (seeded, so every run
 * plans the same cluster), then again with 100 empty masters joining. Budget: under 1 s each.
 * Run: npx tsc -p tsconfig.build.json && node dist/bench/plan-speed.js
 */
import { performance } from 'node:perf_hooks';
import { SLOT_COUNT, toRanges, type ClusterNode, type Topology } from '../src/cluster/index.js';
import { planMoves, type PlanPolicy, type SlotStats } from '../src/planner/index.js';

const BUDGET_MS = 1000;

function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function id(n: number): string {
  return n.toString(16).padStart(8, '0').repeat(5);
}

function cluster(owning: number, empty: number, rand: () => number): Topology {
  const ownerIndex = Array.from({ length: SLOT_COUNT }, () => Math.floor(rand() * owning));
  const slotsOf: number[][] = Array.from({ length: owning + empty }, () => []);
  ownerIndex.forEach((m, slot) => slotsOf[m]?.push(slot));
  const nodes: ClusterNode[] = slotsOf.map((slots, n) => ({
    id: id(n),
    host: '10.0.0.1',
    port: 10000 + n,
    addr: `10.0.0.1:${10000 + n}`,
    role: 'master',
    masterId: null,
    slots: toRanges(slots),
    migrating: [],
    importing: [],
    flags: ['master'],
    failing: false,
    handshake: false,
    connected: true,
    configEpoch: n,
    reachable: true,
  }));
  return { nodes, owners: ownerIndex.map(id), agreed: true, disagreements: [] };
}

function time(label: string, topology: Topology, stats: SlotStats, policy: PlanPolicy): number {
  planMoves(topology, stats, policy); // warm-up: JIT
  const runs = 5;
  let best = Number.POSITIVE_INFINITY;
  let moves = 0;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    moves = planMoves(topology, stats, policy).moves.length;
    best = Math.min(best, performance.now() - start);
  }
  console.log(`${label}: ${best.toFixed(1)} ms (best of ${runs}), ${moves} moves`);
  return best;
}

const rand = lcg(20240601);
const keys = Array.from({ length: SLOT_COUNT }, () => Math.floor(rand() * 1000));
const bytes = keys.map((k) => k * 120);
const base = cluster(1000, 0, lcg(7));
const withEmpty = cluster(1000, 100, lcg(7));
const results = [
  time('1000 masters, fragmented, balanceBy slots', base, { keys, bytes }, { threshold: 0 }),
  time('1000 masters + 100 empty, useEmptyMasters', withEmpty, { keys, bytes }, { useEmptyMasters: true }),
  time('1000 masters, balanceBy keys', base, { keys, bytes }, { balanceBy: 'keys' }),
];
if (results.some((ms) => ms > BUDGET_MS)) {
  console.error(`over the ${BUDGET_MS} ms budget`);
  process.exitCode = 1;
}
