/**
 * Crash-test hook: `SLOTSHIFT_FAULT=<step>:<n>` makes the process kill itself with SIGKILL the n-th
 * time any slot reaches <step>, so tests can prove that a re-run finishes every slot from every
 * point of the protocol. `SLOTSHIFT_FAULT=<step>:<n>:throw` throws instead, once, so the job fails
 * and is retried by the same process. Unset in normal use; reading one environment variable is its
 * whole cost.
 */
export type ProtocolStep = 'after-importing' | 'after-migrating' | 'mid-batches' | 'after-node-target';

const spec = /^(after-importing|after-migrating|mid-batches|after-node-target):(\d+)(:throw)?$/.exec(
  process.env['SLOTSHIFT_FAULT'] ?? '',
);
let remaining = spec ? Number(spec[2]) : 0;

/** The error a `:throw` fault raises: not a SlotshiftError, so the job is retried. */
export class InjectedFault extends Error {
  constructor(step: ProtocolStep) {
    super(`injected fault at ${step} (SLOTSHIFT_FAULT)`);
    this.name = 'InjectedFault';
  }
}

/** `slots` slots (a group moves several at once) reached `step`. */
export function reached(step: ProtocolStep, slots = 1): void {
  if (!spec || spec[1] !== step || slots <= 0) return;
  const before = remaining;
  remaining -= slots;
  if (before > 0 && remaining <= 0) {
    if (spec[3]) throw new InjectedFault(step);
    process.kill(process.pid, 'SIGKILL');
  }
}
