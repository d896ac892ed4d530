import type { Redis } from 'ioredis';
import { connectNode, type ConnectionOptions, type NodeAddress } from './connection.js';

/**
 * One connection per node address, opened on first use and shared by every caller, so a command
 * that touches all masters many times pays the TCP/AUTH handshake once per node.
 */
export class NodePool {
  private readonly conns = new Map<string, Promise<Redis>>();

  constructor(readonly options: ConnectionOptions) {}

  get(addr: NodeAddress): Promise<Redis> {
    const key = `${addr.host}:${addr.port}`;
    let c = this.conns.get(key);
    if (!c) {
      const opened = connectNode(addr, this.options);
      c = opened;
      this.conns.set(key, opened);
      // A failed connection is not cached: the next caller tries again.
      opened.then(
        (redis) => {
          // Nor is one that ended later (killed by CLIENT KILL, a node restart, a network cut):
          // connections do not reconnect by themselves (see redisOptions), so the next caller opens
          // a new one instead of failing with "Connection is closed" for good.
          redis.once('end', () => {
            if (this.conns.get(key) === opened) this.conns.delete(key);
          });
        },
        () => {
          if (this.conns.get(key) === opened) this.conns.delete(key);
        },
      );
    }
    return c;
  }

  async close(): Promise<void> {
    const all = [...this.conns.values()];
    this.conns.clear();
    await Promise.all(
      all.map(async (p) => {
        const r = await p.catch(() => null);
        if (r) await r.quit().catch(() => r.disconnect());
      }),
    );
  }
}
