/**
 * On a host shared with the cluster (the benchmark's 2 cores), a rebalancer at normal priority takes
 * CPU from the servers whose MIGRATE it waits for and from their clients. At nice 10 (scale-out, 1M
 * keys, 2 runs each, 2026-11-25), client p50 fell from 1.1 to 0.3 ms and p99 from 13 to 10.4 ms, and
 * the verified move took 10.1-10.7 s against 11.3 s. On a host of its own it changes nothing.
 */
export const DEFAULT_NICE = 10;

/**
 * Worker sizing shared by `apply`, `worker` and the daemon, chosen with `npm run bench` (scale-out,
 * 1M keys, verified, median of 3 on 2026-11-25): 192 slots / 64 per node took 10.8 s with client
 * p99 17.4 ms, 96 / 32 took 9.8 s with p99 12.4 ms, 48 / 16 took 12.0 s with p99 10.6 ms. Past 96
 * the extra slots in flight only add Node work and queueing on the servers.
 */
export const DEFAULT_WORKER_LIMITS = { concurrency: 96, perNodeLimit: 32, nice: DEFAULT_NICE } as const;
