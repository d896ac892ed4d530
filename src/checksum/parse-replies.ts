import { UnexpectedReplyError } from '../errors/index.js';
import { isDigest, type Checksum, type Digest } from './fold.js';

/** One entry of a digest-batch reply. */
export type BatchEntry =
  | { readonly kind: 'digest'; readonly digest: Digest }
  | { readonly kind: 'missing' }
  | { readonly kind: 'large'; readonly type: string; readonly size: number };

export function parseBatchReply(reply: unknown, keysSent: number): BatchEntry[] {
  if (!Array.isArray(reply)) throw new UnexpectedReplyError('digest-batch', 'not an array');
  if (reply.length < 1 || reply.length > keysSent) {
    throw new UnexpectedReplyError('digest-batch', `${reply.length} entries for ${keysSent} keys`);
  }
  return reply.map((e: unknown, i): BatchEntry => {
    if (isDigest(e)) return { kind: 'digest', digest: e };
    if (e === 0) return { kind: 'missing' };
    if (Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && typeof e[1] === 'number') {
      return { kind: 'large', type: e[0], size: e[1] };
    }
    throw new UnexpectedReplyError('digest-batch', `entry ${i}: ${JSON.stringify(e)}`);
  });
}

export type ChunkReply =
  | { readonly kind: 'done'; readonly digest: Digest }
  | { readonly kind: 'more'; readonly cursor: string; readonly acc: Digest; readonly count: string }
  | { readonly kind: 'changed' };

export function parseChunkReply(reply: unknown): ChunkReply {
  if (Array.isArray(reply)) {
    const [tag, a, b, c] = reply as unknown[];
    if (tag === 'done' && isDigest(a)) return { kind: 'done', digest: a };
    if (tag === 'changed') return { kind: 'changed' };
    if (tag === 'more' && typeof a === 'string' && isDigest(b) && typeof c === 'string' && /^\d+$/.test(c)) {
      return { kind: 'more', cursor: a, acc: b, count: c };
    }
  }
  throw new UnexpectedReplyError('digest-chunk', JSON.stringify(reply));
}

/** A slot-fold reply: the slot's checksum, or null when it was too large to fold in one call. */
export function parseFoldReply(reply: unknown): Checksum | null {
  if (Array.isArray(reply) && reply.length === 2) {
    const [a, b] = reply as unknown[];
    if (a === 'large' && typeof b === 'number') return null;
    if (typeof a === 'number' && Number.isInteger(a) && a >= 0 && isDigest(b)) return { keys: a, xor: b };
  }
  throw new UnexpectedReplyError('slot-fold', JSON.stringify(reply));
}

/** CLUSTER GETKEYSINSLOT read with callBuffer: key names as raw bytes. */
export function parseKeyList(reply: unknown): Buffer[] {
  if (!Array.isArray(reply) || !reply.every((k) => Buffer.isBuffer(k))) {
    throw new UnexpectedReplyError('CLUSTER GETKEYSINSLOT', 'not an array of bulk strings');
  }
  return reply;
}

export function parseCount(command: string, reply: unknown): number {
  if (typeof reply !== 'number' || !Number.isInteger(reply) || reply < 0) {
    throw new UnexpectedReplyError(command, `expected a non-negative integer, got ${JSON.stringify(reply)}`);
  }
  return reply;
}
