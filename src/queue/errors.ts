import { SlotshiftError } from '../errors/index.js';
import { plural } from '../text/index.js';

/**
 * `--plan` names no plan enqueued on the queue: a typo, or another queue. Refused rather than read
 * as an empty plan, since `pause` pauses the whole queue and would stop the plan that is running.
 */
export class UnknownPlanError extends SlotshiftError {
  readonly code = 'UNKNOWN_PLAN';
  constructor(
    readonly planId: string,
    queue: string,
    known: readonly { planId: string; total: number }[],
  ) {
    const shown = known
      .slice(0, 5)
      .map((p, i) => `${p.planId} (${i === 0 ? 'latest, ' : ''}${plural(p.total, 'slot')})`);
    const more = known.length > shown.length ? ` and ${known.length - shown.length} older` : '';
    super(
      known.length
        ? `--plan: no plan ${planId} on ${queue}; plans there: ${shown.join(', ')}${more}. Leave --plan out for the latest`
        : `--plan: no plan ${planId} on ${queue}, and none has been enqueued there; check --queue and --queue-name`,
    );
  }
}
