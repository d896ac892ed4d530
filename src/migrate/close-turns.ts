import type { Redis } from 'ioredis';
import { infoNumber } from '../cluster/index.js';
import { execFencedAgainstFailover } from './failover-guard.js';
import { shareReplies, type Reply } from './redis-reply-error.js';

/**
 * How long a close waits for its target to hear of the last epoch before it goes ahead anyway. The
 * last target tells the others only when it next runs, and a target descheduled right after its
 * close (a loaded machine, a disk stall) tells nobody until it is back: with 250 ms, a target stopped
 * for 400 ms after each close gave collisions in 3 of 6 runs, and a CI run counted 5. It only holds
 * turns while a target has not heard, which takes a few ms when all is well.
 */
const HEAR_WAIT_MS = 2_000;

/**
 * Turns shared with other processes moving slots of the same cluster (`slotshift worker` on other
 * hosts): CloseTurns orders the closes of one process only.
 */
export interface SharedCloseTurns {
  /** Waits for the cross-process turn; resolves to the highest epoch any process's close left. */
  enter(): Promise<number>;
  /** Ends the turn, recording the highest epoch this process knows of. */
  leave(highestEpoch: number): Promise<void>;
}

interface WaitingClose {
  readonly commands: string[][];
  readonly resolve: (replies: Reply[]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Closes imported slots on targets one target at a time, each once its target has heard of the
 * config epoch the previous close produced. Closes that wait for the same target's turn are sent
 * together, in one fenced MULTI.
 *
 * Why: `SETSLOT NODE` on a target that imports the slot bumps the target's config epoch to its
 * current epoch + 1, without consensus. Targets that closed slots at the same moment picked the same
 * epoch, and Redis settled each such collision by bumping one of them again: with three targets
 * taking slots, 140–160 collisions in a 4.5 s plan, one every 30 ms (counted from `loglevel verbose`
 * logs). A collision that lands while a target's replica is being promoted can give the old master an
 * epoch above the new one's, so the old master takes its slots back and the new one deletes the keys
 * of those it held (valkey-io/valkey#974, redis/redis#12336). A target that knows the highest epoch
 * bumps past it, to an epoch no other node has. The close pings every node at once
 * (`clusterBroadcastPong`), so the next target has usually heard already. Merging the closes that
 * queue up for one target keeps the turns from slowing a drain (one source, five targets): each turn
 * costs a bump and the fsync of nodes.conf that comes with it.
 *
 * Across processes, `shared` (when it returns turns: other processes are moving slots too) orders
 * the closes of every process the same way, through the queue Redis. While a manual failover pauses
 * a target, its close is held by the fence and the other targets' closes wait behind it (for as
 * long as the failover takes, seconds at most; the shared turn is given up after a few seconds).
 */
export class CloseTurns {
  private tail: Promise<unknown> = Promise.resolve();
  /** The highest config epoch a close of this process left on its target. */
  private highest = 0;
  /** The target of the last close: it holds `highest` itself, so it need not be asked. */
  private last: Redis | null = null;
  private readonly waiting = new Map<Redis, WaitingClose[]>();

  constructor(private readonly shared: () => SharedCloseTurns | null = () => null) {}

  /**
   * Sends `commands` (SETSLOT NODE for slots the target imports) to `target` in its next turn,
   * fenced against a manual failover (execFencedAgainstFailover); one reply per command.
   */
  send(target: Redis, commands: string[][]): Promise<Reply[]> {
    return new Promise((resolve, reject) => {
      let queued = this.waiting.get(target);
      if (!queued) {
        this.waiting.set(target, (queued = []));
        this.tail = this.tail.then(() => this.turn(target));
      }
      queued.push({ commands, resolve, reject });
    });
  }

  /** Settles every close waiting for `target`; never rejects, so the next turn always runs. */
  private async turn(target: Redis): Promise<void> {
    const closes = this.waiting.get(target) ?? [];
    this.waiting.delete(target);
    let noted = false;
    const noteInfo = (info: unknown): void => {
      const epoch = infoNumber(info, 'cluster_my_epoch');
      if (epoch === null) return;
      this.highest = Math.max(this.highest, epoch);
      this.last = target;
      noted = true;
    };
    const shared = this.shared();
    try {
      if (shared) {
        const elsewhere = await shared.enter();
        // Another process closed since: even the last target must hear of its epoch first.
        if (elsewhere > this.highest) {
          this.highest = elsewhere;
          this.last = null;
        }
      }
      if (target !== this.last) await this.untilHeard(target);
      const replies = await execFencedAgainstFailover(
        target,
        closes.flatMap((c) => c.commands),
        noteInfo,
      );
      shareReplies(closes, replies);
    } catch (e) {
      for (const c of closes) c.reject(e);
    } finally {
      // The transaction may have run even though its reply was lost.
      if (!noted) noteInfo(await clusterInfo(target));
      await shared?.leave(this.highest).catch(() => undefined);
    }
  }

  private async untilHeard(target: Redis): Promise<void> {
    if (this.highest === 0) return;
    const deadline = Date.now() + HEAR_WAIT_MS;
    for (let delay = 1; ; delay = Math.min(delay * 2, 20)) {
      const known = infoNumber(await clusterInfo(target), 'cluster_current_epoch');
      // Unreachable or slow to hear: go ahead, as before turns existed; the close itself reports
      // an unreachable target.
      if (known === null || known >= this.highest || Date.now() + delay > deadline) return;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** The node's CLUSTER INFO, or null when it cannot be read. */
function clusterInfo(target: Redis): Promise<unknown> {
  return target.call('CLUSTER', 'INFO').catch(() => null);
}
