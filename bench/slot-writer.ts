import calculateSlot from 'cluster-key-slot';
import type { ChainableCommander, Redis } from 'ioredis';
import { NodePool, SLOT_COUNT, parseAddress, readTopology } from '../src/cluster/index.js';
import type { LocalCluster } from '../src/localcluster/index.js';

/** What a loader wrote, beyond the keys themselves: what the bench needs to tell how much data moved. */
export interface LoadedData {
  /**
   * Payload bytes (string values, fields, members, elements; not key names or Redis overhead) per
   * slot, so the data moved is the sum over the slots that changed owner. Undefined for the plain
   * string scenarios, whose data moved is keys moved × value size.
   */
  readonly payloadBytes?: readonly number[];
  /** Keys much larger than the rest, reported separately because they are the slow part of a move. */
  readonly bigKeys: readonly string[];
}

/** `owners[slot]` is the id of the master serving the slot. */
export async function slotOwners(cluster: LocalCluster): Promise<readonly (string | null)[]> {
  const pool = new NodePool({});
  try {
    return (await readTopology(pool, cluster.seeds.map(parseAddress))).owners;
  } finally {
    await pool.close();
  }
}

/**
 * Writes keys straight to the masters that serve their slots, one pipeline per master flushed every
 * `flushEvery` commands, as `loadStrings` does: an ioredis Cluster client would route the same way
 * but is several times slower for a bulk load. Unlike a bare pipeline it fails on the first error
 * reply, so a half-loaded cluster is never benchmarked.
 */
export class SlotWriter {
  private readonly pipelines = new Map<string, ChainableCommander>();
  private queued = 0;
  private readonly bytes = new Array<number>(SLOT_COUNT).fill(0);

  private constructor(
    /** `owners[slot]` is the id of the master the slot's keys are written to. */
    readonly owners: readonly (string | null)[],
    private readonly conns: ReadonlyMap<string, Redis>,
    private readonly flushEvery: number,
  ) {}

  static async open(cluster: LocalCluster, flushEvery = 5000): Promise<SlotWriter> {
    const owners = await slotOwners(cluster);
    const conns = new Map<string, Redis>();
    for (const node of cluster.nodes) {
      if (owners.includes(node.id)) conns.set(node.id, cluster.connect(node));
    }
    return new SlotWriter(owners, conns, flushEvery);
  }

  /** Payload bytes written so far, per slot. */
  get payloadBytes(): readonly number[] {
    return this.bytes;
  }

  /** Queues one command on `key`'s master; `payloadBytes` is what it adds to the slot's data. */
  async write(
    key: string,
    payloadBytes: number,
    command: (pipeline: ChainableCommander) => void,
  ): Promise<void> {
    const slot = calculateSlot(key);
    const owner = this.owners[slot];
    const conn = owner ? this.conns.get(owner) : undefined;
    if (!owner || !conn) throw new Error(`slot ${slot} of key ${key} has no master to write to`);
    let pipeline = this.pipelines.get(owner);
    if (!pipeline) this.pipelines.set(owner, (pipeline = conn.pipeline()));
    command(pipeline);
    this.bytes[slot] = (this.bytes[slot] ?? 0) + payloadBytes;
    if (++this.queued >= this.flushEvery) await this.flush();
  }

  async flush(): Promise<void> {
    const batch = [...this.pipelines.values()];
    this.pipelines.clear();
    this.queued = 0;
    for (const replies of await Promise.all(batch.map((p) => p.exec()))) {
      const failed = replies?.find(([error]) => error !== null);
      if (failed?.[0]) throw failed[0];
    }
  }

  /** Closes the connections; commands still queued are dropped (call `flush` first). */
  close(): void {
    for (const c of this.conns.values()) c.disconnect();
  }
}

/** The masters that serve slots, in the order of their first slot, each with its slots ascending. */
export function mastersBySlot(owners: readonly (string | null)[]): { id: string; slots: number[] }[] {
  const byId = new Map<string, number[]>();
  owners.forEach((id, slot) => {
    if (id === null) return;
    let slots = byId.get(id);
    if (!slots) byId.set(id, (slots = []));
    slots.push(slot);
  });
  return [...byId].map(([id, slots]) => ({ id, slots }));
}

/**
 * A key name whose slot is `slot`: `<prefix>:<n>` for the smallest n that hashes there. Plain names
 * (no hash tag) keep them looking like ordinary keys; it takes about 16k tries on average, a few
 * milliseconds.
 */
export function keyInSlot(prefix: string, slot: number): string {
  for (let n = 0; ; n++) {
    const key = `${prefix}:${n}`;
    if (calculateSlot(key) === slot) return key;
  }
}
