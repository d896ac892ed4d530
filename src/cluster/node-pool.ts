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
      c = connectNode(addr, this.options);
      this.conns.set(key, c);
      // A failed connection is not cached: the next caller tries again.
      c.catch(() => this.conns.delete(key));
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
