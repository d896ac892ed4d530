import type { Redis } from 'ioredis';
import { loadScriptOnce, luaScript } from '../cluster/index.js';
import { DIGEST_BATCH_SCRIPT, type Digest } from '../checksum/index.js';
import { execTransaction } from './redis-reply-error.js';
import type { MigrateSlotContext } from './migrate-slot.js';

const DIGEST_BATCH = luaScript(DIGEST_BATCH_SCRIPT);

/**
 * The digest-batch script's EVALSHA for `keys`, values digested whole (inline_max 0) and strings
 * read with MGET: MIGRATE serialises every whole value in the same blocking step anyway.
 */
export function digestBatchCommand(keys: readonly string[]): string[] {
  return [
    'EVALSHA',
    DIGEST_BATCH.sha,
    String(keys.length),
    ...keys,
    '0',
    '0',
    String(Number.MAX_SAFE_INTEGER),
    '1',
  ];
}

/** Digests from a digest-batch reply, by key; null when the script failed (e.g. NOSCRIPT in EXEC). */
export function digestsOf(keys: readonly string[], reply: unknown): Map<string, Digest> | null {
  if (!Array.isArray(reply)) return null;
  const out = new Map<string, Digest>();
  reply.forEach((d: unknown, i) => {
    if (typeof d === 'string') out.set(keys[i]!, d);
  });
  return out;
}

/** Loads the digest script on a source before its first batch, so EVALSHA inside MULTI finds it. */
export function loadDigestScript(source: Redis): Promise<void> {
  return loadScriptOnce(source, DIGEST_BATCH);
}

/**
 * MULTI { EVALSHA digest-batch KEYS; MIGRATE ... KEYS } EXEC: digest and move in one atomic step,
 * so nothing can change a key between the two and the digests are of exactly what MIGRATE carried.
 * A transaction rather than MIGRATE inside the script keeps the MIGRATE AUTH arguments where Redis
 * redacts them (SLOWLOG, MONITOR); script arguments are not redacted.
 * `digests` is null when the script was missing (NOSCRIPT inside EXEC): the keys still moved.
 * `error` is MIGRATE's own (BUSYKEY, IOERR, ...), which the caller classifies and retries; the
 * digests are there all the same (see digestsOfKeysGone).
 */
export async function digestAndMigrate(
  source: Redis,
  migrateArgs: readonly string[],
  keys: readonly string[],
): Promise<{ digests: Map<string, Digest> | null; error: Error | null }> {
  const tx = source.multi();
  const [evalsha, ...evalArgs] = digestBatchCommand(keys);
  tx.call(evalsha!, ...evalArgs);
  tx.call('MIGRATE', ...migrateArgs);
  const [digestReply, migrateReply] = await execTransaction(tx);
  return {
    digests: digestReply?.[0] ? null : digestsOf(keys, digestReply?.[1]),
    error: migrateReply?.[0] ?? null,
  };
}

/**
 * Of the keys a failed MIGRATE was given, those no longer on the source, with their digests. Redis
 * moves each key the target accepted even when it refuses another (BUSYKEY) or the replies stop
 * halfway, so these are on the target now and are checked like any other. A key still on the source
 * is left out: the MIGRATE that moves it later digests it again, and if the slot stops first (a
 * conflicting key) it never left. A key gone answers 0, or ASK once its slot is MIGRATING; an
 * unanswered EXISTS counts as gone, so the key is checked rather than skipped.
 */
export async function digestsOfKeysGone(
  source: Redis,
  digests: ReadonlyMap<string, Digest>,
): Promise<Map<string, Digest>> {
  const keys = [...digests.keys()];
  const replies = await source
    .pipeline(keys.map((k) => ['exists', k]))
    .exec()
    .catch(() => null);
  const gone = new Map<string, Digest>();
  keys.forEach((k, i) => {
    const [err, n] = replies?.[i] ?? [null, 0];
    if (err || n !== 1) gone.set(k, digests.get(k)!);
  });
  return gone;
}

/**
 * Tells `onMoved` what a failed MIGRATE moved all the same: the keys that left the source, with
 * their digests (see digestsOfKeysGone); without digests, which keys left is unknown, so the whole
 * batch counts as moved unverified. Returns what `onMoved` returned.
 */
export async function reportMovedDespiteError(
  source: Redis,
  slot: number,
  keys: readonly string[],
  digests: ReadonlyMap<string, Digest> | null,
  onMoved: NonNullable<MigrateSlotContext['onMoved']>,
): Promise<unknown> {
  if (!digests) return onMoved(slot, keys, null);
  const gone = await digestsOfKeysGone(source, digests);
  return gone.size ? onMoved(slot, [...gone.keys()], gone) : undefined;
}
