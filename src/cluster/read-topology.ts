import type { Redis } from 'ioredis';
import {
  InvalidOptionError,
  NodeUnreachableError,
  NotClusterError,
  SeedUnreachableError,
  type SlotshiftError,
} from '../errors/index.js';
import { buildTopology } from './build-topology.js';
import type { NodeAddress } from './connection.js';
import type { Topology } from './model.js';
import type { NodePool } from './node-pool.js';
import { parseClusterNodes, parseClusterShards, type NodesLine, type Shard } from './parse-replies.js';

/**
 * Reads the cluster through the first seed that answers, then asks every node for its own view:
 * open slots are known only to the node that has them open, and comparing views is how
 * disagreement (a half-finished SETSLOT, a partition) is found.
 */
export async function readTopology(pool: NodePool, seeds: readonly NodeAddress[]): Promise<Topology> {
  const { seedView, shards } = await readSeed(pool, seeds);
  const ownViews = new Map<string, NodesLine[] | null>();
  await Promise.all(
    seedView.map(async (line) => {
      if (line.flags.includes('noaddr') || line.flags.includes('handshake')) {
        ownViews.set(line.id, null);
        return;
      }
      try {
        const redis = await pool.get({ host: line.host, port: line.port });
        ownViews.set(line.id, parseClusterNodes(await redis.call('CLUSTER', 'NODES')));
      } catch {
        // An unreachable node is part of the picture (reachable: false), not a reason to fail the read.
        ownViews.set(line.id, null);
      }
    }),
  );
  return buildTopology({ seedView, ownViews, shards });
}

async function readSeed(
  pool: NodePool,
  seeds: readonly NodeAddress[],
): Promise<{ seedView: NodesLine[]; shards: Shard[] | null }> {
  let firstError: SlotshiftError | Error | undefined;
  for (const seed of seeds) {
    let redis: Redis;
    try {
      redis = await pool.get(seed);
    } catch (e) {
      // The user gave this address: the fix is in the --seed flag.
      firstError ??=
        e instanceof NodeUnreachableError ? new SeedUnreachableError(e.address, e.detail) : (e as Error);
      continue;
    }
    let nodesReply: unknown;
    try {
      nodesReply = await redis.call('CLUSTER', 'NODES');
    } catch (e) {
      if (/cluster support disabled/i.test((e as Error).message)) {
        firstError ??= new NotClusterError(`${seed.host}:${seed.port}`);
        continue;
      }
      throw e;
    }
    const seedView = parseClusterNodes(nodesReply);
    const shards = await redis
      .call('CLUSTER', 'SHARDS')
      .then(parseClusterShards)
      // Older servers have no CLUSTER SHARDS; health then comes from CLUSTER NODES flags alone.
      .catch(() => null);
    return { seedView, shards };
  }
  throw firstError ?? new InvalidOptionError('--seed', 'at least one seed address is required (HOST:PORT)');
}
