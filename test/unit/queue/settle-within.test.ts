import { describe, expect, it, vi } from 'vitest';
import { TIMED_OUT, settleWithin } from '../../../src/queue/settle-within.js';

describe('settleWithin', () => {
  it("answers the work's value when it settles in time, and its rejection", async () => {
    await expect(settleWithin(Promise.resolve(42), 1000)).resolves.toBe(42);
    await expect(settleWithin(Promise.reject(new Error('refused')), 1000)).rejects.toThrow('refused');
  });

  it('answers TIMED_OUT once the time passes, and a later rejection of the work is not unhandled', async () => {
    vi.useFakeTimers();
    try {
      let fail: (e: Error) => void = () => undefined;
      const work = new Promise<number>((_, reject) => (fail = reject));
      const answer = settleWithin(work, 5000);
      await vi.advanceTimersByTimeAsync(4999);
      let settled = false;
      void answer.then(() => (settled = true));
      await Promise.resolve();
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await expect(answer).resolves.toBe(TIMED_OUT);
      // Vitest fails the run on an unhandled rejection: the race has handled it.
      fail(new Error('the queue came back refusing'));
      await Promise.resolve();
    } finally {
      vi.useRealTimers();
    }
  });

  it('leaves no timer behind once the work settles', async () => {
    vi.useFakeTimers();
    try {
      await settleWithin(Promise.resolve('done'), 60_000);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
