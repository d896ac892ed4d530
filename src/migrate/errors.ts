import { formatRanges, toRanges, type NodeAddress } from '../cluster/index.js';
import { SlotshiftError } from '../errors/index.js';
import { noun } from '../text/index.js';

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

/**
 * A key exists on the target with different content: moving it would overwrite data. The message
 * names the command to run again (`apply` by default; `fix` rewords it with `forCommand`), and how
 * to reach the target's copy: the target serves an importing slot's keys only after ASKING, so a
 * plain redis-cli there answers MOVED.
 */
export class BusyKeyConflictError extends SlotshiftError {
  readonly code = 'BUSYKEY_CONFLICT';
  constructor(
    readonly slot: number,
    readonly keys: readonly string[],
    readonly source: NodeAddress,
    readonly target: NodeAddress,
    readonly rerun = 'slotshift apply',
  ) {
    super(busyKeyMessage(slot, keys, source, target, rerun));
  }

  /** The same conflict, advising to run `rerun` again once it is resolved. */
  forCommand(rerun: string): BusyKeyConflictError {
    return new BusyKeyConflictError(this.slot, this.keys, this.source, this.target, rerun);
  }
}

function busyKeyMessage(
  slot: number,
  keys: readonly string[],
  source: NodeAddress,
  target: NodeAddress,
  rerun: string,
): string {
  const names = keys.map((k) => JSON.stringify(k)).join(', ');
  const first = keys[0] ?? 'KEY';
  const quoted = /^[\w:{}.-]+$/.test(first) ? first : JSON.stringify(first);
  const [s, t] = [source, target].map((a) => `${a.host}:${a.port}`);
  return (
    `slot ${slot}: ${noun(keys.length, 'key')} ${names} ${keys.length > 1 ? 'exist' : 'exists'} on both the source ${s} and the target ${t}, with different content; ` +
    `inspect both copies and delete the wrong one, then run ${rerun} again. ` +
    `The source's copy answers as usual (redis-cli -h ${source.host} -p ${source.port}); the target answers for it only after ASKING, ` +
    `for one command at a time: in one session of redis-cli -h ${target.host} -p ${target.port}, send ASKING, GET ${quoted} (or HGETALL, LRANGE, ... for its type), then ASKING, DEL ${quoted}`
  );
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

/**
 * Every problem `fix` saw was different in its second read: slots are moving (an apply, a worker, the
 * daemon or redis-cli at work), and repairing a moment of a move would undo or race it.
 */
export class SlotsStillChangingError extends SlotshiftError {
  readonly code = 'SLOTS_STILL_CHANGING';
  constructor(
    readonly slots: readonly number[],
    readonly recheckMs: number,
  ) {
    super(
      `${noun(slots.length, 'slot')} ${formatRanges(toRanges(slots))} changed between two reads ${recheckMs} ms apart (a move under way?); fix changed nothing. ` +
        'If no slotshift apply, worker or daemon (nor redis-cli --cluster) is running, run slotshift fix again; otherwise let the move finish',
    );
  }
}
