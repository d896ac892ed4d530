/** What `settleWithin` answers when the work did not settle in time. */
export const TIMED_OUT: unique symbol = Symbol('timed out');

/**
 * `work`'s outcome, or TIMED_OUT once `ms` have passed without it. For queue Redis writes a slot's
 * close must not wait on for good: while the queue Redis is away, ioredis keeps a command waiting
 * for a reconnect that may never come, and a slot waiting on it stayed open. The work itself goes
 * on (it may still land once the queue is back). Hand-written: a race with a cleared timer is all
 * it is, and no library here offers it for plain promises.
 */
export function settleWithin<T>(work: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), Math.max(0, ms));
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
