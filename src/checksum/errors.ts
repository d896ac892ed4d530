import { SlotshiftError } from '../errors/index.js';

/** A large key was replaced or deleted on every attempt to digest it in chunks. */
export class KeyChangedDuringDigestError extends SlotshiftError {
  readonly code = 'KEY_CHANGED_DURING_DIGEST';
  override readonly retryable = true;
  constructor(
    readonly key: string,
    readonly attempts: number,
  ) {
    super(
      `key "${key}" changed type or vanished during each of ${attempts} chunked digests; it is being written heavily — verify again when writes to it calm down`,
    );
  }
}

/** The key holds a type the digest does not know (a module type); it cannot be verified. */
export class UnsupportedKeyTypeError extends SlotshiftError {
  readonly code = 'UNSUPPORTED_KEY_TYPE';
  constructor(
    readonly key: string,
    readonly type: string,
  ) {
    super(
      `key "${key}" has type "${type}", which slotshift cannot digest (only string, hash, set, zset, list and stream); exclude its slot from verification`,
    );
  }
}

/** Slots were asked for that no given node serves, or that two given nodes both claim. */
export class SlotOwnershipError extends SlotshiftError {
  readonly code = 'SLOT_OWNERSHIP';
  override readonly retryable = true;
  constructor(
    readonly slots: readonly number[],
    readonly reason: 'unowned' | 'claimed-twice',
  ) {
    const sample = slots.slice(0, 10).join(',') + (slots.length > 10 ? ',…' : '');
    super(
      reason === 'unowned'
        ? `no node given serves slots ${sample}; re-read the topology (a migration may be in flight) and checksum again`
        : `slots ${sample} are claimed by two nodes: a move is closing them (verify again when no rebalance is running, see slotshift status), or one was left half-closed (slotshift fix closes it)`,
    );
  }
}

/** A snapshot file is not in the format `takeSnapshot` writes. */
export class SnapshotFormatError extends SlotshiftError {
  readonly code = 'SNAPSHOT_FORMAT';
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(
      `invalid checksum snapshot at ${field}: ${detail}; use a file written by slotshift checksum snapshots (version 1)`,
    );
  }
}

/** Two snapshots were taken with different digest options and cannot be compared. */
export class SnapshotMismatchError extends SlotshiftError {
  readonly code = 'SNAPSHOT_MISMATCH';
  constructor(detail: string) {
    super(`snapshots are not comparable: ${detail}; take both with the same options`);
  }
}

/**
 * Keys of these slots moved between nodes while they were checksummed (a rebalance is running), so
 * the checksums would mix states from before and after the move and could show a difference that is
 * only the move.
 */
export class SlotsMovingError extends SlotshiftError {
  readonly code = 'SLOTS_MOVING';
  override readonly retryable = true;
  constructor(
    readonly slots: readonly number[],
    detail: string,
  ) {
    const sample = slots.slice(0, 10).join(',') + (slots.length > 10 ? ',…' : '');
    super(
      `slots ${sample} moved while being checksummed (${detail}); verify again when no rebalance is running (slotshift status shows open slots), or close a slot left open with slotshift fix`,
    );
  }
}
