import { keySlot } from '../cluster/index.js';
import { Redis } from 'ioredis';
import type { LocalCluster } from './local-cluster.js';

export interface LoadOptions {
  /** Number of string keys to write. */
  keys: number;
  /** Size of each value in bytes. @defaultValue 100 */
  valueBytes?: number;
  /** Key prefix; keys are `<prefix>:<i>`. @defaultValue 'key' */
  prefix?: string;
  /** Keys per pipeline flush. @defaultValue 5000 */
  chunk?: number;
}

/**
 * Writes string keys straight to the owning masters with pipelines: an ioredis Cluster client would
 * do the same routing, but one pipeline per node is several times faster for a million keys.
 * The value of key i is deterministic so a test can check content after a move.
 */
export async function loadStrings(cluster: LocalCluster, options: LoadOptions): Promise<number> {
  const valueBytes = options.valueBytes ?? 100;
  const prefix = options.prefix ?? 'key';
  const chunk = options.chunk ?? 5000;
  const owners = await slotOwnerPorts(cluster);
  const conns = new Map<number, Redis>();
  for (const port of new Set(owners)) {
    const node = cluster.nodes.find((n) => n.port === port)!;
    conns.set(port, cluster.connect(node));
  }
  try {
    for (let from = 0; from < options.keys; from += chunk) {
      const pipelines = new Map<number, ReturnType<Redis['pipeline']>>();
      for (let i = from; i < Math.min(options.keys, from + chunk); i++) {
        const key = `${prefix}:${i}`;
        const port = owners[keySlot(key)]!;
        let p = pipelines.get(port);
        if (!p) pipelines.set(port, (p = conns.get(port)!.pipeline()));
        p.set(key, valueFor(key, valueBytes));
      }
      await Promise.all([...pipelines.values()].map((p) => p.exec()));
    }
  } finally {
    for (const c of conns.values()) c.disconnect();
  }
  return options.keys;
}

/** The value `loadStrings` writes for `key`: the key repeated and cut to size. */
export function valueFor(key: string, valueBytes: number): string {
  return key.padEnd(valueBytes, `|${key}`).slice(0, valueBytes);
}

async function slotOwnerPorts(cluster: LocalCluster): Promise<number[]> {
  const seed = cluster.nodes.find((n) => n.kind === 'master')!;
  const c = cluster.connect(seed);
  try {
    const reply = (await c.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, string]]>;
    const owners = new Array<number>(16384).fill(-1);
    for (const [start, end, [, port]] of reply) for (let s = start; s <= end; s++) owners[s] = port;
    return owners;
  } finally {
    c.disconnect();
  }
}
