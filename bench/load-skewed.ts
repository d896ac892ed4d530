import calculateSlot from 'cluster-key-slot';
import { valueFor, type LocalCluster } from '../src/localcluster/index.js';
import { SlotWriter, mastersBySlot, type LoadedData } from './slot-writer.js';

export interface SkewedLoadOptions {
  keys: number;
  valueBytes: number;
}

/** Hot slots on the first masters (by slot order): 200 on the first, 100 on the second. */
const HOT_SLOTS_PER_MASTER = [200, 100] as const;

/**
 * The `skewed` scenario's data: strings of `valueBytes` on a cluster whose slots are already evenly
 * spread, with the keys not: every even key carries a hash tag that puts it in one of 300 hot slots
 * of the first two masters, every odd key is a plain `load:<i>` spread over all slots. So about 42%
 * of the keys sit on the first master, 25% on the second and 8% on each other master.
 */
export async function loadSkewed(cluster: LocalCluster, o: SkewedLoadOptions): Promise<LoadedData> {
  const writer = await SlotWriter.open(cluster);
  try {
    const tags = hotTags(writer.owners);
    for (let i = 0; i < o.keys; i++) {
      const key = i % 2 === 0 ? `load:{${tags[(i / 2) % tags.length]!}}:${i}` : `load:${i}`;
      await writer.write(key, o.valueBytes, (p) => p.set(key, valueFor(key, o.valueBytes)));
    }
    await writer.flush();
    return { payloadBytes: writer.payloadBytes, bigKeys: [] };
  } finally {
    writer.close();
  }
}

/** Hash tags `h<n>`, one per hot slot, found by trying n = 0, 1, ... (deterministic). */
function hotTags(owners: readonly (string | null)[]): string[] {
  const hot = mastersBySlot(owners)
    .slice(0, HOT_SLOTS_PER_MASTER.length)
    .map((m, i) => ({ id: m.id, wanted: HOT_SLOTS_PER_MASTER[i] ?? 0 }));
  const needed = hot.reduce((n, h) => n + h.wanted, 0);
  const usedSlots = new Set<number>();
  const tags: string[] = [];
  for (let n = 0; tags.length < needed; n++) {
    const tag = `h${n}`;
    const slot = calculateSlot(tag);
    const master = hot.find((h) => h.id === owners[slot]);
    if (!master || master.wanted === 0 || usedSlots.has(slot)) continue;
    master.wanted--;
    usedSlots.add(slot);
    tags.push(tag);
  }
  return tags;
}
