import { SLOT_COUNT } from '../cluster/model.js';
import { SnapshotFormatError, SnapshotMismatchError } from './errors.js';
import { isDigest, type Checksum, type SlotChecksum } from './fold.js';

/**
 * Checksums of a cluster at one moment, as stored in a JSON file. `includeTtl` is recorded because
 * digests taken with and without TTL presence never match.
 */
export interface ChecksumSnapshot {
  readonly version: 1;
  /** ISO 8601. */
  readonly takenAt: string;
  readonly includeTtl: boolean;
  /** Sorted by slot; an empty slot is listed with keys 0, a slot not checksummed is absent. */
  readonly slots: readonly SlotChecksum[];
}

/** The clock is a parameter so a snapshot is a pure function of its inputs. */
export function takeSnapshot(
  checksums: readonly SlotChecksum[],
  meta: { takenAt: Date; includeTtl: boolean },
): ChecksumSnapshot {
  return {
    version: 1,
    takenAt: meta.takenAt.toISOString(),
    includeTtl: meta.includeTtl,
    slots: [...checksums].sort((a, b) => a.slot - b.slot).map(({ slot, keys, xor }) => ({ slot, keys, xor })),
  };
}

export function parseSnapshot(json: unknown): ChecksumSnapshot {
  if (typeof json !== 'object' || json === null) throw new SnapshotFormatError('$', 'not an object');
  const o = json as Record<string, unknown>;
  if (o['version'] !== 1)
    throw new SnapshotFormatError('version', `expected 1, got ${JSON.stringify(o['version'])}`);
  const takenAt = o['takenAt'];
  if (typeof takenAt !== 'string' || Number.isNaN(Date.parse(takenAt))) {
    throw new SnapshotFormatError('takenAt', 'expected an ISO 8601 date');
  }
  const includeTtl = o['includeTtl'];
  if (typeof includeTtl !== 'boolean') throw new SnapshotFormatError('includeTtl', 'expected true or false');
  const rawSlots = o['slots'];
  if (!Array.isArray(rawSlots)) throw new SnapshotFormatError('slots', 'expected an array');
  const seen = new Set<number>();
  const slots = rawSlots.map((raw: unknown, i): SlotChecksum => {
    const at = `slots[${i}]`;
    if (typeof raw !== 'object' || raw === null) throw new SnapshotFormatError(at, 'not an object');
    const { slot, keys, xor } = raw as Record<string, unknown>;
    if (typeof slot !== 'number' || !Number.isInteger(slot) || slot < 0 || slot >= SLOT_COUNT) {
      throw new SnapshotFormatError(`${at}.slot`, `expected 0-${SLOT_COUNT - 1}`);
    }
    if (seen.has(slot)) throw new SnapshotFormatError(`${at}.slot`, `slot ${slot} listed twice`);
    seen.add(slot);
    if (typeof keys !== 'number' || !Number.isInteger(keys) || keys < 0) {
      throw new SnapshotFormatError(`${at}.keys`, 'expected a non-negative integer');
    }
    if (!isDigest(xor)) throw new SnapshotFormatError(`${at}.xor`, 'expected 16 lowercase hex characters');
    return { slot, keys, xor };
  });
  return { version: 1, takenAt, includeTtl, slots: slots.sort((a, b) => a.slot - b.slot) };
}

export interface SlotDifference {
  readonly slot: number;
  /** null: the slot is not in that snapshot. */
  readonly a: Checksum | null;
  readonly b: Checksum | null;
}

/** Slots whose checksum differs, or that only one snapshot covers; sorted by slot. */
export function compareSnapshots(a: ChecksumSnapshot, b: ChecksumSnapshot): SlotDifference[] {
  if (a.includeTtl !== b.includeTtl) {
    throw new SnapshotMismatchError(`includeTtl is ${a.includeTtl} in one and ${b.includeTtl} in the other`);
  }
  return compareChecksums(a.slots, b.slots);
}

export function compareChecksums(a: readonly SlotChecksum[], b: readonly SlotChecksum[]): SlotDifference[] {
  const byA = new Map(a.map((s) => [s.slot, s]));
  const byB = new Map(b.map((s) => [s.slot, s]));
  const out: SlotDifference[] = [];
  for (const slot of new Set([...byA.keys(), ...byB.keys()])) {
    const x = byA.get(slot);
    const y = byB.get(slot);
    if (x && y && x.keys === y.keys && x.xor === y.xor) continue;
    out.push({
      slot,
      a: x ? { keys: x.keys, xor: x.xor } : null,
      b: y ? { keys: y.keys, xor: y.xor } : null,
    });
  }
  return out.sort((p, q) => p.slot - q.slot);
}

export interface SnapshotComparison {
  readonly differences: SlotDifference[];
  /** Slots checksummed now that the earlier snapshot does not list: not compared. */
  readonly notInEarlier: number[];
}

/**
 * A run of `verify --against`: `now` against an `earlier` snapshot, over the slots this run was
 * asked to cover (`scope`; null: every slot). A slot outside the scope, or one the earlier snapshot
 * does not list (taken with --slots), is not compared, so checking a few slots against a full
 * snapshot, or everything against a partial one, shows only real differences. A slot the earlier
 * snapshot lists that this run should have covered but did not (unowned now) is a difference.
 */
export function compareWithSnapshot(
  earlier: ChecksumSnapshot,
  now: ChecksumSnapshot,
  scope: ReadonlySet<number> | null,
): SnapshotComparison {
  const covered = (c: SlotChecksum): boolean => scope === null || scope.has(c.slot);
  const listed = new Set(earlier.slots.map((c) => c.slot));
  const current = now.slots.filter(covered);
  return {
    differences: compareSnapshots(
      { ...earlier, slots: earlier.slots.filter(covered) },
      { ...now, slots: current.filter((c) => listed.has(c.slot)) },
    ),
    notInEarlier: current.filter((c) => !listed.has(c.slot)).map((c) => c.slot),
  };
}
