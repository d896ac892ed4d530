import type DataLoader from 'dataloader';
import type { Redis } from 'ioredis';
import { luaScript, runScript } from '../cluster/index.js';
import { perTurnLoader } from './per-turn.js';

/**
 * KEYS: [1] the plan's done set, [2] its stats hash, [3] its big keys hash, then per slot: the
 *       source's and target's places (NodeLimiter), the slot's moved-digests list and the legacy
 *       moved-digests hash of earlier builds
 * ARGV: per slot: [lease token, slot, keys moved, estimated bytes, mismatches, keys written during
 *       the move, '1' when verified, '1' to drop the moved digests, how many big keys, then name,
 *       JSON pairs of those big keys]
 * Each slot counts as done and its places are given back in one step.
 */
const RECORD_SLOTS_MOVED = luaScript(`
local sums = {keys = 0, bytes = 0, mismatches = 0, writtenDuringMove = 0, verified = 0}
local a, k = 1, 4
while a <= #ARGV do
  redis.call('SADD', KEYS[1], ARGV[a + 1])
  sums.keys = sums.keys + tonumber(ARGV[a + 2])
  sums.bytes = sums.bytes + tonumber(ARGV[a + 3])
  sums.mismatches = sums.mismatches + tonumber(ARGV[a + 4])
  sums.writtenDuringMove = sums.writtenDuringMove + tonumber(ARGV[a + 5])
  if ARGV[a + 6] == '1' then sums.verified = sums.verified + 1 end
  if ARGV[a + 7] == '1' then redis.call('DEL', KEYS[k + 2], KEYS[k + 3]) end
  local big = tonumber(ARGV[a + 8])
  for i = a + 9, a + 8 + 2 * big, 2 do redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
  redis.call('ZREM', KEYS[k], ARGV[a])
  redis.call('ZREM', KEYS[k + 1], ARGV[a])
  a = a + 9 + 2 * big
  k = k + 4
end
redis.call('HINCRBY', KEYS[2], 'keys', sums.keys)
redis.call('HINCRBY', KEYS[2], 'bytes', sums.bytes)
for _, field in ipairs({'mismatches', 'writtenDuringMove', 'verified'}) do
  if sums[field] > 0 then redis.call('HINCRBY', KEYS[2], field, sums[field]) end
end
return 1
`);

export interface SlotMovedRecord {
  /** NodeLimiter.placeKeys of the slot's source and target. */
  readonly places: readonly [string, string];
  readonly lease: string;
  readonly slot: number;
  readonly keys: number;
  readonly bytes: number;
  readonly mismatches: number;
  readonly writtenDuringMove: number;
  readonly verified: boolean;
  /** Drop the digests earlier attempts kept for this slot: nothing is left to verify. */
  readonly forgetMoved: boolean;
  readonly bigKeys: ReadonlyArray<{ readonly key: string; readonly json: string }>;
}

export interface PlanProgressKeys {
  readonly done: string;
  readonly stats: string;
  readonly bigKeys: string;
}

interface SlotRecordRequest {
  readonly plan: PlanProgressKeys;
  readonly movedKeys: { readonly moved: string; readonly legacyMoved: string };
  readonly record: SlotMovedRecord;
}

interface KeepRequest {
  readonly movedKey: string;
  readonly json: string;
}

/** KEYS: the slots' moved-digests lists. ARGV: [time to live (s), then one batch's JSON per key]. */
const KEEP_MOVED_DIGESTS = luaScript(`
for i = 1, #KEYS do
  redis.call('RPUSH', KEYS[i], ARGV[i + 1])
  redis.call('EXPIRE', KEYS[i], ARGV[1])
end
return 1
`);

/** How long the digests of a slot's moved keys wait on the queue for an attempt to finish it. */
const MOVED_DIGESTS_TTL_S = 7 * 24 * 3600;

/**
 * What a slot worker writes to the queue Redis about its slots: records of moved slots (with their
 * places given back) and the digests of moved keys a later attempt verifies.
 *
 * Writes made in one turn of the event loop go as one script call each: a group of slots closes
 * together and their records are written in the same turn. A call per slot cost the worker process
 * a command, a promise and a reply each, and one call per slot was already a merge of five to nine
 * commands (scale-out of 1M keys, --no-verify, 2026-11-26: apply CPU 3.47-4.12 s against
 * 3.58-4.41 s).
 */
export class SlotBookkeeping {
  private readonly recorder: DataLoader<SlotRecordRequest, void>;
  private readonly keeper: DataLoader<KeepRequest, void>;

  constructor(private readonly redis: Redis) {
    this.recorder = perTurnLoader((requests) => this.recordMany(requests));
    this.keeper = perTurnLoader((requests) => this.keepMany(requests));
  }

  /** Records a moved slot in its plan's progress and gives its nodes' places back. */
  recordSlotMoved(
    plan: PlanProgressKeys,
    movedKeys: { moved: string; legacyMoved: string },
    record: SlotMovedRecord,
  ): Promise<void> {
    return this.recorder.load({ plan, movedKeys, record });
  }

  /**
   * Appends one batch's digests to the slot's list for a later attempt to verify, and (re)sets the
   * list's time to live.
   */
  keepMovedDigests(movedKey: string, json: string): Promise<void> {
    return this.keeper.load({ movedKey, json });
  }

  private async recordMany(requests: readonly SlotRecordRequest[]): Promise<void[]> {
    // A worker serving several plans at once (the daemon) writes each plan's records in its own call.
    const byPlan = new Map<string, SlotRecordRequest[]>();
    for (const r of requests) {
      const same = byPlan.get(r.plan.done);
      if (same) same.push(r);
      else byPlan.set(r.plan.done, [r]);
    }
    await Promise.all(
      [...byPlan.values()].map((group) => {
        const { done, stats, bigKeys } = group[0]!.plan;
        const keys: string[] = [done, stats, bigKeys];
        const args: Array<string | number> = [];
        for (const { movedKeys, record: r } of group) {
          keys.push(...r.places, movedKeys.moved, movedKeys.legacyMoved);
          args.push(
            r.lease,
            r.slot,
            r.keys,
            Math.round(r.bytes),
            r.mismatches,
            r.writtenDuringMove,
            r.verified ? '1' : '0',
            r.forgetMoved ? '1' : '0',
            r.bigKeys.length,
            ...r.bigKeys.flatMap((b) => [b.key, b.json]),
          );
        }
        return runScript(this.redis, RECORD_SLOTS_MOVED, keys, args);
      }),
    );
    return requests.map(() => undefined);
  }

  private async keepMany(requests: readonly KeepRequest[]): Promise<void[]> {
    await runScript(
      this.redis,
      KEEP_MOVED_DIGESTS,
      requests.map((r) => r.movedKey),
      [MOVED_DIGESTS_TTL_S, ...requests.map((r) => r.json)],
    );
    return requests.map(() => undefined);
  }
}
