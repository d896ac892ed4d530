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
  readonly big: BigKey[];
}

/**
 * Keys at or above this size move alone: MIGRATE blocks source and target while it serialises and
 * restores a value, so a batch holding a 50 MB hash would block for as long as that hash takes
 * plus the batch, and its timeout is scaled to its size (see migrateAlone).
 */
export const DEFAULT_BIG_KEY_BYTES = 1_000_000;

// GETKEYSINSLOT and the size of every key it returns, in one call on the source: a big key is known
// before a MIGRATE carries it, not after a timed-out batch. MEMORY USAGE samples collections (5
// elements by default), so the check costs about the same for a 10-field and a 1M-field hash.
// pcall: a key that expired between the two answers with a cluster redirection error inside a
// script; it counts as small, and MIGRATE skips expired keys anyway.
const KEYS_TO_MOVE = luaScript(`#!lua flags=no-writes
local names = redis.call('CLUSTER', 'GETKEYSINSLOT', ARGV[1], ARGV[2])
local threshold = tonumber(ARGV[3])
local small, big = {}, {}
for _, name in ipairs(names) do
  local bytes = redis.pcall('MEMORY', 'USAGE', name)
  if type(bytes) == 'number' and bytes >= threshold then
    big[#big + 1] = name
    big[#big + 1] = bytes
  else
    small[#small + 1] = name
  end
end
return {small, big}`);

/** The command, for pipelines (the group mover); the script must be loaded (loadKeysToMoveScript). */
export function keysToMoveCommand(slot: number, count: number, bigKeyBytes: number): string[] {
  return ['EVALSHA', KEYS_TO_MOVE.sha, '0', String(slot), String(count), String(bigKeyBytes)];
}

/** Parses the script's reply. */
export function parseKeysToMove(reply: unknown): KeysToMove {
  const [small, big] = Array.isArray(reply) ? (reply as unknown[]) : [];
  if (!Array.isArray(small) || !Array.isArray(big)) {
    throw new Error(`unexpected keys-to-move reply: ${JSON.stringify(reply)}`);
  }
  const bigKeys: BigKey[] = [];
  for (let i = 0; i + 1 < big.length; i += 2)
    bigKeys.push({ key: String(big[i]), bytes: Number(big[i + 1]) });
  return { keys: small.map(String), big: bigKeys };
}

/** Up to `count` keys of `slot` on `source`, the big ones apart. */
export async function keysToMove(
  source: Redis,
  slot: number,
  count: number,
  bigKeyBytes: number,
): Promise<KeysToMove> {
  return parseKeysToMove(await runScript(source, KEYS_TO_MOVE, [], [slot, count, bigKeyBytes]));
}

/** Loads the script on a source, so its EVALSHA in a pipeline finds it. */
export function loadKeysToMoveScript(source: Redis): Promise<void> {
  return loadScriptOnce(source, KEYS_TO_MOVE);
}
