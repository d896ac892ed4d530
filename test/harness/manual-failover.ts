import type { LocalCluster, LocalNode } from '../../src/localcluster/index.js';

/** The harness's cluster-node-timeout. */
export const NODE_TIMEOUT_MS = 3_000;

/**
 * CLUSTER FAILOVER on `replica`, asked again (up to `tries` times) until it says it is a master.
 * Redis refuses such a failover now and then: a replica whose current epoch lags the masters' has
 * its votes denied (`reqEpoch (84) < curEpoch(87)`), and each slot a target closes can bump an epoch.
 * It may run again only 4 node timeouts after its last election (a request before that only logs
 * "Failover attempt expired"), so each try waits that long. Returns the tries it took, or null.
 */
export async function manualFailover(
  cluster: LocalCluster,
  replica: LocalNode,
  tries = 3,
): Promise<number | null> {
  const r = cluster.connect(replica);
  const role = async (): Promise<unknown> => ((await r.call('ROLE')) as unknown[])[0];
  try {
    for (let attempt = 1; attempt <= tries; attempt++) {
      const answer = await r.call('CLUSTER', 'FAILOVER');
      if (answer !== 'OK') throw new Error(`CLUSTER FAILOVER on ${replica.port} answered ${String(answer)}`);
      const deadline = Date.now() + 4 * NODE_TIMEOUT_MS + 1_000;
      while (Date.now() < deadline) {
        if ((await role()) === 'master') return attempt;
        await new Promise((done) => setTimeout(done, 100));
      }
    }
    return null;
  } finally {
    r.disconnect();
  }
}
