import type { Move } from './plan.js';

/**
 * Groups moves into waves, first fit in move order: a move joins the earliest wave in which neither
 * its source nor its target already has `maxPerNode` moves. Moves between disjoint node pairs thus
 * share a wave and run side by side, and the most useful moves land in the earliest waves.
 */
export function buildWaves(moves: readonly Move[], maxPerNode: number): number[][] {
  const waves: number[][] = [];
  const load: Map<string, number>[] = [];
  // Per node, no wave before this index has room left for it: skips the full prefix quickly.
  const firstOpen = new Map<string, number>();
  const loadOf = (wave: number, node: string): number => load[wave]?.get(node) ?? 0;
  const advance = (node: string, from: number): void => {
    let w = from;
    while (loadOf(w, node) >= maxPerNode) w++;
    firstOpen.set(node, w);
  };

  moves.forEach((move, index) => {
    let w = Math.max(firstOpen.get(move.from) ?? 0, firstOpen.get(move.to) ?? 0);
    while (loadOf(w, move.from) >= maxPerNode || loadOf(w, move.to) >= maxPerNode) w++;
    if (w === waves.length) {
      waves.push([]);
      load.push(new Map());
    }
    waves[w]?.push(index);
    const counts = load[w];
    if (counts) {
      counts.set(move.from, loadOf(w, move.from) + 1);
      counts.set(move.to, loadOf(w, move.to) + 1);
    }
    advance(move.from, firstOpen.get(move.from) ?? 0);
    advance(move.to, firstOpen.get(move.to) ?? 0);
  });
  return waves;
}
