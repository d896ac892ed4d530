import { Cluster } from 'ioredis';
import {
  NodePool,
  openSlots,
  parseAddress,
  readTopology,
  type ConnectionOptions,
  type Topology,
} from '../../src/cluster/index.js';
import { tlsClientOptions, valueFor, type LocalCluster } from '../../src/localcluster/index.js';

/** How slotshift's own code reaches the cluster: TLS with the client certificate when it has TLS. */
export function connectionOf(cluster: LocalCluster): ConnectionOptions {
  const tls = cluster.tls;
  return tls ? { tls: { caFile: tls.caFile, certFile: tls.clientCertFile, keyFile: tls.clientKeyFile } } : {};
}

export async function topologyOf(cluster: LocalCluster): Promise<Topology> {
  const pool = new NodePool(connectionOf(cluster));
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
  const client = new Cluster([{ host: seed.host, port: seed.port }], {
    enableAutoPipelining: true,
    redisOptions: { tls: cluster.tls ? tlsClientOptions(cluster.tls) : undefined },
  });
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
