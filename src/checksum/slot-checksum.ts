import { Command, type Redis } from 'ioredis';
import { SLOT_COUNT, type SlotRange } from '../cluster/model.js';
import { InvalidOptionError } from '../errors/index.js';
import { SlotOwnershipError, SlotsMovingError } from './errors.js';
import { SLOT_FOLD_SCRIPT } from './digest-lua.js';
import { foldDigests, type Checksum, type Digest, type SlotChecksum } from './fold.js';
import { forEachLimited, keyDigests } from './key-digests.js';
import { compileDigestOptions, type CompiledDigestOptions, type DigestOptions } from './options.js';
import { parseCount, parseFoldReply, parseKeyList } from './parse-replies.js';
import { classifyRedisError } from '../cluster/redis-error-kind.js';
import { luaScript, scriptCall } from '../cluster/run-script.js';

const SLOT_FOLD = luaScript(SLOT_FOLD_SCRIPT);

/** Keys GETKEYSINSLOT is first asked for; most slots hold fewer, so one round trip lists them. */
const FIRST_PAGE = 1000;

/**
 * Every key name in `slot` on this node, as raw bytes. GETKEYSINSLOT returns the first N keys and
 * has no cursor, so a slot larger than the first page is listed whole with N = COUNTKEYSINSLOT plus
 * slack for keys written meanwhile; memory is therefore proportional to the largest slot.
 */
export async function keysInSlot(redis: Redis, slot: number): Promise<Buffer[]> {
  let ask = FIRST_PAGE;
  for (;;) {
    // A Command with a null reply encoding, not callBuffer: ioredis's auto-pipelining drops the
    // first argument of callBuffer (sends `GETKEYSINSLOT ...` without `CLUSTER`).
    const keys = parseKeyList(
      await redis.sendCommand(new Command('CLUSTER', ['GETKEYSINSLOT', slot, ask], { replyEncoding: null })),
    );
    if (keys.length < ask) return keys;
    const count = parseCount('CLUSTER COUNTKEYSINSLOT', await redis.call('CLUSTER', 'COUNTKEYSINSLOT', slot));
    ask = Math.max(ask * 2, count + Math.ceil(count / 10) + 16);
  }
}

/**
 * Digest of every key in `slot` on this node, keyed by name. Names are decoded as UTF-8 for the
 * map; digests are taken over the raw bytes. `asking`: the node is importing the slot.
 */
export async function slotKeyDigests(
  redis: Redis,
  slot: number,
  options: DigestOptions | CompiledDigestOptions = {},
  asking = false,
): Promise<Map<string, Digest>> {
  const o = compileDigestOptions(options);
  const keys = await keysInSlot(redis, slot);
  const digests = await keyDigests(redis, keys, o, asking);
  const out = new Map<string, Digest>();
  digests.forEach((d, i) => {
    // null: deleted since GETKEYSINSLOT listed it; it is no longer part of the slot.
    if (d !== null) out.set(keys[i]!.toString('utf8'), d);
  });
  return out;
}

/**
 * `{ slot, keys, xor }` of one slot on this node. A slot of up to `batchKeys` keys within the call
 * budget is folded on the node in one atomic call; a larger one key by key, which is not atomic:
 * keys written meanwhile may or may not count.
 */
export async function slotChecksum(
  redis: Redis,
  slot: number,
  options: DigestOptions | CompiledDigestOptions = {},
  asking = false,
): Promise<SlotChecksum> {
  const o = compileDigestOptions(options);
  const folded = await slotFold(redis, slot, o, asking);
  if (folded) return { slot, ...folded };
  const digests = await slotKeyDigests(redis, slot, o, asking);
  return { slot, ...foldDigests(digests.values()) };
}

/**
 * The slot's checksum folded on the node in one call (see SLOT_FOLD_SCRIPT), or null when the slot
 * holds more than `batchKeys` keys, a value over `inlineMaxElements`, or more work than `callBudget`:
 * the caller then digests it key by key.
 */
export async function slotFold(
  redis: Redis,
  slot: number,
  options: DigestOptions | CompiledDigestOptions = {},
  asking = false,
): Promise<Checksum | null> {
  const o = compileDigestOptions(options);
  return parseFoldReply(
    await scriptCall(redis, asking)(
      SLOT_FOLD,
      [],
      [
        slot,
        o.includeTtl ? '1' : '0',
        o.batchKeys,
        o.inlineMaxElements,
        o.callBudget,
        o.expectSmallStrings ? '1' : '0',
      ],
    ),
  );
}

/** Rounds of reads of an open slot before its keys are taken to be moving, and the pause after each. */
const OPEN_SLOT_ROUNDS = 5;
const OPEN_SLOT_PAUSE_MS = 100;

/**
 * Checksum of a slot that is open, so that its keys may lie on the owner and on nodes importing it
 * (a move stopped halfway, or one under way), key by key:
 * - the owner's keys, as clients read them: a key on both sides (a MIGRATE that timed out after the
 *   target restored it) is the owner's until the move finishes;
 * - then each importer's other keys, read with ASKING;
 * - then the owner's key list again. MIGRATE deletes a key from the owner only after the target
 *   holds it, blocking the owner in between, so when the owner still lists the same keys, no key
 *   left it between the two lists and each key was counted once.
 * When the lists differ, or a read is redirected (a listed key expired, or moved), the round is
 * repeated after a pause (which also lets Redis expire such keys), and a slot whose keys keep
 * changing is SlotsMovingError rather than a difference that is only a move. Keys moved from one
 * importer to another in between are not detected; nothing but a hand-made repair does that.
 */
export async function openSlotChecksum(
  owner: Redis,
  importers: readonly Redis[],
  slot: number,
  options: DigestOptions | CompiledDigestOptions = {},
): Promise<SlotChecksum> {
  const o = compileDigestOptions(options);
  // latin1 maps bytes to characters one to one: binary key names compare exactly.
  const names = (keys: readonly Buffer[]): string[] => keys.map((k) => k.toString('latin1'));
  for (let round = 1; ; round++) {
    try {
      const ownerKeys = await keysInSlot(owner, slot);
      const digests = await keyDigests(owner, ownerKeys, o);
      const onOwner = new Set(names(ownerKeys));
      const seen = new Set(onOwner);
      for (const importer of importers) {
        const extra = (await keysInSlot(importer, slot)).filter((k) => !seen.has(k.toString('latin1')));
        for (const name of names(extra)) seen.add(name);
        digests.push(...(await keyDigests(importer, extra, o, true)));
      }
      const ownerKeysAfter = names(await keysInSlot(owner, slot));
      const unchanged =
        ownerKeysAfter.length === onOwner.size && ownerKeysAfter.every((name) => onOwner.has(name));
      // A null digest: a key listed, then gone before it was read; that too is a change.
      if (unchanged && digests.every((d) => d !== null)) {
        return { slot, ...foldDigests(digests.filter((d): d is Digest => d !== null)) };
      }
    } catch (e) {
      if (!isSlotInMotion(e)) throw e;
    }
    if (round === OPEN_SLOT_ROUNDS) break;
    await new Promise((r) => setTimeout(r, OPEN_SLOT_PAUSE_MS * round));
  }
  throw new SlotsMovingError(
    [slot],
    `its keys changed between reads ${OPEN_SLOT_ROUNDS} times: a move under way, or keys being deleted or expiring`,
  );
}

/**
 * A script read a key the node no longer serves: in a MIGRATING slot, a listed key that expired or
 * moved away is redirected (ASK, or TRYAGAIN for a multi-key read), which a script reports as
 * access to a non-local key.
 */
function isSlotInMotion(e: unknown): boolean {
  const kind = classifyRedisError(e);
  return (
    kind === 'ASK' ||
    kind === 'MOVED' ||
    kind === 'TRYAGAIN' ||
    (e instanceof Error && e.message.includes('non local key'))
  );
}

/** A master to checksum: its connection and the slots it serves (from the topology). */
export interface ChecksumNode {
  readonly id: string;
  readonly redis: Redis;
  readonly slots: readonly SlotRange[];
}

export interface ChecksumProgress {
  readonly slotsDone: number;
  readonly slotsTotal: number;
  readonly keysDone: number;
  /** The slot just finished. */
  readonly last: SlotChecksum;
  readonly nodeId: string;
}

export interface ClusterChecksumOptions extends DigestOptions {
  /** Slots to checksum. @defaultValue every slot served by one of the nodes */
  slots?: Iterable<number>;
  /** Called after each slot, in completion order. */
  onProgress?: (progress: ChecksumProgress) => void;
  /** Slots checksummed at once on each node; overlaps round trips (most slots are a GETKEYSINSLOT and one EVALSHA). @defaultValue 8 */
  slotConcurrency?: number;
  /**
   * Open slots: slot → connections to the nodes importing it (empty when only its owner has it
   * open). Such a slot is checksummed over its owner and those nodes (see openSlotChecksum).
   * @defaultValue none
   */
  importers?: ReadonlyMap<number, readonly Redis[]>;
}

/**
 * Checksums of the chosen slots, each taken on the master that serves it, nodes in parallel.
 * Sorted by slot. Fails before any I/O when a chosen slot has no owner among `nodes`.
 */
export async function clusterChecksums(
  nodes: readonly ChecksumNode[],
  options: ClusterChecksumOptions = {},
): Promise<SlotChecksum[]> {
  const digestOptions = compileDigestOptions(options);
  const slotConcurrency = options.slotConcurrency ?? 8;
  if (!Number.isInteger(slotConcurrency) || slotConcurrency < 1) {
    throw new InvalidOptionError('slotConcurrency', `must be a positive integer, got ${slotConcurrency}`);
  }
  const work = assignSlots(nodes, options.slots);
  const slotsTotal = work.reduce((n, w) => n + w.slots.length, 0);
  let slotsDone = 0;
  let keysDone = 0;
  const results: SlotChecksum[] = [];
  await Promise.all(
    work.map(({ node, slots }) =>
      forEachLimited(slots, slotConcurrency, async (slot) => {
        const sum = await checksumOneSlot(node.redis, slot, options.importers?.get(slot), digestOptions);
        results.push(sum);
        slotsDone++;
        keysDone += sum.keys;
        options.onProgress?.({ slotsDone, slotsTotal, keysDone, last: sum, nodeId: node.id });
      }),
    ),
  );
  return results.sort((a, b) => a.slot - b.slot);
}

/**
 * A slot that opens while it is read can fail the read with a redirect; that is the move, named as
 * such. (A slot that opens and loses keys without a failed read is caught by the caller, which
 * compares the topology before and after.)
 */
async function checksumOneSlot(
  owner: Redis,
  slot: number,
  importers: readonly Redis[] | undefined,
  o: CompiledDigestOptions,
): Promise<SlotChecksum> {
  if (importers) return openSlotChecksum(owner, importers, slot, o);
  try {
    return await slotChecksum(owner, slot, o);
  } catch (e) {
    if (isSlotInMotion(e)) throw new SlotsMovingError([slot], 'its owner redirected a read');
    throw e;
  }
}

/** Pure: which node checksums which slot. */
export function assignSlots(
  nodes: readonly ChecksumNode[],
  wanted?: Iterable<number>,
): { node: ChecksumNode; slots: number[] }[] {
  const owner = new Array<number>(SLOT_COUNT).fill(-1);
  const twice = new Set<number>();
  nodes.forEach((n, i) => {
    for (const r of n.slots) {
      for (let s = r.start; s <= r.end; s++) {
        if (owner[s] !== -1 && owner[s] !== i) twice.add(s);
        owner[s] = i;
      }
    }
  });
  const chosen = wanted === undefined ? owner.flatMap((o, s) => (o === -1 ? [] : [s])) : [...new Set(wanted)];
  const bad = chosen.filter((s) => !Number.isInteger(s) || s < 0 || s >= SLOT_COUNT);
  if (bad.length > 0)
    throw new InvalidOptionError(
      'slots',
      `not slot numbers (0-${SLOT_COUNT - 1}): ${bad.slice(0, 10).join(',')}`,
    );
  const conflicting = chosen.filter((s) => twice.has(s)).sort((a, b) => a - b);
  if (conflicting.length > 0) throw new SlotOwnershipError(conflicting, 'claimed-twice');
  const unowned = chosen.filter((s) => owner[s] === -1).sort((a, b) => a - b);
  if (unowned.length > 0) throw new SlotOwnershipError(unowned, 'unowned');
  const perNode = nodes.map((node) => ({ node, slots: [] as number[] }));
  for (const s of chosen.sort((a, b) => a - b)) perNode[owner[s]!]!.slots.push(s);
  return perNode.filter((w) => w.slots.length > 0);
}
