import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';

/**
 * Compare-and-extend. Versioned name: a rolling deploy never runs a script with another contract.
 * KEYS[1] lease key
 * ARGV[1] this daemon's token, ARGV[2] time to live in ms
 * Output: 1 when the token held the lease and it was extended, 0 when another token (or none) holds it
 * The expiry is counted by the server's clock, so daemons on hosts with skewed clocks agree on it.
 */
const EXTEND_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

/**
 * Compare-and-delete, so a daemon that lost its lease never deletes the new holder's.
 * KEYS[1] lease key; ARGV[1] this daemon's token
 * Output: 1 when deleted, 0 when another token (or none) held it
 */
const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

const EXTEND_SCRIPT = 'slotshiftLeaseExtendV1';
const RELEASE_SCRIPT = 'slotshiftLeaseReleaseV1';

interface LeaseCommands {
  [EXTEND_SCRIPT](key: string, token: string, ttlMs: number): Promise<number>;
  [RELEASE_SCRIPT](key: string, token: string): Promise<number>;
}

/** A readable, unique holder name: host and pid say which daemon plans, the suffix tells restarts apart. */
export function leaseToken(): string {
  return `${hostname()}:${process.pid}:${randomBytes(6).toString('hex')}`;
}

/**
 * The planner lease: only the daemon holding it plans and enqueues; the others only run workers.
 * Taken with `SET key token NX PX ttl`, kept by a compare-and-extend script. A crashed holder's
 * lease simply expires, so no daemon ever has to clean up after another.
 */
export class Lease {
  private readonly commands: LeaseCommands;

  constructor(
    private readonly redis: Redis,
    readonly key: string,
    readonly token: string,
    readonly ttlMs: number,
  ) {
    redis.defineCommand(EXTEND_SCRIPT, { numberOfKeys: 1, lua: EXTEND_LUA });
    redis.defineCommand(RELEASE_SCRIPT, { numberOfKeys: 1, lua: RELEASE_LUA });
    this.commands = redis as unknown as LeaseCommands;
  }

  /** Extends the lease when this daemon holds it, takes it when nobody does. True when held afterwards. */
  async acquireOrExtend(): Promise<boolean> {
    if ((await this.commands[EXTEND_SCRIPT](this.key, this.token, this.ttlMs)) === 1) return true;
    const set = await this.redis.set(this.key, this.token, 'PX', this.ttlMs, 'NX');
    return set === 'OK';
  }

  /** The current holder's token, or null when the lease is free. */
  holder(): Promise<string | null> {
    return this.redis.get(this.key);
  }

  async release(): Promise<void> {
    await this.commands[RELEASE_SCRIPT](this.key, this.token);
  }
}
