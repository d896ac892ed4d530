import type { Redis } from 'ioredis';
import { loadScriptOnce, luaScript, runScript } from '../cluster/index.js';
import { KEYS_TO_MOVE, KEYS_TO_MOVE_LUA_FUNCTION } from './keys-to-move.js';
import type { Reply } from './redis-reply-error.js';

/**
 * ARGV: ops, one after another:
 *   'S', slot, state, node id          → CLUSTER SETSLOT slot state node-id
 *   'K', slot, count, big, max bytes   → keys to move (the keys-to-move script's function)
 * Output: one reply per op, in order; a failed op's error is its element (an error reply inside
 * the array), exactly what the op would have answered alone, so the ops of other slots run on.
 * no-writes: like the plain commands, it runs during a failover's write pause, when out of memory,
 * and (allow-stale) on a replica, where SETSLOT answers "only with masters" as it would alone.
 * allow-cross-slot-keys: without it, MEMORY USAGE of the second slot's keys failed ("keys that do
 * not hash to the same slot"), the sizes read 0, and big keys and the byte cap went unnoticed.
 */
const PROTOCOL_BATCH = luaScript(`#!lua flags=no-writes,allow-stale,allow-cross-slot-keys
${KEYS_TO_MOVE_LUA_FUNCTION}
local out, i = {}, 1
while i <= #ARGV do
  if ARGV[i] == 'S' then
    out[#out + 1] = redis.pcall('CLUSTER', 'SETSLOT', ARGV[i + 1], ARGV[i + 2], ARGV[i + 3])
    i = i + 4
  elseif ARGV[i] == 'K' then
    local ok, r = pcall(keysToMove, ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4])
    if ok then out[#out + 1] = r
    elseif type(r) == 'table' and r.err then out[#out + 1] = r
    else out[#out + 1] = {err = 'ERR ' .. tostring(r)} end
    i = i + 5
  else
    return redis.error_reply('ERR unknown protocol batch op ' .. tostring(ARGV[i]))
  end
end
return out`);

type Sender = (node: Redis, commands: string[][]) => Promise<Reply[]>;

/** The batch op for a command, or null when the batch script cannot run it (MIGRATE, MULTI, ...). */
function opFor(command: readonly string[]): string[] | null {
  const [name, sub, slot, state, id] = command;
  if (name === 'CLUSTER' && sub === 'SETSLOT' && command.length === 5) return ['S', slot!, state!, id!];
  if (name === 'EVALSHA' && sub === KEYS_TO_MOVE.sha && slot === '0' && command.length === 7) {
    return ['K', ...command.slice(3)];
  }
  return null;
}

/** `commands` as one call of the batch script, or null when one of them cannot run in it. */
export function protocolBatchCommand(commands: readonly (readonly string[])[]): string[] | null {
  const ops: string[] = [];
  for (const c of commands) {
    const op = opFor(c);
    if (!op) return null;
    ops.push(...op);
  }
  return ['EVALSHA', PROTOCOL_BATCH.sha, '0', ...ops];
}

/** The batch script's reply as the `count` replies its commands would have given one by one. */
export function unpackProtocolBatch(reply: Reply | undefined, count: number): Reply[] {
  const [err, value] = reply ?? [new Error('no reply to the protocol batch'), null];
  if (err || !Array.isArray(value) || value.length !== count) {
    const failure =
      err ?? new Error(`protocol batch answered ${JSON.stringify(value)} for ${count} commands`);
    return Array.from({ length: count }, (): Reply => [failure, null]);
  }
  return (value as unknown[]).map((v): Reply => (v instanceof Error ? [v, null] : [null, v]));
}

/**
 * Wraps a sender so that a step's SETSLOTs and keys-to-move calls reach the node as one script call
 * instead of one command each. Each command costs the apply process a Command object, a promise and
 * a reply to parse; SETSLOT alone was 4 of the 12 commands a slot cost (IMPORTING, MIGRATING, NODE
 * on target and source). Steps holding anything else (MIGRATE) go as they are.
 */
export function inOneCall(send: Sender): Sender {
  return async (node, commands) => {
    const batch = commands.length > 1 ? protocolBatchCommand(commands) : null;
    if (!batch) return send(node, commands);
    // EVALSHA, not EVAL: the script is kilobytes; it may run inside a MULTI (the fenced close).
    await loadScriptOnce(node, PROTOCOL_BATCH);
    const [reply] = await send(node, [batch]);
    return unpackProtocolBatch(reply, commands.length);
  };
}

/**
 * Runs `commands`, each one the batch script runs (see protocolBatchCommand), as one call, with
 * EVAL when the node lacks the script. A command's error is its element of the reply, not thrown.
 */
export async function runProtocolBatch(
  redis: Redis,
  commands: readonly (readonly string[])[],
): Promise<unknown> {
  const batch = protocolBatchCommand(commands);
  if (!batch) throw new Error('runProtocolBatch: a command the protocol batch script does not run');
  return runScript(redis, PROTOCOL_BATCH, [], batch.slice(3));
}
