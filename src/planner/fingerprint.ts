import { createHash } from 'node:crypto';
import type { Topology } from '../cluster/index.js';

/**
 * Hash of who owns which slot and which masters exist: two topologies with the same fingerprint get
 * the same plan, and an executor refuses a plan whose fingerprint differs from the live cluster's.
 */
export function fingerprintTopology(topology: Topology): string {
  const hash = createHash('sha256');
  const masterIds = topology.nodes
    .filter((n) => n.role === 'master')
    .map((n) => n.id)
    .sort();
  hash.update(`masters:${masterIds.join(',')}\n`);
  // Owner ids repeat in long runs; hashing runs keeps this fast without changing what is hashed.
  let runStart = 0;
  for (let slot = 1; slot <= topology.owners.length; slot++) {
    const owner = topology.owners[runStart] ?? null;
    if (slot < topology.owners.length && (topology.owners[slot] ?? null) === owner) continue;
    hash.update(`${runStart}-${slot - 1}:${owner ?? '-'}\n`);
    runStart = slot;
  }
  return hash.digest('hex');
}

/** Short id of a plan: the topology it was made for, the resolved policy and the moves. */
export function hashPlanId(parts: readonly string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(`${part.length}:${part}`);
  return hash.digest('hex').slice(0, 16);
}
