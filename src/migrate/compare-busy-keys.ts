import type { Redis } from 'ioredis';
import { luaScript } from '../cluster/index.js';
import { DIGEST_BATCH_SCRIPT } from '../checksum/index.js';
import type { KeyComparer } from './migrate-slot.js';

const DIGEST_BATCH = luaScript(DIGEST_BATCH_SCRIPT);

/**
 * For BUSYKEY: which keys of a batch have the same content on source and target. The target's copy
 * lives in a slot it is importing, so it is read with ASKING in the same pipeline (ASKING applies to
 * the next command only, and a pipeline is written contiguously). DEBUG DIGEST-VALUE would do this
 * on Redis < 7, but DEBUG is disabled by default since 7.0.
 */
export const compareBusyKeys: KeyComparer = async (source, target, keys) => {
  const [mine, theirs] = await Promise.all([digests(source, keys, false), digests(target, keys, true)]);
  const equal: string[] = [];
  const different: string[] = [];
  keys.forEach((k, i) => {
    const a = mine[i];
    const b = theirs[i];
    // Only keys on both sides are in question: one gone from the source already moved, one
    // missing on the target is not what MIGRATE refused.
    if (a === null || a === undefined || b === null || b === undefined) return;
    if (a === b) equal.push(k);
    else different.push(k);
  });
  return { equal, different };
};

/**
 * One key per script call: a multi-key call in an open slot where some keys are missing on that
 * side is refused with TRYAGAIN, and in a BUSYKEY batch that is the usual case.
 */
async function digests(
  redis: Redis,
  keys: readonly string[],
  asking: boolean,
): Promise<Array<string | null>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const pipe = redis.pipeline();
    for (const key of keys) {
      if (asking) pipe.call('ASKING');
      if (attempt === 0)
        pipe.call('EVALSHA', DIGEST_BATCH.sha, '1', key, '0', '0', String(Number.MAX_SAFE_INTEGER));
      else pipe.call('EVAL', DIGEST_BATCH.source, '1', key, '0', '0', String(Number.MAX_SAFE_INTEGER));
    }
    const replies = ((await pipe.exec()) ?? []).filter((_, i) => !asking || i % 2 === 1);
    if (attempt === 0 && replies.some(([err]) => err && /^NOSCRIPT/.test(err.message))) continue;
    return replies.map(([err, reply]) => {
      // ASK from the source: the key already moved (MIGRATE moves the keys of a batch that the
      // target accepted and keeps only the refused ones).
      if (err && /^ASK /.test(err.message)) return null;
      if (err) throw err;
      const first = (reply as unknown[])[0];
      return typeof first === 'string' ? first : null;
    });
  }
  return keys.map(() => null);
}
