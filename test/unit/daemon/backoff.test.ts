import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_QUEUE_RETRY, retryDelayMs } from '../../../src/daemon/backoff.js';

describe('the wait between attempts to reach the queue Redis at start-up', () => {
  it('starts at 1 s, doubles, and stays at 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 100].map((a) => retryDelayMs(a))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000,
    ]);
  });

  it('never shrinks and stays within [firstMs, maxMs]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 1, max: 10_000 }),
        (firstMs, extra, attempt) => {
          const retry = { firstMs, maxMs: firstMs + extra };
          const d = retryDelayMs(attempt, retry);
          expect(d).toBeGreaterThanOrEqual(firstMs);
          expect(d).toBeLessThanOrEqual(retry.maxMs);
          expect(retryDelayMs(attempt + 1, retry)).toBeGreaterThanOrEqual(d);
        },
      ),
    );
    expect(DEFAULT_QUEUE_RETRY).toEqual({ firstMs: 1_000, maxMs: 30_000 });
  });
});
