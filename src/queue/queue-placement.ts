import type { Topology } from '../cluster/index.js';
import { InvalidOptionError } from '../errors/index.js';

/** Keeping the queue on the cluster it rebalances would move the queue's own keys mid-plan. */
export function refuseQueueOnCluster(queueUrl: string, topology: Topology): void {
  const u = new URL(queueUrl);
  const addr = `${u.hostname.replace(/^\[|\]$/g, '')}:${u.port || '6379'}`;
  if (topology.nodes.some((n) => `${n.host}:${n.port}` === addr)) {
    throw new InvalidOptionError(
      '--queue',
      `${addr} is a node of the cluster being rebalanced; keep the queue on a separate Redis (e.g. a small standalone instance)`,
    );
  }
}
