/**
 * On a host shared with the cluster (the benchmark's 2 cores), a rebalancer at normal priority takes
 * CPU from the servers whose MIGRATE it waits for and from their clients. At nice 10 (scale-out, 1M
 * keys, 2 runs each, 2026-11-25), client p50 fell from 1.1 to 0.3 ms and p99 from 13 to 10.4 ms, and
 * the verified move took 10.1-10.7 s against 11.3 s. On a host of its own it changes nothing.
 */
export const DEFAULT_NICE = 10;

/**
 * Worker sizing shared by `apply`, `worker` and the daemon, chosen with `npm run bench` (verified,
 * median of 3, 2026-11-25).
 * - Concurrency, scale-out 3 -> 6 at 1M keys: 192 slots / 64 per node took 10.8 s with client p99
 *   17.4 ms, 96 / 32 took 9.8 s with p99 12.4 ms, 48 / 16 took 12.0 s with p99 10.6 ms. Past 96 the
 *   extra slots in flight only add Node work and queueing on the servers.
 * - Per node, at 96 slots: a drain sends every slot from one source to five targets, and 32 places
 *   on that source split into groups of 2.2 slots on average, each paying the protocol's round trips.
 *   Drain at 200k keys (median of 2): 32 per node 4.12 s verified / 3.47 s unverified with p99
 *   5.0 ms; 64: 3.16 / 2.70 s, p99 4.7-5.4 ms; 96: 2.92 / 2.29 s, p99 6.3 ms. Scale-out at 1M keys:
 *   10.33, 9.89 and 9.21 s, p99 10.5-10.8 ms for all three. 64 keeps the drain's p99 near 5 ms.
 */
export const DEFAULT_WORKER_LIMITS = { concurrency: 96, perNodeLimit: 64, nice: DEFAULT_NICE } as const;
