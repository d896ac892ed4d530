import { valueFor, type LocalCluster } from '../src/localcluster/index.js';
import { SlotWriter, keyInSlot, mastersBySlot, type LoadedData } from './slot-writer.js';

export interface MixedLoadOptions {
  /** Total keys, the big keys included. */
  keys: number;
  /** Size of each plain string value. */
  valueBytes: number;
}

type SmallKind = 'string' | 'hash' | 'set' | 'zset' | 'list' | 'stream' | 'ttl';

/**
 * Key `i` is of kind `KIND_CYCLE[i % 25]`: 60% strings, 8% each hash, set, zset and list, 4% streams
 * and 4% strings with a TTL. Interleaving the kinds spreads each of them over every slot.
 */
const KIND_CYCLE: readonly SmallKind[] = [
  ...new Array<SmallKind>(15).fill('string'),
  'hash',
  'hash',
  'set',
  'set',
  'zset',
  'zset',
  'list',
  'list',
  'stream',
  'ttl',
];

/** Fields, members or elements of a small collection; a small stream gets half as many entries. */
const ELEMENTS = 10;
const ELEMENT_BYTES = 20;
/** Long enough that no key expires during a run, so the number of keys with a TTL must not change. */
const TTL_SECONDS = 3600;

const BIG_HASH_FIELDS = 200_000;
const BIG_ZSET_MEMBERS = 100_000;
const BIG_STRING_BYTES = 5 * 1024 * 1024;
/** Fields or members per command while writing a big collection, so no single command is huge. */
const BIG_CHUNK = 1000;

/**
 * The `mixed` scenario's data: `keys - 3` small keys of every type (strings named `load:<i>` like
 * the other scenarios, so the probe's GETs find strings and never another type) plus three big keys:
 * a hash of 200,000 fields, a zset of 100,000 members and a 5 MiB string.
 *
 * Each big key goes to a different source master, in the slot one eighth into its slots: redis-cli's
 * rebalance hands over each source's lowest slots first, so that slot moves when a source gives away
 * half its slots (scale-out 3 -> 6). slotshift gives away the cheapest slots (fewest bytes), so it
 * moves these last; the bench reports which big keys each contender moved.
 */
export async function loadMixed(cluster: LocalCluster, o: MixedLoadOptions): Promise<LoadedData> {
  const writer = await SlotWriter.open(cluster);
  try {
    const sources = mastersBySlot(writer.owners);
    const slotFor = (k: number): number => {
      const { slots } = sources[k % sources.length]!;
      return slots[Math.floor(slots.length / 8)]!;
    };
    const bigKeys = [
      keyInSlot('big:hash', slotFor(0)),
      keyInSlot('big:zset', slotFor(1)),
      keyInSlot('big:string', slotFor(2)),
    ];
    const small = Math.max(0, o.keys - bigKeys.length);
    for (let i = 0; i < small; i++) await writeSmall(writer, KIND_CYCLE[i % KIND_CYCLE.length]!, i, o);
    await writeBigHash(writer, bigKeys[0]!);
    await writeBigZset(writer, bigKeys[1]!);
    const value = valueFor(bigKeys[2]!, BIG_STRING_BYTES);
    await writer.write(bigKeys[2]!, value.length, (p) => p.set(bigKeys[2]!, value));
    await writer.flush();
    return { payloadBytes: writer.payloadBytes, bigKeys };
  } finally {
    writer.close();
  }
}

/** Element `j` of a small collection: unique within the key through its `j:` prefix. */
function element(key: string, j: number): string {
  return `${j}:${valueFor(key, ELEMENT_BYTES)}`;
}

function elementsOf(key: string, count: number): string[] {
  return Array.from({ length: count }, (_, j) => element(key, j));
}

function lengthOf(strings: readonly string[]): number {
  return strings.reduce((n, s) => n + s.length, 0);
}

async function writeSmall(
  writer: SlotWriter,
  kind: SmallKind,
  i: number,
  o: MixedLoadOptions,
): Promise<void> {
  switch (kind) {
    case 'string': {
      const key = `load:${i}`;
      return writer.write(key, o.valueBytes, (p) => p.set(key, valueFor(key, o.valueBytes)));
    }
    case 'ttl': {
      const key = `ttl:${i}`;
      return writer.write(key, o.valueBytes, (p) =>
        p.set(key, valueFor(key, o.valueBytes), 'EX', TTL_SECONDS),
      );
    }
    case 'hash': {
      const key = `hash:${i}`;
      const fields = Object.fromEntries(elementsOf(key, ELEMENTS).map((v, j) => [`f${j}`, v]));
      const bytes = Object.entries(fields).reduce((n, [f, v]) => n + f.length + v.length, 0);
      return writer.write(key, bytes, (p) => p.hset(key, fields));
    }
    case 'set': {
      const key = `set:${i}`;
      const members = elementsOf(key, ELEMENTS);
      return writer.write(key, lengthOf(members), (p) => p.sadd(key, ...members));
    }
    case 'zset': {
      const key = `zset:${i}`;
      const members = elementsOf(key, ELEMENTS);
      return writer.write(key, lengthOf(members), (p) => p.zadd(key, ...members.flatMap((m, j) => [j, m])));
    }
    case 'list': {
      const key = `list:${i}`;
      const items = elementsOf(key, ELEMENTS);
      return writer.write(key, lengthOf(items), (p) => p.rpush(key, ...items));
    }
    case 'stream': {
      // Explicit entry ids instead of `*`, so every contender's cluster holds identical streams.
      const key = `stream:${i}`;
      for (let j = 0; j < ELEMENTS / 2; j++) {
        const value = element(key, j);
        const bytes = 'f'.length + value.length + 'n'.length + String(j).length;
        await writer.write(key, bytes, (p) => p.xadd(key, `${j + 1}-0`, 'f', value, 'n', String(j)));
      }
      return;
    }
  }
}

async function writeBigHash(writer: SlotWriter, key: string): Promise<void> {
  for (let from = 0; from < BIG_HASH_FIELDS; from += BIG_CHUNK) {
    const fields: Record<string, string> = {};
    let bytes = 0;
    for (let j = from; j < Math.min(BIG_HASH_FIELDS, from + BIG_CHUNK); j++) {
      const value = element(key, j);
      fields[`f${j}`] = value;
      bytes += `f${j}`.length + value.length;
    }
    await writer.write(key, bytes, (p) => p.hset(key, fields));
  }
}

async function writeBigZset(writer: SlotWriter, key: string): Promise<void> {
  for (let from = 0; from < BIG_ZSET_MEMBERS; from += BIG_CHUNK) {
    const members = Array.from(
      { length: Math.min(BIG_ZSET_MEMBERS, from + BIG_CHUNK) - from },
      (_, k) => `m${from + k}`,
    );
    await writer.write(key, lengthOf(members), (p) =>
      p.zadd(key, ...members.flatMap((m, k) => [from + k, m])),
    );
  }
}
