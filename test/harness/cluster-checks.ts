import { Cluster } from 'ioredis';
import { NodePool, openSlots, parseAddress, readTopology, type Topology } from '../../src/cluster/index.js';
import { valueFor, type LocalCluster } from '../../src/localcluster/index.js';

export async function topologyOf(cluster: LocalCluster): Promise<Topology> {
  const pool = new NodePool({});
  try {
    return await readTopology(pool, cluster.seeds.map(parseAddress));
  } finally {
    await pool.close();
  }
}

/** Keys `<prefix>:0..n-1` written by `loadStrings` that are missing or hold another value. */
export async function missingLoadedKeys(
  cluster: LocalCluster,
  prefix: string,
  n: number,
  valueBytes = 100,
): Promise<string[]> {
  const seed = cluster.nodes.find((x) => x.kind !== 'replica')!;
  const client = new Cluster([{ host: seed.host, port: seed.port }], { enableAutoPipelining: true });
  const bad: string[] = [];
  try {
    for (let i = 0; i < n; i += 2000) {
      const keys = Array.from({ length: Math.min(2000, n - i) }, (_, j) => `${prefix}:${i + j}`);
      const values = await Promise.all(keys.map((k) => client.get(k)));
      keys.forEach((k, j) => {
        if (values[j] !== valueFor(k, valueBytes)) bad.push(k);
      });
    }
  } finally {
    await client.quit();
  }
  return bad;
}

export async function expectSettled(cluster: LocalCluster): Promise<Topology> {
  const t = await topologyOf(cluster);
  const open = openSlots(t);
  if (open.length) throw new Error(`open slots left: ${JSON.stringify(open.slice(0, 5))}`);
  if (t.owners.some((o) => o === null)) throw new Error('uncovered slots left');
  return t;
}
