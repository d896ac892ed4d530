import { keySlot } from '../cluster/index.js';
import type { Redis } from 'ioredis';
import { DIGEST_BATCH_SCRIPT, DIGEST_CHUNK_SCRIPT, STRING_PIECE_BYTES } from './digest-lua.js';
import { KeyChangedDuringDigestError, UnsupportedKeyTypeError } from './errors.js';
import { ZERO_DIGEST, type Digest } from './fold.js';
import { compileDigestOptions, type CompiledDigestOptions, type DigestOptions } from './options.js';
import { parseBatchReply, parseChunkReply } from './parse-replies.js';
import { luaScript, scriptCall, type ScriptCall } from '../cluster/run-script.js';

const BATCH = luaScript(DIGEST_BATCH_SCRIPT);
const CHUNK = luaScript(DIGEST_CHUNK_SCRIPT);

/**
 * Digests of `keys` on one node, aligned with `keys`; null where the key does not exist. Keys are
 * grouped by slot and sent as KEYS, one script call per batch, so the call is cluster-correct; the
 * node must serve every slot involved (otherwise its MOVED/ASK error is thrown).
 * Values larger than `inlineMaxElements` are digested in bounded chunks across several calls.
 * `asking`: the node is importing the keys' slots, and each call is sent after ASKING.
 */
export async function keyDigests(
  redis: Redis,
  keys: readonly (string | Buffer)[],
  options: DigestOptions | CompiledDigestOptions = {},
  asking = false,
): Promise<(Digest | null)[]> {
  const o = compileDigestOptions(options);
  const run = scriptCall(redis, asking);
  const out = new Array<Digest | null>(keys.length).fill(null);
  const bySlot = new Map<number, number[]>();
  keys.forEach((k, i) => {
    const slot = keySlot(k);
    let list = bySlot.get(slot);
    if (!list) bySlot.set(slot, (list = []));
    list.push(i);
  });
  const batches: number[][] = [];
  for (const indexes of bySlot.values()) {
    for (let i = 0; i < indexes.length; i += o.batchKeys) batches.push(indexes.slice(i, i + o.batchKeys));
  }
  await forEachLimited(batches, o.concurrency, async (batch) => {
    const batchKeys = batch.map((i) => keys[i]!);
    const digests = await digestBatch(run, batchKeys, o);
    digests.forEach((d, j) => (out[batch[j]!] = d));
  });
  return out;
}

/** One slot's keys (the caller guarantees it), batch by batch as the budget allows. */
async function digestBatch(
  run: ScriptCall,
  keys: readonly (string | Buffer)[],
  o: CompiledDigestOptions,
): Promise<(Digest | null)[]> {
  const out: (Digest | null)[] = [];
  while (out.length < keys.length) {
    const rest = keys.slice(out.length);
    const reply = await run(BATCH, rest, batchArgs(o));
    const entries = parseBatchReply(reply, rest.length);
    for (const [j, e] of entries.entries()) {
      if (e.kind === 'digest') out.push(e.digest);
      else if (e.kind === 'missing') out.push(null);
      else if (e.size < 0) throw new UnsupportedKeyTypeError(keyName(rest[j]!), e.type);
      else out.push(await digestLargeKey(run, rest[j]!, e.type, o));
    }
  }
  return out;
}

/**
 * Digests one large value across calls, each bounded by `chunkElements` elements (or `chunkBytes`
 * of a string). When the key is replaced by another type or deleted in between, it is looked at
 * afresh; null when it is gone.
 */
async function digestLargeKey(
  run: ScriptCall,
  key: string | Buffer,
  firstType: string,
  o: CompiledDigestOptions,
): Promise<Digest | null> {
  let type = firstType;
  for (let attempt = 0; attempt <= o.maxRestarts; attempt++) {
    const digest = await digestInChunks(run, key, type, o);
    if (digest !== null) return digest;
    const reply = await run(BATCH, [key], batchArgs(o));
    const [fresh] = parseBatchReply(reply, 1);
    if (!fresh || fresh.kind === 'missing') return null;
    if (fresh.kind === 'digest') return fresh.digest;
    if (fresh.size < 0) throw new UnsupportedKeyTypeError(keyName(key), fresh.type);
    type = fresh.type;
  }
  throw new KeyChangedDuringDigestError(keyName(key), o.maxRestarts + 1);
}

async function digestInChunks(
  run: ScriptCall,
  key: string | Buffer,
  type: string,
  o: CompiledDigestOptions,
): Promise<Digest | null> {
  const step =
    type === 'string' ? Math.max(1, Math.floor(o.chunkBytes / STRING_PIECE_BYTES)) : o.chunkElements;
  let cursor = '0';
  let acc = ZERO_DIGEST;
  let count = '0';
  for (;;) {
    const reply = parseChunkReply(
      await run(CHUNK, [key], [o.includeTtl ? '1' : '0', type, cursor, acc, count, step]),
    );
    if (reply.kind === 'done') return reply.digest;
    // Replaced or deleted between calls: the caller looks at it afresh.
    if (reply.kind === 'changed') return null;
    ({ cursor, acc, count } = reply);
  }
}

function batchArgs(o: CompiledDigestOptions): (string | number)[] {
  return [o.includeTtl ? '1' : '0', o.inlineMaxElements, o.callBudget, o.expectSmallStrings ? '1' : '0'];
}

function keyName(k: string | Buffer): string {
  return typeof k === 'string' ? k : k.toString('utf8');
}

/** Runs `fn` over `items` with at most `limit` in flight; the first rejection rejects the whole. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
