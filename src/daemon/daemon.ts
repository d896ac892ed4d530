import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import {
  NodePool,
  countOpenSlots,
  errorSafeSockets,
  masters,
  openSlots,
  readTopology,
  slotCount,
  type ConnectionOptions,
  type NodeAddress,
  type Topology,
} from '../cluster/index.js';
import { loadPlanFiles, policyFromPlanFile, type PlanFile } from '../config/index.js';
import { startHttpServer, type HttpServer } from '../http/index.js';
import { createDaemonMetrics, type DaemonMetrics } from '../metrics/index.js';
import { DEFAULT_MIGRATOR_OPTIONS, OrphanSweeper, type MigratorOptions } from '../migrate/index.js';
import { planToJson } from '../planner/index.js';
import { planFromCluster } from '../stats/index.js';
import { isSlotshiftError } from '../errors/index.js';
import {
  DEFAULT_QUEUE_NAME,
  DEFAULT_WORKER_LIMITS,
  MOVE_SLOT_JOB,
  PlanQueue,
  planKeys,
  assertQueueSlotPinned,
  locateQueue,
  probeQueue,
  slotJobsFor,
  planMasters,
  readPlanMasters,
  startSlotWorker,
  type SlotWorker,
  type SlotWorkerOptions,
} from '../queue/index.js';
import { isOpen, nextOpen, windowEnd } from '../schedule/index.js';
import { DEFAULT_QUEUE_RETRY, retryDelayMs, type QueueRetryOptions } from './backoff.js';
import { latencyBudgetFor } from './latency-budget.js';
import { Lease, leaseToken } from './lease.js';
import type { DaemonState, DaemonStatus, PlanStatus, WindowStatus } from './state.js';

export interface DaemonOptions {
  readonly seeds: readonly NodeAddress[];
  /** How the daemon and its workers reach the cluster's nodes. */
  readonly connection: ConnectionOptions;
  /** The Redis holding the queue and the lease; never a node of the cluster being rebalanced. */
  readonly queueUrl: string;
  /** @defaultValue DEFAULT_QUEUE_NAME */
  readonly queueName?: string;
  /** A RebalancePlan file or a directory of them (read in name order, every round). */
  readonly plans: string;
  /** Time between two rounds; a window opening or closing also starts one. @defaultValue 30000 */
  readonly tickMs?: number;
  /** HTTP API address; port 0 picks a free port. @defaultValue 127.0.0.1:9187 */
  readonly listen?: string;
  /** Bearer token of the POST endpoints; null disables them. @defaultValue null */
  readonly token?: string | null;
  /** In-process workers. @defaultValue DEFAULT_WORKER_LIMITS (96 slots, 64 per node) */
  readonly workers?: { readonly concurrency: number; readonly perNodeLimit: number };
  /** Planner lease time to live, renewed every third of it. @defaultValue 15000 */
  readonly leaseTtlMs?: number;
  /** Keys per slot sampled with MEMORY USAGE for byte estimates (0: none). @defaultValue 4 */
  readonly sampleKeysPerSlot?: number;
  /**
   * How the workers move slots (the config's `moves`). A plan file's `spec.limits.latencyBudgetMs`
   * replaces `batch.targetMs` for the slots of the plans made from it. @defaultValue DEFAULT_MIGRATOR_OPTIONS
   */
  readonly migrator?: MigratorOptions;
  /** Export Node.js process metrics too. @defaultValue true */
  readonly processMetrics?: boolean;
  /** The only clock the daemon reads; the schedule arithmetic gets `now` from here. */
  readonly now?: () => Date;
  readonly log: Logger;
  /**
   * Called once when the queue answers MOVED: it lives on a cluster node that failed over, and the
   * daemon's connections cannot follow it (see SlotWorkerOptions.onQueueMoved).
   */
  readonly onQueueMoved?: SlotWorkerOptions['onQueueMoved'];
  /**
   * Waits between attempts to reach a queue Redis that does not answer at start-up.
   * @defaultValue DEFAULT_QUEUE_RETRY (1 s, doubling, at most 30 s)
   */
  readonly queueRetry?: QueueRetryOptions;
  /**
   * Called once when a queue Redis the daemon was waiting for answers but refuses it (credentials,
   * a database it does not have): waiting cannot help, the caller should stop it (the CLI exits 2).
   * At start-up the same errors reject startDaemon instead.
   */
  readonly onQueueRefused?: (err: Error) => void;
}

export const DEFAULT_DAEMON_OPTIONS = {
  queueName: DEFAULT_QUEUE_NAME,
  tickMs: 30_000,
  listen: '127.0.0.1:9187',
  token: null,
  workers: DEFAULT_WORKER_LIMITS,
  leaseTtlMs: 15_000,
  sampleKeysPerSlot: 4,
  processMetrics: true,
} as const;

export interface Daemon {
  /** The HTTP API's bound address, e.g. `127.0.0.1:9187`. */
  readonly httpAddress: string;
  readonly metrics: DaemonMetrics;
  state(): DaemonState;
  status(): Promise<DaemonStatus>;
  /** Runs one round now (tests, and POST /resume) and resolves when it has run. */
  tick(): Promise<void>;
  /** Stops planning, finishes the slots in flight (none is left open), closes everything. */
  stop(): Promise<void>;
}

/** Redis keys the daemon keeps beside the queue's own. */
function daemonKeys(queueName: string): { lease: string; hold: string; marker: string } {
  const base = `${queueName}:slotshift:daemon`;
  return { lease: `${base}:lease`, hold: `${base}:hold`, marker: `${base}:plan` };
}

/** Slack after a window boundary so the round after it sees the window already changed. */
const BOUNDARY_SLACK_MS = 20;
/**
 * How long open slots found when a round would plan are taken for moves still under way (the last
 * slots of a plan the queue Redis lost, slots of another process) before the round reports them
 * as needing `slotshift fix`. Planning at once failed with OpenSlotsError, at error level, in
 * queue-lost.test.ts: the lost plan's slots in flight were still closing.
 */
const OPEN_SLOTS_GRACE_MS = 30_000;

/**
 * Starts the daemon: workers, the HTTP API and the level-triggered loop. Each round re-reads the
 * cluster and the plan files and recomputes; nothing remembered between rounds is trusted, so a
 * restart (or another daemon taking over the lease) continues from the cluster and the queue.
 */
export async function startDaemon(input: DaemonOptions): Promise<Daemon> {
  const o = { ...DEFAULT_DAEMON_OPTIONS, ...input };
  const queueName = o.queueName;
  const keys = daemonKeys(queueName);
  const log = o.log.child({ component: 'daemon' });
  const clock = o.now ?? ((): Date => new Date());
  // A plan file that does not load at start-up is a mistake to fix before the daemon runs (exit 2,
  // with its file, line and field): before, the daemon started, said it was ready, and logged the
  // same error every round. One that breaks later keeps the daemon up, not ready (see `ready`).
  loadPlanFiles(o.plans);
  const metrics = createDaemonMetrics({ processMetrics: o.processMetrics });

  // Commands of the daemon itself fail fast when the queue Redis is away (the round reports it);
  // BullMQ's own connections wait and reconnect.
  const redis = new Redis(o.queueUrl, { maxRetriesPerRequest: 1, lazyConnect: false, ...errorSafeSockets });
  redis.on('error', (err) => log.debug({ err }, 'queue connection error'));
  const planQueue = new PlanQueue(o.queueUrl, queueName);
  // While the daemon waits for the queue Redis, BullMQ reports each failed reconnect here; without a
  // listener it printed them to the console. The wait logs one line per attempt instead.
  planQueue.queue.on('error', (err) => log.debug({ err }, 'queue connection error'));
  const lease = new Lease(redis, keys.lease, leaseToken(), o.leaseTtlMs);
  const pool = new NodePool(o.connection);
  const orphans = new OrphanSweeper(pool, log);
  const moveOptions = o.migrator ?? DEFAULT_MIGRATOR_OPTIONS;

  let state: DaemonState = 'starting';
  let since = clock();
  let leader = false;
  let stopping = false;
  let lastError: DaemonStatus['lastError'] = null;
  let lastRoundAt: Date | null = null;
  let topology: Topology | null = null;
  let topologyOk = false;
  let windows: WindowStatus[] = [];
  /** The plan files the last round read, so /status computes its windows at the time it is asked. */
  let lastFiles: readonly PlanFile[] = [];
  /** Why the plan files cannot be used (the last round's error), or null when they can. */
  let plansProblem: string | null = null;
  /** Why the queue Redis does not answer, while the daemon waits for it at start-up; else null. */
  let queueProblem: string | null = null;
  /** The workers, the lease and the loop run: the queue Redis answered. */
  let begun = false;

  const setState = (next: DaemonState, bindings: Record<string, unknown> = {}): void => {
    if (next === state) return;
    log.info({ from: state, to: next, ...bindings }, 'state changed');
    state = next;
    since = clock();
  };
  const recordError = (e: unknown, what: string): void => {
    const err = e instanceof Error ? e : new Error(String(e));
    lastError = { kind: err.name, message: err.message, at: clock().toISOString() };
    metrics.errors.inc({ kind: err.name });
    // A retryable failure (the nodes still converging after a move, a node briefly unreachable) heals
    // by itself on a later round: a warning, not an error an operator must act on.
    if (isSlotshiftError(err) && err.retryable) log.warn({ err }, `${what}; retrying next round`);
    else log.error({ err }, what);
  };

  const renewLease = async (): Promise<void> => {
    try {
      const held = await lease.acquireOrExtend();
      if (held !== leader)
        log.info({ lease: lease.token }, held ? 'planner lease taken' : 'planner lease lost');
      leader = held;
    } catch (e) {
      // Unknown whether it is still held: stop planning until a renewal succeeds.
      leader = false;
      recordError(e, 'planner lease renewal failed');
    }
    metrics.leaseHeld.set(leader ? 1 : 0);
  };

  const currentPlanStatus = async (): Promise<PlanStatus | null> => {
    const current = await planQueue.currentPlan();
    if (!current) return null;
    const [p, cancelling, marker] = await Promise.all([
      planQueue.progress(current.planId, current.total),
      redis.exists(planKeys(queueName, current.planId).cancel),
      redis.hgetall(keys.marker),
    ]);
    return {
      planId: current.planId,
      planFile: marker['planId'] === current.planId ? (marker['file'] ?? null) : null,
      total: p.total,
      done: p.done,
      failed: p.failed,
      cancelled: p.cancelled,
      keys: p.keys,
      paused: p.paused,
      finished: p.done + p.failed + p.cancelled >= p.total,
      cancelling: cancelling === 1,
    };
  };

  const windowOf = (f: PlanFile, now: Date): WindowStatus => {
    const w = f.window;
    const open = w ? isOpen(now, w) : true;
    return {
      plan: f.name,
      file: f.file,
      cron: w?.cron ?? null,
      open,
      closesAt: w && open ? (windowEnd(now, w)?.toISOString() ?? null) : null,
      nextOpen: w ? nextOpen(now, w).toISOString() : null,
    };
  };

  /**
   * The plan files, noting whether they load: a file edited into a mistake while the daemon runs
   * makes it not ready (GET /readyz 503, with the error) until it is fixed.
   */
  const readPlans = (): PlanFile[] => {
    try {
      const files = loadPlanFiles(o.plans);
      plansProblem = null;
      return files;
    } catch (e) {
      plansProblem = e instanceof Error ? e.message : String(e);
      throw e;
    }
  };

  /**
   * A window that opened since the last round, and at start-up every window (open until, or next
   * opening): before, only a window's close was logged.
   */
  let windowsLogged = false;
  const logWindows = (wasOpen: ReadonlyMap<string, boolean>): void => {
    for (const w of windows) {
      if (w.cron === null) continue;
      if (!windowsLogged || !wasOpen.has(w.file)) {
        log.info(
          { plan: w.plan, cron: w.cron, open: w.open, closesAt: w.closesAt, nextOpen: w.nextOpen },
          w.open ? `window open until ${w.closesAt}` : `window closed; next opens ${w.nextOpen}`,
        );
      } else if (w.open && wasOpen.get(w.file) === false) {
        log.info({ plan: w.plan, closesAt: w.closesAt }, `window opened; closes ${w.closesAt}`);
      }
    }
    windowsLogged = true;
  };

  /** The plan this daemon saw unfinished as leader: its end is summarised once, as apply does. */
  let followedPlan: string | null = null;
  /** When a round about to plan first found open slots (null: none open at the last such round). */
  let openSeenAt: number | null = null;
  const logFinished = async (planId: string, total: number): Promise<void> => {
    const p = await planQueue.progress(planId, total);
    const summary = {
      planId,
      total,
      moved: p.done,
      failed: p.failed,
      cancelled: p.cancelled,
      keys: p.keys,
      bytes: p.bytes,
      verified: p.verified,
      mismatches: p.mismatches,
    };
    const text =
      `plan finished: ${p.done} of ${total} slots moved, ${p.failed} failed, ${p.cancelled} cancelled, ` +
      `${p.keys} keys, ${p.verified} verified, ${p.mismatches} mismatches`;
    if (p.failed > 0 || p.mismatches > 0) log.warn(summary, text);
    else log.info(summary, text);
  };

  /** One observe → decide → act round. Only the lease holder plans and enqueues. */
  const round = async (): Promise<void> => {
    const now = clock();
    lastRoundAt = now;
    try {
      topology = await readTopology(pool, o.seeds);
      topologyOk = true;
    } catch (e) {
      topologyOk = false;
      throw e;
    }
    const queueHome = await locateQueue(o.queueUrl, queueName, topology);
    const files = readPlans();
    const wasOpen = new Map(windows.map((w) => [w.file, w.open]));
    lastFiles = files;
    windows = files.map((f) => windowOf(f, now));
    for (const w of windows) metrics.windowOpen.set({ plan: w.plan }, w.open ? 1 : 0);
    logWindows(wasOpen);

    const plan = await currentPlanStatus();
    metrics.planInFlight.set(plan && !plan.finished ? 1 : 0);
    if (!leader) {
      setState('idle', { role: 'standby' });
      return;
    }
    if (!plan && followedPlan) {
      // Nothing deletes a current plan: the queue Redis lost its data (restarted without
      // persistence, flushed). Said once, because the new plan below would otherwise come unexplained.
      log.warn(
        { planId: followedPlan },
        'the queue Redis no longer holds the plan being moved (restarted without its data?); slots in flight close as usual, and this round plans the rest from the cluster as it is now',
      );
      followedPlan = null;
    }
    if (plan && !plan.finished) followedPlan = plan.planId;
    if (plan?.finished && plan.planId === followedPlan) {
      followedPlan = null;
      await logFinished(plan.planId, plan.total);
    }
    if (plan?.finished) {
      // A target killed just after taking its last slots of the plan leaves them to no live owner
      // (see handOverOrphanedSlots), and no job of the plan is left to retry and notice.
      const masters = await readPlanMasters(redis, queueName, plan.planId);
      if (masters) await orphans.sweep(masters);
    }
    if (plan && !plan.finished) {
      const source = plan.planFile === null ? null : windows.find((w) => w.file === plan.planFile);
      // A plan the daemon enqueued stops at its window's end; the next window re-plans from the
      // live cluster, so it continues where it stopped. A plan `apply` enqueued is left alone.
      if (plan.planFile !== null && !plan.cancelling && !(source?.open ?? false)) {
        const waiting = await planQueue.waitingSlots(plan.planId, plan.total);
        await planQueue.cancel(plan.planId);
        log.info(
          { planId: plan.planId, done: plan.done, total: plan.total, cancelled: waiting, plan: source?.plan },
          'window closed: slots not yet started are cancelled, slots in flight finish',
        );
        setState('draining', { planId: plan.planId });
        return;
      }
      setState(plan.cancelling ? 'draining' : 'enqueued', { planId: plan.planId });
      return;
    }
    if ((await redis.exists(keys.hold)) === 1 || plan?.paused) {
      setState('idle', { held: true });
      return;
    }
    const open = countOpenSlots(openSlots(topology));
    if (open === 0) openSeenAt = null;
    else if (windows.some((w) => w.open)) {
      openSeenAt ??= now.getTime();
      if (now.getTime() - openSeenAt < OPEN_SLOTS_GRACE_MS) {
        // Past the grace, planning below fails with the open slots and how to close them.
        setState('draining', { openSlots: open, reason: 'open slots: planning once they close' });
        return;
      }
    }
    for (const f of files) {
      if (!windowOf(f, now).open) continue;
      const policy = policyFromPlanFile(f, topology);
      const next = await planFromCluster(pool, topology, policy, o.sampleKeysPerSlot);
      assertQueueSlotPinned(queueHome, next, `plan file ${f.file}`);
      if (next.moves.length === 0) continue;
      const plog = log.child({ planId: next.planId, plan: f.name });
      const current = await planQueue.currentPlan();
      // The previous plan's unstarted slots were made for a cluster that no longer exists.
      if (current && current.planId !== next.planId) await planQueue.cancel(current.planId);
      const jobs = slotJobsFor(next, topology);
      // The file's latency budget travels with the marker, so every daemon's workers (a standby's
      // too) move this plan's slots with it (see migratorForPlan).
      const budget = latencyBudgetFor(f, moveOptions.batch.targetMs);
      // The marker first: should the daemon die between the two, the plan is still known as its own.
      await redis.hset(keys.marker, {
        planId: next.planId,
        file: f.file,
        name: f.name,
        latencyBudgetMs: String(budget.latencyBudgetMs),
        latencyBudgetFrom: budget.from,
      });
      const { added, alreadyDone } = await planQueue.enqueue(jobs, planMasters(topology));
      await planQueue.setCurrentPlan(next.planId, jobs.length, planToJson(next));
      // Followed from here, not from the next round: a small plan can finish before that round,
      // which then saw it finished only and never logged its summary.
      followedPlan = next.planId;
      metrics.plansEnqueued.inc();
      metrics.planInFlight.set(1);
      plog.info(
        {
          slots: jobs.length,
          added,
          alreadyDone,
          keys: next.totals.keys,
          bytes: next.totals.bytes,
          deferred: next.deferred,
          latencyBudgetMs: budget.latencyBudgetMs,
          latencyBudgetFrom: budget.from,
        },
        'plan enqueued',
      );
      setState('enqueued', { planId: next.planId });
      return;
    }
    const anyWindowClosed = windows.some((w) => !w.open);
    setState(anyWindowClosed ? 'waiting-window' : 'idle');
  };

  // The loop: rounds never overlap; a sleep ends early on a window boundary, a wake() or stop().
  let wakeUp: (() => void) | null = null;
  const wake = (): void => wakeUp?.();
  let roundInFlight: Promise<void> | null = null;
  const runRound = (): Promise<void> => {
    roundInFlight ??= round()
      .catch((e: unknown) => recordError(e, 'round failed'))
      .finally(() => {
        roundInFlight = null;
      });
    return roundInFlight;
  };
  const sleepMs = (): number => {
    const now = clock();
    let ms = o.tickMs;
    for (const w of windows) {
      const at = w.open ? w.closesAt : w.nextOpen;
      if (at) ms = Math.min(ms, Math.max(0, Date.parse(at) - now.getTime()) + BOUNDARY_SLACK_MS);
    }
    return ms;
  };
  const status = async (): Promise<DaemonStatus> => {
    // Waiting for the queue Redis: what lives there is unknown, and asking would only fail.
    const [holder, held, plan] = begun
      ? await Promise.all([lease.holder(), redis.exists(keys.hold), currentPlanStatus()])
      : [null, 0, null];
    const t = topology;
    return {
      version: 1,
      state,
      since: since.toISOString(),
      role: leader ? 'leader' : 'standby',
      leaseToken: lease.token,
      leaseHolder: holder,
      held: held === 1,
      cluster: t
        ? {
            masters: masters(t).map((m) => ({ id: m.id, addr: m.addr, slots: slotCount(m.slots) })),
            openSlots: openSlots(t),
            readAt: (lastRoundAt ?? clock()).toISOString(),
          }
        : null,
      plan,
      // At the time asked, not at the last round's: a round that fails before it reads the plan
      // files (the cluster unreachable) would otherwise leave times in the past here.
      windows: lastFiles.map((f) => windowOf(f, clock())),
      lastError,
      lastRoundAt: lastRoundAt?.toISOString() ?? null,
    };
  };

  let http: HttpServer;
  try {
    http = await startHttpServer(
      {
        registry: metrics.registry,
        queue: planQueue.queue,
        status,
        ready: async () => {
          if (queueProblem !== null) {
            return {
              ready: false,
              checks: { queue: false, cluster: topologyOk, plans: plansProblem === null },
              reason: `queue: ${queueProblem}`,
            };
          }
          const queue = await Promise.race([
            redis.ping().then(
              () => true,
              () => false,
            ),
            new Promise<boolean>((r) => setTimeout(() => r(false), 1000).unref()),
          ]);
          const checks = { queue, cluster: topologyOk, plans: plansProblem === null };
          return {
            ready: queue && topologyOk && plansProblem === null,
            checks,
            ...(plansProblem === null ? {} : { reason: `plan files: ${plansProblem}` }),
          };
        },
        pause: async () => {
          await planQueue.pause();
          log.info('queue paused: slots in flight finish, no new slot starts');
          return { paused: true, plan: await currentPlanStatus() };
        },
        resume: async () => {
          await redis.del(keys.hold);
          await planQueue.resume();
          log.info('queue resumed; planning allowed');
          wake();
          return { paused: false, held: false, plan: await currentPlanStatus() };
        },
        cancel: async () => {
          // Held so the next round does not enqueue the same moves again right away.
          await redis.set(keys.hold, '1');
          const current = await planQueue.currentPlan();
          if (current) await planQueue.cancel(current.planId);
          log.info({ planId: current?.planId }, 'plan cancelled; planning held until POST /resume');
          wake();
          return { cancelled: current?.planId ?? null, held: true, plan: await currentPlanStatus() };
        },
      },
      { listen: o.listen, token: o.token, log },
    );
  } catch (e) {
    // Listening comes before the workers, the lease and the first round, so a daemon that cannot
    // serve its address takes no role and moves nothing.
    await Promise.allSettled([planQueue.close(), pool.close(), redis.quit()]);
    throw e;
  }

  /**
   * The slots of a plan this daemon (or another on the queue) made from a plan file move with that
   * file's latency budget, written beside the plan in the marker; any other plan (one `apply`
   * enqueued) with the config's. Before, the config's was used for every plan.
   */
  const migratorForPlan = async (planId: string): Promise<MigratorOptions> => {
    const marker = await redis.hgetall(keys.marker);
    const own = marker['planId'] === planId && marker['latencyBudgetMs'] !== undefined;
    const latencyBudgetMs = own ? Number(marker['latencyBudgetMs']) : moveOptions.batch.targetMs;
    const from = own ? (marker['latencyBudgetFrom'] ?? 'plan file') : 'config';
    log.info(
      { planId, latencyBudgetMs, latencyBudgetFrom: from },
      "moving the plan's slots with its latency budget",
    );
    return { ...moveOptions, batch: { ...moveOptions.batch, targetMs: latencyBudgetMs } };
  };
  let worker: SlotWorker | null = null;
  let leaseTimer: NodeJS.Timeout | null = null;
  let loop: Promise<void> | null = null;
  /** The daemon's work, once the queue Redis answers: workers, the lease, then the rounds. */
  const begin = async (): Promise<void> => {
    begun = true;
    queueProblem = null;
    const w: SlotWorker = startSlotWorker({
      queueUrl: o.queueUrl,
      queueName,
      cluster: o.connection,
      concurrency: o.workers.concurrency,
      perNodeLimit: o.workers.perNodeLimit,
      migrator: moveOptions,
      migratorForPlan,
      ...(o.onQueueMoved ? { onQueueMoved: o.onQueueMoved } : {}),
      log: o.log,
    });
    worker = w;
    w.worker.on('completed', (job, result) => {
      if (job.name !== MOVE_SLOT_JOB) return;
      if (result.outcome === 'cancelled') {
        metrics.slotsCancelled.inc();
        return;
      }
      metrics.slotsMoved.inc();
      metrics.keysMoved.inc(result.keys);
      metrics.slotMoveSeconds.observe(result.durationMs / 1000);
    });
    w.worker.on('failed', (job, err) => {
      metrics.errors.inc({ kind: err.name });
      if (job && (err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1)))
        metrics.slotsFailed.inc();
    });
    // The lease first, so the first round already knows whether it may plan.
    await renewLease();
    leaseTimer = setInterval(() => void renewLease(), Math.max(100, Math.floor(o.leaseTtlMs / 3)));
    loop = (async (): Promise<void> => {
      while (!stopping) {
        await runRound();
        if (stopping) break;
        await wakeableSleep(sleepMs(), (w) => (wakeUp = w));
      }
    })();

    log.info({ listen: http.address, queue: queueName, lease: lease.token }, 'daemon started');
  };

  /** Asks the queue Redis once: null when it answers, else why not. Refusals (not retryable) throw. */
  const askQueue = async (): Promise<string | null> => {
    try {
      await probeQueue(o.queueUrl);
      return null;
    } catch (e) {
      if (isSlotshiftError(e) && e.retryable) {
        lastError = { kind: e.name, message: e.message, at: clock().toISOString() };
        metrics.errors.inc({ kind: e.name });
        return e.message;
      }
      throw e;
    }
  };
  let wakeRetry: (() => void) | null = null;
  /**
   * A daemon runs unattended: a queue Redis that does not answer yet (started after it, restarting,
   * a network still coming up) is waited for, with backoff, rather than a reason to exit. Before,
   * the daemon exited 2 and stayed down until restarted by hand.
   */
  const waitForQueue = async (reason: string): Promise<void> => {
    for (let attempt = 1; !stopping; attempt++) {
      queueProblem = reason;
      const retryInMs = retryDelayMs(attempt, o.queueRetry ?? DEFAULT_QUEUE_RETRY);
      log.warn(
        { attempt, retryInMs, reason },
        `queue Redis not reachable (attempt ${attempt}); retrying in ${retryInMs / 1000} s`,
      );
      await wakeableSleep(retryInMs, (w) => (wakeRetry = w));
      if (stopping) return;
      let next: string | null;
      try {
        next = await askQueue();
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        queueProblem = err.message;
        lastError = { kind: err.name, message: err.message, at: clock().toISOString() };
        log.error({ err }, 'the queue Redis answers but refuses the daemon; waiting cannot help');
        o.onQueueRefused?.(err);
        return;
      }
      if (next === null) {
        log.info({ attempts: attempt + 1 }, 'queue Redis reachable; starting');
        if (!stopping) await begin();
        return;
      }
      reason = next;
    }
  };

  /**
   * QUIT waits for a queue Redis that never answered, refused the daemon, or went away since: then
   * disconnect.
   */
  const closeQueueAndPool = async (): Promise<void> => {
    if (begun && redis.status === 'ready') {
      await Promise.allSettled([planQueue.close(), pool.close(), redis.quit()]);
      return;
    }
    redis.disconnect();
    await Promise.allSettled([planQueue.disconnect(), pool.close()]);
  };

  let waiting: Promise<void> | null = null;
  let firstProblem: string | null;
  try {
    firstProblem = await askQueue();
  } catch (e) {
    // A URL the server refuses (credentials, a database it lacks): exit 2, having taken no role.
    await http.close();
    await closeQueueAndPool();
    throw e;
  }
  if (firstProblem === null) await begin();
  else waiting = waitForQueue(firstProblem);

  let stopped: Promise<void> | null = null;
  return {
    httpAddress: http.address,
    metrics,
    state: () => state,
    status,
    tick: async () => {
      wake();
      await runRound();
    },
    stop: () =>
      (stopped ??= (async () => {
        stopping = true;
        wake();
        wakeRetry?.();
        await waiting;
        await loop;
        if (leaseTimer) clearInterval(leaseTimer);
        setState('draining', { reason: 'shutdown' });
        await worker?.close();
        // Away, the lease is left to expire: a release would wait for a reconnect that may not come.
        if (begun && redis.status === 'ready')
          await lease.release().catch((e: unknown) => log.warn({ err: e }, 'could not release the lease'));
        await http.close();
        await closeQueueAndPool();
        setState('stopped');
      })()),
  };
}

/**
 * Sleeps `ms`, or less: the function handed to `setWake` ends the sleep at once. `setWake(null)` when
 * it ends either way, so a stale wake is never kept. (The daemon's rounds and its wait for the queue
 * both sleep so that stop() does not wait a whole tick or backoff.)
 */
function wakeableSleep(ms: number, setWake: (wake: (() => void) | null) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      setWake(null);
      resolve();
    };
    const timer = setTimeout(done, ms);
    setWake(done);
  });
}
