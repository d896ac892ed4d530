import { keySlot } from '../../src/cluster/index.js';
import { expectSettled } from './cluster-checks.js';
import { loadStrings, startLocalCluster, type LocalCluster, type LocalNode } from './index.js';

/** A loaded cluster and a queue kept on it, in the slot of `tag`: the queue-failover tests' start. */
export interface QueueOnClusterNode {
  readonly cluster: LocalCluster;
  /** `{tag}`: every queue key in the tag's slot. */
  readonly queueName: string;
  readonly slot: number;
  /** The slot's master, which holds the queue, and its replica. */
  readonly owner: LocalNode;
  readonly replica: LocalNode;
  readonly queueUrl: string;
}

/** 3 masters, an empty one and a replica each, `keys` strings `<prefix>:i` loaded. Stop the cluster after. */
export async function queueOnClusterNode(
  tag: string,
  prefix: string,
  keys: number,
): Promise<QueueOnClusterNode> {
  const cluster = await startLocalCluster({ masters: 3, emptyMasters: 1, replicasPerMaster: 1 });
  try {
    await loadStrings(cluster, { keys, prefix });
    const before = await expectSettled(cluster);
    const slot = keySlot(tag);
    const owner = cluster.nodes.find((n) => n.id === before.owners[slot])!;
    const replica = cluster.nodes.find((n) => n.kind === 'replica' && n.masterId === owner.id)!;
    const queueUrl = `redis://${owner.host}:${owner.port}`;
    return { cluster, queueName: `{${tag}}`, slot, owner, replica, queueUrl };
  } catch (e) {
    await cluster.stop();
    throw e;
  }
}
