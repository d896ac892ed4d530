import type { Redis } from 'ioredis';
import { loadScriptOnce, luaScript, runScript } from '../cluster/index.js';

/** A key over the big-key threshold: moved in a MIGRATE of its own and reported. */
export interface BigKey {
  readonly key: string;
  /** MEMORY USAGE on the source (sampled for collections, as Redis does by default). */
  readonly bytes: number;
}

/** What the next round of a slot moves: the ordinary keys as one batch, the big ones one by one. */
export interface KeysToMove {
  readonly keys: string[];
  /** MEMORY USAGE of `keys`, summed. */
  readonly bytes: number;
  readonly big: BigKey[];
  /**
   * Whether `keys` and `big` are every key the slot held: fewer names than asked for, none left out
   * by the byte cap. Once a slot is MIGRATING its source can only lose keys (a client creating one is
   * sent to the target with ASK, a command or script needing a missing key gets ASK or TRYAGAIN), so
   * after these keys move the slot is empty without asking again.
   */
  readonly complete: boolean;
}

/**
 * Keys at or above this size move alone: MIGRATE blocks source and target while it serialises and
 * restores a value, so a batch holding a 50 MB hash would block for as long as that hash takes
 * plus the batch, and its timeout is scaled to its size (see migrateAlone).
 */
export const DEFAULT_BIG_KEY_BYTES = 1_000_000;

/**
 * Most bytes (MEMORY USAGE) one MIGRATE carries. The batch sizer sizes batches by time, but it
 * learns from calls already made: the first batch of a source (100 keys) of values just under the
 * big-key size would carry 100 MB in one blocking call. With small values (the benchmark's 100 B)
 * the time budget binds long before this, so it costs nothing there.
 */
export const DEFAULT_MAX_BATCH_BYTES = 4 * 1024 * 1024;

// GETKEYSINSLOT and the size of every key it returns, in one call on the source: a big key is known
// before a MIGRATE carries it, not after a timed-out batch. MEMORY USAGE samples collections (5
// elements by default), so the check costs about the same for a 10-field and a 1M-field hash.
// pcall: a key that expired between the two answers with a cluster redirection error inside a
// script; it counts as small, and MIGRATE skips expired keys anyway.
// The ordinary keys stop before their sizes pass maxBytes (at least one is taken); the keys left
// out are still in the slot and come back in the next call.
// Defined as a Lua function so the protocol batch script (protocol-batch.ts) runs the same code.
export const KEYS_TO_MOVE_LUA_FUNCTION = `
local function keysToMove(slot, count, threshold, maxBytes)
  local names = redis.call('CLUSTER', 'GETKEYSINSLOT', slot, count)
  threshold = tonumber(threshold)
  maxBytes = tonumber(maxBytes)
  local small, big, total = {}, {}, 0
  local complete = #names < tonumber(count) and 1 or 0
  for _, name in ipairs(names) do
    local bytes = redis.pcall('MEMORY', 'USAGE', name)
    if type(bytes) ~= 'number' then bytes = 0 end
    if bytes >= threshold then
      big[#big + 1] = name
      big[#big + 1] = bytes
    else
      if #small > 0 and total + bytes > maxBytes then
        complete = 0
        break
      end
      small[#small + 1] = name
      total = total + bytes
    end
  end
  return {small, big, total, complete}
end`;

export const KEYS_TO_MOVE = luaScript(`#!lua flags=no-writes
${KEYS_TO_MOVE_LUA_FUNCTION}
return keysToMove(ARGV[1], ARGV[2], ARGV[3], ARGV[4])`);

/** The command, for pipelines (the group mover); the script must be loaded (loadKeysToMoveScript). */
export function keysToMoveCommand(
  slot: number,
  count: number,
  bigKeyBytes: number,
  maxBatchBytes: number,
): string[] {
  return [
    'EVALSHA',
    KEYS_TO_MOVE.sha,
    '0',
    String(slot),
    String(count),
    String(bigKeyBytes),
    String(maxBatchBytes),
  ];
}

/** Parses the script's reply. */
export function parseKeysToMove(reply: unknown): KeysToMove {
  const [small, big, bytes, complete] = Array.isArray(reply) ? (reply as unknown[]) : [];
  if (!Array.isArray(small) || !Array.isArray(big)) {
    throw new Error(`unexpected keys-to-move reply: ${JSON.stringify(reply)}`);
  }
  const bigKeys: BigKey[] = [];
  for (let i = 0; i + 1 < big.length; i += 2)
    bigKeys.push({ key: String(big[i]), bytes: Number(big[i + 1]) });
  return { keys: small.map(String), bytes: Number(bytes ?? 0), big: bigKeys, complete: complete === 1 };
}

/** Up to `count` keys of `slot` on `source` and at most `maxBatchBytes` of them, the big ones apart. */
export async function keysToMove(
  source: Redis,
  slot: number,
  count: number,
  bigKeyBytes: number,
  maxBatchBytes: number,
): Promise<KeysToMove> {
  return parseKeysToMove(
    await runScript(source, KEYS_TO_MOVE, [], [slot, count, bigKeyBytes, maxBatchBytes]),
  );
}

/** Loads the script on a source, so its EVALSHA in a pipeline finds it. */
export function loadKeysToMoveScript(source: Redis): Promise<void> {
  return loadScriptOnce(source, KEYS_TO_MOVE);
}
