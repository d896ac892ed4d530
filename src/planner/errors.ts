import { countOpenSlots, type OpenSlot } from '../cluster/index.js';
import { plural } from '../text/index.js';
import { SlotshiftError } from '../errors/index.js';

/** A node reference (id, id prefix or host:port) in the policy matches no node of the cluster. */
export class UnknownNodeError extends SlotshiftError {
  readonly code = 'UNKNOWN_NODE';
  constructor(
    readonly option: string,
    readonly ref: string,
  ) {
    super(
      `${option}: no node matches "${ref}"; use a full node id, an id prefix of at least 4 characters, or HOST:PORT as listed by \`slotshift status\``,
    );
  }
}

/** An id prefix matches more than one node. */
export class AmbiguousNodeRefError extends SlotshiftError {
  readonly code = 'AMBIGUOUS_NODE_REF';
  constructor(
    readonly option: string,
    readonly ref: string,
    readonly candidates: readonly string[],
  ) {
    super(
      `${option}: "${ref}" matches ${candidates.length} nodes (${candidates.join(', ')}); give more characters of the node id`,
    );
  }
}

/** Weights and drains only make sense for masters: a replica serves no slots of its own. */
export class NotAMasterError extends SlotshiftError {
  readonly code = 'NOT_A_MASTER';
  constructor(
    readonly option: string,
    readonly ref: string,
    readonly nodeId: string,
    readonly masterId: string | null,
  ) {
    super(
      `${option}: "${ref}" is replica ${nodeId}${masterId ? ` of ${masterId}` : ''}; name its master instead, or fail over first`,
    );
  }
}

/** The policy cannot be satisfied by any placement of slots. */
export class ImpossiblePolicyError extends SlotshiftError {
  readonly code = 'IMPOSSIBLE_POLICY';
  constructor(
    message: string,
    readonly nodeId?: string,
    readonly slot?: number,
  ) {
    super(message);
  }
}

/** Some slot is MIGRATING/IMPORTING: a previous move was interrupted; planning on top of it would race it. */
export class OpenSlotsError extends SlotshiftError {
  readonly code = 'OPEN_SLOTS';
  constructor(readonly openSlots: readonly OpenSlot[]) {
    const sample = openSlots
      .slice(0, 5)
      .map((o) => `${o.slot} (${o.state} on ${o.nodeId})`)
      .join(', ');
    const slots = countOpenSlots(openSlots);
    super(
      `${plural(slots, 'open slot')}: ${sample}${openSlots.length > 5 ? ', ...' : ''}; a move may be under way (let it finish); if no slotshift apply, worker or daemon (nor redis-cli --cluster) is running, run \`slotshift fix\` to close ${slots === 1 ? 'it' : 'them'}, then plan again`,
    );
  }
}

/** The nodes disagree on who owns which slot, so there is no single topology to plan from. */
export class TopologyDisagreementError extends SlotshiftError {
  readonly code = 'TOPOLOGY_DISAGREEMENT';
  override readonly retryable = true;
  constructor() {
    super(
      'the nodes do not agree on the slot configuration; wait for the cluster to converge or run `slotshift fix`, then plan again',
    );
  }
}

/** Some slots have no owner (or an owner that is not a known master): the cluster is not fully covered. */
export class UncoveredSlotsError extends SlotshiftError {
  readonly code = 'UNCOVERED_SLOTS';
  constructor(readonly slots: readonly number[]) {
    super(
      `${plural(slots.length, 'slot')} ${slots.length === 1 ? 'has' : 'have'} no master serving ${slots.length === 1 ? 'it' : 'them'} (first: ${slots.slice(0, 5).join(', ')}); run \`slotshift fix\` to assign them, then plan again`,
    );
  }
}

/** Slot statistics do not have the expected shape, or the chosen balance measure has no statistics. */
export class InvalidStatsError extends SlotshiftError {
  readonly code = 'INVALID_STATS';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** The plan was made for another topology than the one it is being applied to. */
export class StalePlanError extends SlotshiftError {
  readonly code = 'STALE_PLAN';
  constructor(
    readonly planId: string,
    readonly expectedFingerprint: string,
    readonly actualFingerprint: string,
  ) {
    super(
      `plan ${planId} was made for topology ${expectedFingerprint.slice(0, 12)} but the cluster is now ${actualFingerprint.slice(0, 12)}; make a new plan with \`slotshift plan\``,
    );
  }
}

/** A plan file does not parse or does not have the SlotPlan shape. */
export class InvalidPlanError extends SlotshiftError {
  readonly code = 'INVALID_PLAN';
  constructor(
    readonly field: string,
    readonly detail: string,
    /** The file the plan was read from, when it came from one. */
    readonly file?: string,
  ) {
    super(
      `${file ? `${file}: ` : ''}invalid plan at ${field || '(root)'}: ${detail}; regenerate it with \`slotshift plan\``,
    );
  }
}

/** One move of a plan that the cluster it was made for cannot carry out, and why. */
export interface MoveProblem {
  /** Index into the plan's `moves`. */
  readonly index: number;
  readonly slot: number;
  readonly problem: string;
}

/**
 * A plan (a saved one, edited by hand) whose moves do not match the cluster although its topology
 * fingerprint does: applying it would half-run. Checked before anything is enqueued.
 */
export class PlanMovesMismatchError extends SlotshiftError {
  readonly code = 'PLAN_MOVES_MISMATCH';
  constructor(
    readonly file: string,
    readonly problems: readonly MoveProblem[],
  ) {
    const shown = problems
      .slice(0, 5)
      .map((p) => `moves[${p.index}] (slot ${p.slot}): ${p.problem}`)
      .join('; ');
    const more = problems.length > 5 ? `; and ${problems.length - 5} more` : '';
    super(
      `${file}: ${problems.length} move${problems.length === 1 ? '' : 's'} do${problems.length === 1 ? 'es' : ''} not match the cluster: ${shown}${more}. ` +
        "Nothing was moved; make a new plan with `slotshift plan -o` (an edited plan must keep every move from the slot's owner to another master)",
    );
  }
}
