import type { Redis } from 'ioredis';
import { shareReplies, type Reply } from './redis-reply-error.js';

/** What a round carries, for the budget a merged pipeline must stay within. */
export interface RoundSize {
  readonly keys: number;
  readonly bytes: number;
}

/** The budget of one pipeline on the source, read when it is sent (the batch sizer moves). */
export type RoundBudget = () => RoundSize;

/**
 * How many of `items`, from the first, fit `budget` together; the first counts whatever its size,
 * so a round always moves something.
 */
export function fittingCount<T>(
  items: readonly T[],
  sizeOf: (item: T) => RoundSize,
  budget: RoundSize,
): number {
  let keys = 0;
  let bytes = 0;
  let take = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (take > 0 && (keys + size.keys > budget.keys || bytes + size.bytes > budget.bytes)) break;
    keys += size.keys;
    bytes += size.bytes;
    take++;
  }
  return take;
}

interface QueuedRound extends RoundSize {
  readonly commands: string[][];
  readonly resolve: (replies: Reply[]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The MIGRATE rounds of every group moving slots off one source, one pipeline in flight at a time.
 *
 * Why one at a time: rounds of several groups queued back to back on one connection blocked the
 * source for their sum, and its clients waited that long (a drain has five pairs on one source).
 * Why merged: with one round in flight, a drain's rounds (a few small slots each) queued behind one
 * another, and the source's round trips became the drain's bound: 674 rounds, 640 of them queued
 * behind another, took 2.6 s of a 3.5 s drain of 2,730 slots. Rounds waiting when the source comes
 * free now go together, while their keys and bytes fit what one round may carry, so the source is
 * blocked no longer than by one full round and pays one round trip for them all.
 */
export class SourceRounds {
  private readonly waiting: QueuedRound[] = [];
  private sending = false;

  constructor(
    private readonly node: Redis,
    private readonly budget: RoundBudget,
    private readonly sendPipeline: (node: Redis, commands: string[][]) => Promise<Reply[]>,
    /** Each pipeline's size and round trip, once its replies are in (the batch sizer's sample). */
    private readonly onSent: (size: RoundSize, roundTripMs: number) => void = () => undefined,
  ) {}

  /**
   * Sends `commands` (one group's round: whole MULTI/EXEC blocks, never split) with the rounds
   * waiting beside it; resolves to this round's replies, one per command.
   */
  send(commands: string[][], size: RoundSize): Promise<Reply[]> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ commands, ...size, resolve, reject });
      if (this.sending) return;
      this.sending = true;
      // On the next turn: the groups whose replies came in one burst queue their rounds together.
      setImmediate(() => void this.sendNext());
    });
  }

  private async sendNext(): Promise<void> {
    while (this.waiting.length > 0) {
      const rounds = this.nextPipeline();
      try {
        const t0 = performance.now();
        const replies = await this.sendPipeline(
          this.node,
          rounds.flatMap((r) => r.commands),
        );
        this.onSent(
          { keys: rounds.reduce((n, r) => n + r.keys, 0), bytes: rounds.reduce((n, r) => n + r.bytes, 0) },
          performance.now() - t0,
        );
        shareReplies(rounds, replies);
      } catch (e) {
        for (const r of rounds) r.reject(e);
      }
    }
    this.sending = false;
  }

  /** The waiting rounds, oldest first, that fit the budget together; the first goes whatever its size. */
  private nextPipeline(): QueuedRound[] {
    return this.waiting.splice(
      0,
      fittingCount(this.waiting, (r) => r, this.budget()),
    );
  }
}
