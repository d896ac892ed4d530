import calculateSlot from 'cluster-key-slot';
import { SLOT_COUNT } from './model.js';

/** CRC16-CCITT (XMODEM), the hash Redis Cluster slots keys by. */
const CRC16_TABLE = Array.from({ length: 256 }, (_, byte) => {
  let crc = byte << 8;
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  return crc;
});

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ b) & 0xff]!;
  return crc;
}

const OPEN = 0x7b; // {
const CLOSE = 0x7d; // }

/**
 * The hash slot Redis puts a key in. cluster-key-slot (ioredis's) answers most keys, and this uses
 * it when a key has no `{`; but it gets keys with an empty tag followed by another `}` wrong: Redis
 * hashes all of `x{}y}z` (the first `{}` is empty, so there is no tag) where cluster-key-slot hashes
 * `y`. Such a key would be checked against the wrong slot's keys (a CROSSSLOT verification) and its
 * writes never excused, so keys with a brace follow Redis's rule here (cluster.c keyHashSlot).
 */
export function keySlot(key: string | Buffer): number {
  if (typeof key === 'string' && !key.includes('{')) return calculateSlot(key);
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  const open = bytes.indexOf(OPEN);
  if (open >= 0) {
    const close = bytes.indexOf(CLOSE, open + 1);
    if (close > open + 1) return crc16(bytes.subarray(open + 1, close)) & (SLOT_COUNT - 1);
  }
  return crc16(bytes) & (SLOT_COUNT - 1);
}
