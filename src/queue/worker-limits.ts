/**
 * Worker sizing shared by `apply`, `worker` and the daemon, chosen with `npm run bench` (scale-out,
 * 1M keys): fewer slots in flight left the cores idle between round trips.
 */
export const DEFAULT_WORKER_LIMITS = { concurrency: 192, perNodeLimit: 64 } as const;
