import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Every metric the daemon exports, on a registry of its own so two daemons in one process never clash. */
export interface DaemonMetrics {
  readonly registry: Registry;
  readonly slotsMoved: Counter;
  readonly slotsCancelled: Counter;
  readonly slotsFailed: Counter;
  readonly keysMoved: Counter;
  readonly slotMoveSeconds: Histogram;
  /** Labelled by the error's name (its class), matching how errors are classified elsewhere. */
  readonly errors: Counter<'kind'>;
  readonly windowOpen: Gauge<'plan'>;
  readonly planInFlight: Gauge;
  readonly plansEnqueued: Counter;
  readonly leaseHeld: Gauge;
}

export function createDaemonMetrics(options: { processMetrics?: boolean } = {}): DaemonMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'slotshift_' });
  const registers = [registry];
  return {
    registry,
    slotsMoved: new Counter({
      name: 'slotshift_slots_moved_total',
      help: 'Slots this process moved (including slots found already moved by an earlier attempt)',
      registers,
    }),
    slotsCancelled: new Counter({
      name: 'slotshift_slots_cancelled_total',
      help: 'Slot jobs skipped because their plan was cancelled (window closed or POST /cancel)',
      registers,
    }),
    slotsFailed: new Counter({
      name: 'slotshift_slots_failed_total',
      help: 'Slot jobs that failed for good (retries exhausted or an unrecoverable error)',
      registers,
    }),
    keysMoved: new Counter({
      name: 'slotshift_keys_moved_total',
      help: 'Keys this process migrated',
      registers,
    }),
    slotMoveSeconds: new Histogram({
      name: 'slotshift_slot_move_duration_seconds',
      help: 'Time to move one slot, from IMPORTING to the last owner announcement',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    errors: new Counter({
      name: 'slotshift_errors_total',
      help: 'Errors by kind (the error class name): failed slot attempts and failed daemon rounds',
      labelNames: ['kind'],
      registers,
    }),
    windowOpen: new Gauge({
      name: 'slotshift_window_open',
      help: '1 while the plan file’s schedule window is open (always 1 without a window)',
      labelNames: ['plan'],
      registers,
    }),
    planInFlight: new Gauge({
      name: 'slotshift_plan_in_flight',
      help: '1 while a plan on the queue has slots not yet finished',
      registers,
    }),
    plansEnqueued: new Counter({
      name: 'slotshift_plans_enqueued_total',
      help: 'Plans this daemon enqueued',
      registers,
    }),
    leaseHeld: new Gauge({
      name: 'slotshift_lease_held',
      help: '1 while this daemon holds the planner lease',
      registers,
    }),
  };
}
