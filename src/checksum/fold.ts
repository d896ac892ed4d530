/**
 * Slot checksums as data: the XOR of the key digests of a slot plus the key count. Pure: no I/O,
 * so a checksum can be updated as keys change (`new = old ⊕ old_k ⊕ new_k`) and compared anywhere.
 *
 * A digest is 64 bits written as 16 lowercase hex characters: it survives JSON and log lines
 * unchanged, and is what the Lua side produces. XOR runs on two 32-bit halves, which is exact in JS
 * numbers and several times faster than BigInt for a million keys.
 */
export type Digest = string;

/** The XOR identity: the checksum of an empty slot. */
export const ZERO_DIGEST: Digest = '0000000000000000';

const DIGEST_RE = /^[0-9a-f]{16}$/;

export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && DIGEST_RE.test(value);
}

/** Key count and XOR of the key digests of some set of keys. */
export interface Checksum {
  readonly keys: number;
  readonly xor: Digest;
}

export interface SlotChecksum extends Checksum {
  readonly slot: number;
}

export const EMPTY_CHECKSUM: Checksum = { keys: 0, xor: ZERO_DIGEST };

function half(d: Digest, from: number): number {
  return parseInt(d.slice(from, from + 8), 16);
}

function hex32(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

export function xorDigest(a: Digest, b: Digest): Digest {
  return hex32(half(a, 0) ^ half(b, 0)) + hex32(half(a, 8) ^ half(b, 8));
}

export function foldDigests(digests: Iterable<Digest>): Checksum {
  let hi = 0;
  let lo = 0;
  let keys = 0;
  for (const d of digests) {
    hi ^= half(d, 0);
    lo ^= half(d, 8);
    keys++;
  }
  return { keys, xor: hex32(hi) + hex32(lo) };
}

export function addKey(sum: Checksum, digest: Digest): Checksum {
  return { keys: sum.keys + 1, xor: xorDigest(sum.xor, digest) };
}

/** The caller guarantees `digest` is in `sum`; XOR cannot tell, so the count is the only guard. */
export function removeKey(sum: Checksum, digest: Digest): Checksum {
  return { keys: sum.keys - 1, xor: xorDigest(sum.xor, digest) };
}

/** A key's value changed: `new = old ⊕ old_k ⊕ new_k`. */
export function replaceKey(sum: Checksum, oldDigest: Digest, newDigest: Digest): Checksum {
  return { keys: sum.keys, xor: xorDigest(xorDigest(sum.xor, oldDigest), newDigest) };
}

export function sameChecksum(a: Checksum, b: Checksum): boolean {
  return a.keys === b.keys && a.xor === b.xor;
}
