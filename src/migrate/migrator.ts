import type { Logger } from 'pino';
import type { NodeAddress, NodePool } from '../cluster/index.js';
import { BatchSizer, DEFAULT_BATCH_SIZER_OPTIONS, type BatchSizerOptions } from './batch-sizer.js';
import {
  migrateSlot,
  type KeyComparer,
  type MigrateSlotContext,
  type SlotMoveResult,
  type SlotMoveSpec,
} from './migrate-slot.js';
import { compareBusyKeys } from './compare-busy-keys.js';
import { OwnerAnnouncer } from './owner-announcer.js';
import { CloseTurns, type SharedCloseTurns } from './close-turns.js';
import { GroupMover } from './group-mover.js';
import { DEFAULT_BIG_KEY_BYTES, DEFAULT_MAX_BATCH_BYTES } from './keys-to-move.js';
import { FailoverGuard } from './failover-guard.js';

export interface MigratorOptions {
  /** @defaultValue 10000 */
  migrateTimeoutMs: number;
  batch: BatchSizerOptions;
  /** Announce new owners to the other masters in groups of this many slots. @defaultValue 64 */
  announceGroup: number;
  /** Digest each batch atomically with its MIGRATE so the target can be checked. @defaultValue true */
  verify: boolean;
  /**
   * Most slots of one node pair moved together, one pipeline per protocol step (see GroupMover);
   * 1 moves every slot on its own with `migrateSlot`. @defaultValue 32
   */
  groupSlots: number;
  /** Keys of at least this many bytes move alone and are reported. @defaultValue 1000000 */
  bigKeyBytes?: number;
  /** Most bytes (MEMORY USAGE) of ordinary keys one MIGRATE carries. @defaultValue 4 MiB */
  maxBatchBytes?: number;
}

export const DEFAULT_MIGRATOR_OPTIONS: MigratorOptions = {
  migrateTimeoutMs: 10_000,
  batch: DEFAULT_BATCH_SIZER_OPTIONS,
  announceGroup: 64,
  verify: true,
  groupSlots: 32,
  maxBatchBytes: DEFAULT_MAX_BATCH_BYTES,
};

/**
 * The move settings an operator sets: `apply`'s and `worker`'s flags, the daemon config's `moves`.
 * One shape for the three, so they cannot drift apart.
 */
export interface MoveSettings {
  readonly verify: boolean;
  readonly latencyBudgetMs: number;
  readonly maxBatchBytes: number;
  readonly migrateTimeoutMs: number;
  readonly groupSlots: number;
}

export const DEFAULT_MOVE_SETTINGS: MoveSettings = {
  verify: DEFAULT_MIGRATOR_OPTIONS.verify,
  latencyBudgetMs: DEFAULT_MIGRATOR_OPTIONS.batch.targetMs,
  maxBatchBytes: DEFAULT_MAX_BATCH_BYTES,
  migrateTimeoutMs: DEFAULT_MIGRATOR_OPTIONS.migrateTimeoutMs,
  groupSlots: DEFAULT_MIGRATOR_OPTIONS.groupSlots,
};

/** The migrator options for `settings`, the rest at their defaults. */
export function migratorOptionsFor(settings: MoveSettings): MigratorOptions {
  return {
    ...DEFAULT_MIGRATOR_OPTIONS,
    migrateTimeoutMs: settings.migrateTimeoutMs,
    batch: { ...DEFAULT_MIGRATOR_OPTIONS.batch, targetMs: settings.latencyBudgetMs },
    verify: settings.verify,
    groupSlots: settings.groupSlots,
    maxBatchBytes: settings.maxBatchBytes,
  };
}

/** The long-lived pieces `migrateSlot` shares across slots: batch sizers per source, the announcer. */
export class Migrator {
  private readonly sizers = new Map<string, BatchSizer>();
  private readonly announcer: OwnerAnnouncer;
  private readonly groups: GroupMover | null;
  private readonly failoverGuard: FailoverGuard;
  private readonly closeTurns: CloseTurns;

  constructor(
    private readonly pool: NodePool,
    masters: ReadonlyArray<NodeAddress & { id: string }>,
    private readonly auth: { user?: string; password?: string },
    private readonly options: MigratorOptions = DEFAULT_MIGRATOR_OPTIONS,
    private readonly compareKeys?: KeyComparer,
    private readonly log?: Logger,
    /** Close turns shared with other processes, while there are any (see CloseTurns). */
    sharedCloseTurns?: () => SharedCloseTurns | null,
  ) {
    this.closeTurns = new CloseTurns(sharedCloseTurns);
    this.failoverGuard = new FailoverGuard(pool);
    this.announcer = new OwnerAnnouncer(
      pool,
      masters,
      { groupSize: options.announceGroup, maxDelayMs: 20 },
      log,
    );
    this.groups =
      options.groupSlots > 1
        ? new GroupMover(this.context(), options.verify, { maxGroup: options.groupSlots, groupsInFlight: 2 })
        : null;
  }

  private context(): Omit<MigrateSlotContext, 'onMoved' | 'digests'> {
    return {
      pool: this.pool,
      auth: this.auth,
      announce: (slot, target, exclude) => this.announcer.announce(slot, target, exclude),
      sizerFor: (id) => {
        let s = this.sizers.get(id);
        if (!s) this.sizers.set(id, (s = new BatchSizer(this.options.batch)));
        return s;
      },
      compareKeys: this.compareKeys ?? compareBusyKeys,
      migrateTimeoutMs: this.options.migrateTimeoutMs,
      bigKeyBytes: this.options.bigKeyBytes ?? DEFAULT_BIG_KEY_BYTES,
      maxBatchBytes: this.options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES,
      failoverGuard: this.failoverGuard,
      closeTurns: this.closeTurns,
      log: this.log,
    };
  }

  updateMasters(masters: ReadonlyArray<NodeAddress & { id: string }>): void {
    this.announcer.setMasters(masters);
  }

  migrate(move: SlotMoveSpec, onMoved?: MigrateSlotContext['onMoved']): Promise<SlotMoveResult> {
    if (this.groups) return this.groups.move(move, onMoved);
    return migrateSlot(
      { ...this.context(), onMoved, digests: onMoved !== undefined && this.options.verify },
      move,
    );
  }

  flush(): Promise<void> {
    return this.announcer.flush();
  }
}
