import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { NodePool } from '../../../src/cluster/index.js';
import { freePorts } from '../../../src/localcluster/index.js';
import { OwnerAnnouncer } from '../../../src/migrate/index.js';

describe('OwnerAnnouncer', () => {
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
