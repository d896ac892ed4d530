import { Redis } from 'ioredis';
import { connectFailureDetail, isAuthFailure, type Topology } from '../cluster/index.js';
import { InvalidOptionError, QueueUnreachableError } from '../errors/index.js';

/** host:port of a queue URL, for messages (never its credentials). */
function queueAddress(queueUrl: string): string {
  const u = new URL(queueUrl);
  return `${u.hostname.replace(/^\[|\]$/g, '')}:${u.port || '6379'}`;
}

/**
 * Asks the queue Redis once, without retries, who it is. The queue connections themselves retry
 * forever (a worker outlives a queue restart), so without this a wrong `--queue` hung `apply`,
 * `progress` and the others with no word. Returns its cluster node id, or null when it is not in
 * cluster mode.
 */
export async function probeQueue(queueUrl: string): Promise<{ clusterNodeId: string | null }> {
  const r = new Redis(queueUrl, {
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  let lastError: unknown = null;
  r.on('error', (e: unknown) => (lastError = e));
  try {
    await r.connect();
    await r.ping();
  } catch (e) {
    const err = lastError ?? e;
    const message = err instanceof Error ? err.message : String(err);
    const detail = isAuthFailure(message)
      ? `authentication failed (${message.split('\n')[0]}): give the credentials in the URL, redis://USER:PASSWORD@HOST:PORT`
      : connectFailureDetail(err);
    r.disconnect();
    throw new QueueUnreachableError(queueAddress(queueUrl), detail);
  }
  try {
    return { clusterNodeId: String(await r.call('CLUSTER', 'MYID')) };
  } catch {
    return { clusterNodeId: null };
  } finally {
    r.disconnect();
  }
}

/**
 * Keeping the queue on the cluster it rebalances would move the queue's own keys mid-plan. The
 * address is compared first; then the queue Redis is asked who it is (`CLUSTER MYID`), which also
 * catches another name for a node (`localhost`, a DNS name, a NAT address). An unreachable queue is
 * refused here too, before anything is planned.
 */
export async function refuseQueueOnCluster(queueUrl: string, topology: Topology): Promise<void> {
  const addr = queueAddress(queueUrl);
  const refuse = (what: string): never => {
    throw new InvalidOptionError(
      '--queue',
      `${what} is a node of the cluster being rebalanced; keep the queue on a separate Redis (e.g. a small standalone instance)`,
    );
  };
  if (topology.nodes.some((n) => `${n.host}:${n.port}` === addr)) refuse(addr);
  const { clusterNodeId } = await probeQueue(queueUrl);
  const node = clusterNodeId === null ? undefined : topology.nodes.find((n) => n.id === clusterNodeId);
  if (node) refuse(`${addr} (node ${node.id.slice(0, 8)}, ${node.host}:${node.port})`);
}
