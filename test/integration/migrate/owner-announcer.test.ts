import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { NodePool, parseClusterNodes } from '../../../src/cluster/index.js';
import { freePorts } from '../../../src/localcluster/index.js';
import { OwnerAnnouncer } from '../../../src/migrate/index.js';
import { endpointOf, useCluster } from '../../harness/index.js';

describe('OwnerAnnouncer', () => {
  it('tells every master it is given the new owner of each slot of a group', async () => {
    const cluster = await useCluster({ masters: 3 });
    const [a, b, c] = cluster.nodes;
    // Empty slots of the first master, all three told: they agree at once, with no gossip needed.
    const slots = [0, 1, 2, 100];
    const pool = new NodePool({});
    const announcer = new OwnerAnnouncer(pool, [a!, b!, c!].map(endpointOf), { groupSize: 4, maxDelayMs: 5 });
    try {
      await Promise.all(slots.map((slot) => announcer.announce(slot, b!.id, [])));
      for (const node of [a!, b!, c!]) {
        const lines = parseClusterNodes(await (await pool.get(node)).call('CLUSTER', 'NODES'));
        const owner = (slot: number): string | undefined =>
          lines.find((l) => l.slots.some((r) => r.start <= slot && slot <= r.end))?.id;
        expect(slots.map(owner), node.addr).toEqual(slots.map(() => b!.id));
      }
    } finally {
      await pool.close();
    }
  });

  it('warns once about a master it cannot reach, not at every group of slots', async () => {
    // A master killed mid-plan: nothing listens on its port any more.
    const [port] = await freePorts(1);
    const dead = { id: 'd'.repeat(40), host: '127.0.0.1', port: port! };
    const lines: Array<{ level: number; msg: string }> = [];
    const log = pino(
      { level: 'debug' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
          done();
        },
      }),
    );
    const pool = new NodePool({ connectTimeoutMs: 1_000 });
    const announcer = new OwnerAnnouncer(pool, [dead], { groupSize: 2, maxDelayMs: 5 }, log);
    try {
      // Five groups, as a plan's closes would announce them; each still resolves.
      for (let group = 0; group < 5; group++) {
        await Promise.all([
          announcer.announce(2 * group, 'e'.repeat(40), []),
          announcer.announce(2 * group + 1, 'e'.repeat(40), []),
        ]);
      }
    } finally {
      await pool.close();
    }
    const about = lines.filter((l) => l.msg.startsWith('could not announce new slot owners'));
    expect(about.map((l) => l.level)).toEqual([40, 20, 20, 20, 20]);
    expect(about[0]!.msg).toContain('repeats are logged at debug level');
  });
});
