import { Redis } from 'ioredis';
import type { Topology } from '../cluster/index.js';
import { InvalidOptionError } from '../errors/index.js';

/**
 * Keeping the queue on the cluster it rebalances would move the queue's own keys mid-plan. The
 * address is compared first; then the queue Redis is asked who it is (`CLUSTER MYID`), which also
 * catches another name for a node (`localhost`, a DNS name, a NAT address).
 */
export async function refuseQueueOnCluster(queueUrl: string, topology: Topology): Promise<void> {
  const u = new URL(queueUrl);
  const addr = `${u.hostname.replace(/^\[|\]$/g, '')}:${u.port || '6379'}`;
  const refuse = (what: string): never => {
    throw new InvalidOptionError(
      '--queue',
      `${what} is a node of the cluster being rebalanced; keep the queue on a separate Redis (e.g. a small standalone instance)`,
    );
  };
  if (topology.nodes.some((n) => `${n.host}:${n.port}` === addr)) refuse(addr);
  const id = await clusterNodeIdOf(queueUrl);
  const node = id === null ? undefined : topology.nodes.find((n) => n.id === id);
  if (node) refuse(`${addr} (node ${node.id.slice(0, 8)}, ${node.host}:${node.port})`);
}

/** The queue Redis's cluster node id; null when it is not in cluster mode or cannot be asked now. */
async function clusterNodeIdOf(queueUrl: string): Promise<string | null> {
  const r = new Redis(queueUrl, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // An unreachable queue is reported where it is first used; this check only looks for a match.
  r.on('error', () => {});
  try {
    await r.connect();
    return String(await r.call('CLUSTER', 'MYID'));
  } catch {
    return null;
  } finally {
    r.disconnect();
  }
}
