import calculateSlot from 'cluster-key-slot';
import type { LocalNode } from '../../src/localcluster/index.js';

/** `count` keys of one slot: one hash-tag search, then keys sharing that tag. */
export function keysInSlot(slot: number, count: number, prefix = 'k'): string[] {
  let tag = 0;
  while (calculateSlot(`{${prefix}${slot}-${tag}}`) !== slot) tag++;
  return Array.from({ length: count }, (_, i) => `{${prefix}${slot}-${tag}}:${i}`);
}

/** A local node as a move's source or target. */
export const endpointOf = (n: LocalNode): { id: string; host: string; port: number } => ({
  id: n.id,
  host: n.host,
  port: n.port,
});
