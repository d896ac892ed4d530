import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

export function luaScript(source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

type Arg = string | Buffer | number;

const loadedOn = new WeakMap<Redis, Set<string>>();

/**
 * SCRIPT LOAD once per connection, so an EVALSHA queued in a pipeline or MULTI (where the EVAL
 * fallback of runScript cannot apply) finds the script. Once, not per call: a script is kilobytes,
 * and sending the digest script per slot was the largest CPU cost of a verified move (measured with
 * --cpu-prof). A server restart drops the connection, and with it this record.
 */
export async function loadScriptOnce(redis: Redis, script: LuaScript): Promise<void> {
  let loaded = loadedOn.get(redis);
  if (loaded?.has(script.sha)) return;
  await redis.call('SCRIPT', 'LOAD', script.source);
  if (!loaded) loadedOn.set(redis, (loaded = new Set()));
  loaded.add(script.sha);
}

/**
 * EVALSHA, falling back to EVAL when the node does not have the script cached (restart, SCRIPT
 * FLUSH, a node that never saw it); EVAL also loads it, so the next EVALSHA hits.
 */
export async function runScript(
  redis: Redis,
  script: LuaScript,
  keys: readonly (string | Buffer)[],
  args: readonly Arg[],
): Promise<unknown> {
  try {
    return await redis.call('EVALSHA', script.sha, keys.length, ...keys, ...args);
  } catch (e) {
    if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e;
    return redis.call('EVAL', script.source, keys.length, ...keys, ...args);
  }
}

/**
 * runScript on a node that is IMPORTING the keys' slot: such a node answers a command on that slot
 * only right after ASKING, and ASKING covers exactly the next command. A pipeline queues both in one
 * synchronous step, so no other command of this connection can come between them. A script
 * inherits the caller's ASKING, so the keys it reads by name are served too.
 */
export async function runScriptAsking(
  redis: Redis,
  script: LuaScript,
  keys: readonly (string | Buffer)[],
  args: readonly Arg[],
): Promise<unknown> {
  const once = async (command: 'EVALSHA' | 'EVAL'): Promise<unknown> => {
    const body = command === 'EVALSHA' ? script.sha : script.source;
    const replies = await redis
      .pipeline()
      .call('ASKING')
      .call(command, body, keys.length, ...keys, ...args)
      .exec();
    const [askingError] = replies?.[0] ?? [new Error('no reply to ASKING')];
    if (askingError) throw askingError;
    const [error, value] = replies?.[1] ?? [new Error(`no reply to ${command} after ASKING`), null];
    if (error) throw error;
    return value;
  };
  try {
    return await once('EVALSHA');
  } catch (e) {
    if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e;
    return once('EVAL');
  }
}

/** How a script reaches a node: plainly, or with ASKING first (see runScriptAsking). */
export type ScriptCall = (
  script: LuaScript,
  keys: readonly (string | Buffer)[],
  args: readonly Arg[],
) => Promise<unknown>;

export function scriptCall(redis: Redis, asking: boolean): ScriptCall {
  return asking
    ? (script, keys, args) => runScriptAsking(redis, script, keys, args)
    : (script, keys, args) => runScript(redis, script, keys, args);
}
