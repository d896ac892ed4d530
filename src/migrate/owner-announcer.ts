import type { Logger } from 'pino';
import type { NodeAddress, NodePool } from '../cluster/index.js';
import { runProtocolBatch } from './protocol-batch.js';
import { errorMessage } from './redis-reply-error.js';

interface Pending {
  slot: number;
  targetId: string;
  exclude: ReadonlySet<string>;
  resolve: () => void;
}

/**
 * Tells every other master the new owner of each moved slot, in groups: one script call per master
 * per flush instead of one round trip per slot per master. Gossip would spread the news anyway;
 * telling them directly shortens the window in which clients are redirected twice.
 */
export class OwnerAnnouncer {
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** Masters that could not be told, warned about once: a dead one failed every flush of a plan. */
  private readonly unreachable = new Set<string>();

  constructor(
    private readonly pool: NodePool,
    private masters: ReadonlyArray<NodeAddress & { id: string }>,
    private readonly options: { groupSize: number; maxDelayMs: number } = { groupSize: 64, maxDelayMs: 20 },
    private readonly log?: Logger,
  ) {}

  setMasters(masters: ReadonlyArray<NodeAddress & { id: string }>): void {
    this.masters = masters;
  }

  announce(slot: number, targetId: string, exclude: readonly string[]): Promise<void> {
    return new Promise((resolve) => {
      this.pending.push({ slot, targetId, exclude: new Set(exclude), resolve });
      if (this.pending.length >= this.options.groupSize) void this.flush();
      else this.timer ??= setTimeout(() => void this.flush(), this.options.maxDelayMs);
    });
  }

  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const group = this.pending;
    this.pending = [];
    if (group.length === 0) return;
    await Promise.all(
      this.masters.map(async (m) => {
        const items = group.filter((p) => !p.exclude.has(m.id));
        if (items.length === 0) return;
        try {
          const redis = await this.pool.get(m);
          // One script call per master per flush, not a command per slot: a scale-out told the other
          // masters of 8,000 slots in 32,000 commands, each a Command, a promise and a reply in the
          // worker process (apply CPU 3.25, 3.54, 3.21 s against 3.36, 3.49, 3.69 s, 1M keys). A
          // refusal (a node demoted to replica, a slot it has open) is its element of the reply,
          // skipped as the pipeline's replies were.
          await runProtocolBatch(
            redis,
            items.map((p) => ['CLUSTER', 'SETSLOT', String(p.slot), 'NODE', p.targetId]),
          );
          this.unreachable.delete(m.id);
        } catch (e) {
          // A master that cannot be told learns the owner from gossip (the target's epoch is higher).
          const first = !this.unreachable.has(m.id);
          this.unreachable.add(m.id);
          this.log?.[first ? 'warn' : 'debug'](
            { node: m.id, error: errorMessage(e) },
            first
              ? 'could not announce new slot owners (it learns them by gossip; repeats are logged at debug level)'
              : 'could not announce new slot owners',
          );
        }
      }),
    );
    for (const p of group) p.resolve();
  }
}
