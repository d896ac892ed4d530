/**
 * Worker sizing shared by `apply`, `worker` and the daemon, chosen with `npm run bench` (scale-out,
 * 1M keys, verified, median of 3 on 2026-11-25): 192 slots / 64 per node took 10.8 s with client
 * p99 17.4 ms, 96 / 32 took 9.8 s with p99 12.4 ms, 48 / 16 took 12.0 s with p99 10.6 ms. Past 96
 * the extra slots in flight only add Node work and queueing on the servers.
 */
export const DEFAULT_WORKER_LIMITS = { concurrency: 96, perNodeLimit: 32 } as const;
