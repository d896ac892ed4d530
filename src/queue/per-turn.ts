import DataLoader from 'dataloader';

/**
 * A loader whose requests of one turn of the event loop reach `run` together, for writes to the
 * queue Redis that go as one script call per turn. `setImmediate`, not DataLoader's default (the
 * end of the current microtask queue): the replies that start a burst of slots arrive in one socket
 * read, but each slot reaches its write after a chain of awaits of its own, and only a whole turn
 * gathers them.
 */
export function perTurnLoader<Request, Answer>(
  run: (requests: readonly Request[]) => Promise<Answer[]>,
): DataLoader<Request, Answer> {
  return new DataLoader(run, {
    cache: false,
    batchScheduleFn: (flush) => setImmediate(flush),
    maxBatchSize: 500,
  });
}
