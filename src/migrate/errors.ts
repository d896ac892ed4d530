import { SlotshiftError } from '../errors/index.js';

/** The slot is owned by a node that is neither the plan's source nor its target: the plan is stale. */
export class SlotOwnedElsewhereError extends SlotshiftError {
  readonly code = 'SLOT_OWNED_ELSEWHERE';
  constructor(
    readonly slot: number,
    readonly expectedFrom: string,
    readonly owner: string | null,
  ) {
    super(
      `slot ${slot} is owned by ${owner ?? 'no node'}, not by the plan's source ${expectedFrom}: the cluster changed since the plan was made; make a new plan (slotshift plan) and apply it`,
    );
  }
}

/** A key exists on the target with different content: moving it would overwrite data. */
export class BusyKeyConflictError extends SlotshiftError {
  readonly code = 'BUSYKEY_CONFLICT';
  constructor(
    readonly slot: number,
    readonly keys: readonly string[],
  ) {
    super(
      `slot ${slot}: key${keys.length > 1 ? 's' : ''} ${keys.map((k) => JSON.stringify(k)).join(', ')} exist on the target with different content; inspect both copies, delete the wrong one, then run apply again`,
    );
  }
}

/** A node answered a protocol step with an error slotshift does not expect. */
export class SlotProtocolError extends SlotshiftError {
  readonly code = 'SLOT_PROTOCOL_ERROR';
  constructor(
    readonly slot: number,
    readonly step: string,
    readonly node: string,
    detail: string,
    override readonly retryable: boolean,
  ) {
    super(
      `slot ${slot}: ${step} on ${node} failed: ${detail}; slotshift fix closes the slot if it stays open`,
    );
  }
}
