/** How long the daemon waits between attempts to reach its queue Redis at start-up. */
export interface QueueRetryOptions {
  /** Wait after the first failed attempt. @defaultValue 1000 */
  readonly firstMs: number;
  /** The wait doubles after each failed attempt up to this. @defaultValue 30000 */
  readonly maxMs: number;
}

export const DEFAULT_QUEUE_RETRY: QueueRetryOptions = { firstMs: 1_000, maxMs: 30_000 };

/**
 * The wait after failed attempt number `attempt` (1 for the first): `firstMs`, doubled each time,
 * at most `maxMs`. Without jitter: daemons sharing a queue start at different times anyway. Pure.
 */
export function retryDelayMs(attempt: number, retry: QueueRetryOptions = DEFAULT_QUEUE_RETRY): number {
  const doublings = Math.max(0, Math.min(attempt - 1, 30));
  return Math.min(retry.maxMs, retry.firstMs * 2 ** doublings);
}
