/**
 * The daemon's lifecycle. `starting` until the first round; `idle` when there is nothing to move
 * (or another daemon holds the lease, or planning is held by POST /cancel / a paused queue);
 * `waiting-window` when a plan's window is closed; `enqueued` while a plan's slots move;
 * `draining` while a cancelled plan's (or, on shutdown, the workers') slots in flight finish, or,
 * for up to 30 s, while slots found open before planning close (a lost plan's last slots);
 * `stopped` once everything is closed.
 */
export type DaemonState = 'starting' | 'idle' | 'waiting-window' | 'enqueued' | 'draining' | 'stopped';

export interface MasterSummary {
  readonly id: string;
  readonly addr: string;
  readonly slots: number;
}

export interface WindowStatus {
  /** `metadata.name` of the plan file. */
  readonly plan: string;
  readonly file: string;
  /** null: the plan has no window and may run any time. */
  readonly cron: string | null;
  readonly open: boolean;
  /** ISO time the window closes (when open) — null without a window or when closed. */
  readonly closesAt: string | null;
  /**
   * ISO time the next occurrence starts, always after the status was asked (while open, the one
   * after the current; closesAt says when the current one ends) — null without a window.
   */
  readonly nextOpen: string | null;
}

export interface PlanStatus {
  readonly planId: string;
  /** The plan file it was made from; null when `slotshift apply` enqueued it. */
  readonly planFile: string | null;
  readonly total: number;
  readonly done: number;
  readonly failed: number;
  readonly cancelled: number;
  readonly keys: number;
  readonly paused: boolean;
  readonly finished: boolean;
  /** Its remaining slots are being skipped (window closed or POST /cancel). */
  readonly cancelling: boolean;
}

/** GET /status. Fields may be added, never renamed. */
export interface DaemonStatus {
  readonly version: 1;
  readonly state: DaemonState;
  readonly since: string;
  readonly role: 'leader' | 'standby';
  /** This daemon's lease token and the current holder's (host:pid:random). */
  readonly leaseToken: string;
  readonly leaseHolder: string | null;
  /** Planning held by POST /cancel until POST /resume. */
  readonly held: boolean;
  readonly cluster: {
    readonly masters: readonly MasterSummary[];
    readonly openSlots: readonly { slot: number; nodeId: string; state: string; peerId: string }[];
    readonly readAt: string;
  } | null;
  readonly plan: PlanStatus | null;
  readonly windows: readonly WindowStatus[];
  readonly lastError: { readonly kind: string; readonly message: string; readonly at: string } | null;
  readonly lastRoundAt: string | null;
}
