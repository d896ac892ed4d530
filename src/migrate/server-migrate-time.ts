import type { Redis } from 'ioredis';
import type { BatchSizer } from './batch-sizer.js';

/** Commands whose time blocks a source while it moves keys: MIGRATE, and the digest script of verified moves. */
const BLOCKING = ['migrate', 'evalsha'] as const;
const SAMPLE_EVERY_MS = 25;

/**
 * Feeds a source's batch sizer with the time its MIGRATE calls really blocked it, read from the
 * server's own INFO commandstats, instead of the client's round trip. With several groups in flight
 * a round trip also holds the time spent queued behind the other groups' commands; sized by that,
 * rounds carried a quarter of what the latency budget allows and the move took longer for no gain.
 *
 * Keys are counted as their rounds' replies arrive, and the sample is asked on the same connection
 * after them, so every key counted before a sample's reply was moved before the sample was taken.
 * Where INFO is not allowed the round trips are used after all.
 */
export class ServerMigrateTime {
  private lastUsec: number | null = null;
  private keysSince = 0;
  private asking = false;
  private lastAskedAt = 0;
  private unavailable = false;

  constructor(private readonly sizer: BatchSizer) {}

  /** A round of `keys` keys came back from `source` after `roundTripMs`. */
  record(source: Redis, keys: number, roundTripMs: number): void {
    if (this.unavailable) {
      this.sizer.record(keys, roundTripMs);
      return;
    }
    this.keysSince += keys;
    const now = performance.now();
    if (this.asking || now - this.lastAskedAt < SAMPLE_EVERY_MS) return;
    this.asking = true;
    this.lastAskedAt = now;
    source
      .call('INFO', 'commandstats')
      .then((info) => {
        const usec = blockingUsec(String(info));
        if (this.lastUsec !== null && this.keysSince > 0 && usec >= this.lastUsec) {
          this.sizer.record(this.keysSince, (usec - this.lastUsec) / 1000);
        }
        this.lastUsec = usec;
        this.keysSince = 0;
      })
      .catch(() => {
        this.unavailable = true;
      })
      .finally(() => {
        this.asking = false;
      });
  }
}

/** Sum of `usec` of the blocking commands in an INFO commandstats reply. */
export function blockingUsec(info: string): number {
  let total = 0;
  for (const name of BLOCKING) {
    const m = new RegExp(`^cmdstat_${name}:.*?usec=(\\d+)`, 'm').exec(info);
    if (m) total += Number(m[1]);
  }
  return total;
}
