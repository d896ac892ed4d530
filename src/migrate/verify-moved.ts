import type { Redis } from 'ioredis';
import { foldDigests, keyDigests, sameChecksum, slotFold, type Digest } from '../checksum/index.js';

export interface MoveCheck {
  /** Keys whose target copy is gone or differs from what MIGRATE carried, with no client write seen. */
  readonly mismatches: Array<{ key: string; problem: 'missing' | 'changed' }>;
  /** Keys a client wrote on the target while the slot moved: they may differ without being lost. */
  readonly writtenDuringMove: number;
}

/**
 * Compares what MIGRATE carried (digests taken atomically with the move on the source) with what
 * the target holds now, after the slot is closed. A key a client wrote on the target meanwhile
 * (seen by WriteWatcher) is counted, not reported.
 * First the slot's checksum on the target against the fold of `expected`: when they agree, every
 * key is there unchanged and nothing else is in the slot, with no key name sent. Only a slot that
 * differs (a client wrote to it, a key was lost) or is too large to fold in one call is compared
 * key by key.
 */
export async function verifyMovedKeys(
  target: Redis,
  slot: number,
  expected: ReadonlyMap<string, Digest>,
  /** Keys clients wrote while the slot moved; asked only after the target was read, so it covers the read. */
  writtenWhileMoving: () => Promise<ReadonlyMap<string, number>>,
): Promise<MoveCheck> {
  if (expected.size === 0) {
    await writtenWhileMoving();
    return { mismatches: [], writtenDuringMove: 0 };
  }
  // Small strings by and large: keys bigger than 1 MB moved alone, and MIGRATE has just read each whole.
  const whole = await slotFold(target, slot, { expectSmallStrings: true });
  if (whole && sameChecksum(whole, foldDigests(expected.values()))) {
    await writtenWhileMoving();
    return { mismatches: [], writtenDuringMove: 0 };
  }
  const keys = [...expected.keys()];
  const actual = await keyDigests(target, keys, { expectSmallStrings: true });
  const written = await writtenWhileMoving();
  const mismatches: Array<{ key: string; problem: 'missing' | 'changed' }> = [];
  let writtenDuringMove = 0;
  keys.forEach((key, i) => {
    const now = actual[i] ?? null;
    if (now === expected.get(key)) return;
    if (written.has(key)) writtenDuringMove++;
    else mismatches.push({ key, problem: now === null ? 'missing' : 'changed' });
  });
  return { mismatches, writtenDuringMove };
}
