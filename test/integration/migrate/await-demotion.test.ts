import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodePool } from '../../../src/cluster/index.js';
import { SlotProtocolError, awaitDemotion } from '../../../src/migrate/index.js';
import { endpointOf, freePorts, useCluster, type LocalCluster, type LocalNode } from '../../harness/index.js';

describe('awaitDemotion: nothing moves to a promoted replica before its old master agrees', () => {
  let cluster: LocalCluster;
  let pool: NodePool;
  let master: LocalNode, replica: LocalNode;
  beforeAll(async () => {
    cluster = await useCluster({ masters: 2, replicasPerMaster: 1 });
    master = cluster.nodes.find((n) => n.kind === 'master')!;
    replica = cluster.nodes.find((n) => n.kind === 'replica' && n.masterId === master.id)!;
    pool = new NodePool({ connectTimeoutMs: 1_000 });
  });
  afterAll(() => pool.close());

  it('goes ahead when the replaced node says it is a replica', async () => {
    await expect(awaitDemotion(pool, 7, endpointOf(replica), endpointOf(master))).resolves.toBeUndefined();
  });

  it('goes ahead when the replaced node cannot be reached', async () => {
    // A port the kernel just handed out and nothing listens on.
    const [port] = (await freePorts(1)) as [number];
    const gone = { id: 'f'.repeat(40), host: '127.0.0.1', port };
    await expect(awaitDemotion(pool, 7, gone, endpointOf(master))).resolves.toBeUndefined();
  });

  it('refuses, retryably, while the replaced node still says it is a master', async () => {
    const err = await awaitDemotion(pool, 7, endpointOf(master), endpointOf(replica), 300).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SlotProtocolError);
    expect((err as SlotProtocolError).retryable).toBe(true);
    expect((err as Error).message).toContain('still says it is a master');
    expect((err as Error).message).toContain(`${replica.host}:${replica.port}`);
  });
});
