import { SLOT_COUNT, type NodePool, type Topology } from '../cluster/index.js';
import type { SlotStats } from '../planner/index.js';

export interface SlotStatsOptions {
  /**
   * Keys sampled per slot with MEMORY USAGE to estimate its bytes; 0 skips byte estimates.
   * Accuracy: the estimate is the sample mean times the slot's key count, so it is exact for
   * uniform values and within the spread of value sizes otherwise; MEMORY USAGE itself samples
   * 5 elements of collections (its default), so collections with very uneven members are rougher.
   * @defaultValue 4
   */
  sampleKeysPerSlot: number;
  /** Commands per pipeline flush, to bound client and server buffers. @defaultValue 256 */
  pipelineChunk: number;
}

// Chunks of 256: a pipeline of 2,048 slots plus 8,192 MEMORY USAGE calls blocked a server for several
// milliseconds, which clients saw as p99 spikes before the first slot moved.
export const DEFAULT_SLOT_STATS_OPTIONS: SlotStatsOptions = { sampleKeysPerSlot: 4, pipelineChunk: 256 };

/**
 * Keys per slot (CLUSTER COUNTKEYSINSLOT on the owner of every slot, pipelined) and estimated bytes
 * per slot (MEMORY USAGE of a few keys per slot). Redis 7.0 has no CLUSTER SLOT-STATS, so this is
 * what a planner can know without scanning every key.
 */
export async function collectSlotStats(
  pool: NodePool,
  topology: Topology,
  options: SlotStatsOptions = DEFAULT_SLOT_STATS_OPTIONS,
): Promise<Required<SlotStats>> {
  const keys = new Array<number>(SLOT_COUNT).fill(0);
  const bytes = new Array<number>(SLOT_COUNT).fill(0);
  const slotsByOwner = new Map<string, number[]>();
  topology.owners.forEach((owner, slot) => {
    if (owner === null) return;
    const list = slotsByOwner.get(owner);
    if (list) list.push(slot);
    else slotsByOwner.set(owner, [slot]);
  });
  await Promise.all(
    [...slotsByOwner].map(async ([ownerId, slots]) => {
      const node = topology.nodes.find((n) => n.id === ownerId);
      if (!node) return;
      const redis = await pool.get(node);
      for (let i = 0; i < slots.length; i += options.pipelineChunk) {
        const chunk = slots.slice(i, i + options.pipelineChunk);
        const pipe = redis.pipeline();
        for (const s of chunk) pipe.call('CLUSTER', 'COUNTKEYSINSLOT', String(s));
        if (options.sampleKeysPerSlot > 0) {
          for (const s of chunk)
            pipe.call('CLUSTER', 'GETKEYSINSLOT', String(s), String(options.sampleKeysPerSlot));
        }
        const replies = (await pipe.exec()) ?? [];
        chunk.forEach((s, j) => (keys[s] = Number(replies[j]?.[1] ?? 0)));
        if (options.sampleKeysPerSlot === 0) continue;
        const samples = chunk.map((_, j) => (replies[chunk.length + j]?.[1] as string[] | undefined) ?? []);
        const mem = redis.pipeline();
        for (const sample of samples) for (const k of sample) mem.call('MEMORY', 'USAGE', k);
        const usage = (await mem.exec()) ?? [];
        let u = 0;
        chunk.forEach((s, j) => {
          const sample = samples[j]!;
          if (sample.length === 0) return;
          let total = 0;
          for (let x = 0; x < sample.length; x++) total += Number(usage[u++]?.[1] ?? 0);
          bytes[s] = Math.round((total / sample.length) * keys[s]!);
        });
      }
    }),
  );
  return { keys, bytes };
}
