import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodePool, masters, parseAddress, readTopology } from '../../../src/cluster/index.js';
import { DEFAULT_MIGRATOR_OPTIONS, Migrator } from '../../../src/migrate/index.js';
import { endpointOf, loadStrings, useCluster, type LocalCluster } from '../../harness/index.js';

/** "configEpoch collision" lines in every server's log (Redis writes them at verbose level only). */
function epochCollisions(cluster: LocalCluster): number {
  let n = 0;
  for (const f of readdirSync(cluster.dir).filter((name) => name.endsWith('.log'))) {
    n += (readFileSync(join(cluster.dir, f), 'utf8').match(/configEpoch collision/g) ?? []).length;
  }
  return n;
}

/**
 * A target that closes an imported slot bumps its config epoch without consensus. Three targets
 * closing at once picked the same epochs over and over (about 145 collisions in a 3 → 6 plan at
 * 300k keys), and a collision during a failover of a target can hand its slots back to the old
 * master, whose replica then deletes their keys. Closes take turns, so targets bump to distinct
 * epochs.
 */
describe('closes on several targets at once', () => {
  let cluster: LocalCluster;
  let pool: NodePool;

  beforeAll(async () => {
    cluster = await useCluster({
      masters: 3,
      emptyMasters: 3,
      nodeTimeoutMs: 15_000,
      extraArgs: ['--loglevel', 'verbose'],
    });
    await loadStrings(cluster, { keys: 20_000, prefix: 'ct' });
    pool = new NodePool({});
  });
  afterAll(() => pool.close());

  it('leave no two masters with the same config epoch: Redis logs no collision', async () => {
    const topology = await readTopology(pool, cluster.seeds.map(parseAddress));
    const [a, b, c, x, y, z] = cluster.nodes;
    const migrator = new Migrator(
      pool,
      masters(topology),
      {},
      { ...DEFAULT_MIGRATOR_OPTIONS, verify: false },
    );
    const before = epochCollisions(cluster);
    // 300 slots from each old master to its own new one, three pairs in parallel, 24 slots of each
    // pair in flight (groups of 8: each group's close bumps its target once).
    const pairs = [
      [a!, x!],
      [b!, y!],
      [c!, z!],
    ] as const;
    await Promise.all(
      pairs.map(async ([from, to]) => {
        const owned = topology.nodes.find((n) => n.id === from.id)!.slots;
        const slots = owned.flatMap((r) =>
          Array.from({ length: r.end - r.start + 1 }, (_, i) => r.start + i),
        );
        const todo = slots.slice(0, 300);
        const lane = async (): Promise<void> => {
          for (let slot = todo.shift(); slot !== undefined; slot = todo.shift()) {
            await migrator.migrate({ slot, from: endpointOf(from), to: endpointOf(to) });
          }
        };
        await Promise.all(Array.from({ length: 24 }, lane));
      }),
    );
    await migrator.flush();
    // Collisions are settled by gossip within a few hundred ms of the last close.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(epochCollisions(cluster) - before).toBe(0);
  }, 120_000);
});
