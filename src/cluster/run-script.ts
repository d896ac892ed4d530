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
