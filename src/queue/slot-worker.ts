import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { NodePool, classifyRedisError, errorSafeSockets, type ConnectionOptions } from '../cluster/index.js';
import { isSlotshiftError } from '../errors/index.js';
import type { Digest } from '../checksum/index.js';
import {
  Migrator,
  DEFAULT_MIGRATOR_OPTIONS,
  WriteWatcher,
  awaitDemotion,
  currentEndpoints,
  OrphanSweeper,
  type PlannedMaster,
  type SlotEndpoint,
  type SlotMoveSpec,
  verifyMovedKeys,
  type KeyComparer,
  type MigratorOptions,
} from '../migrate/index.js';
import { NodeLimiter } from './node-limiter.js';
import { SlotBookkeeping } from './slot-bookkeeping.js';
import { TIMED_OUT, settleWithin } from './settle-within.js';
import { queueMovedTo } from './queue-placement.js';
import { QueueCloseTurns, WorkerPresence } from './shared-close-turns.js';
import { forgetWorker, reclaimDeadWorkersJobs, recordWorker, watchDeadWorkers } from './dead-workers.js';
import {
  MOVE_SLOT_JOB,
  planKeys,
  readPlanMasters,
  type JobEndpoint,
  type SlotJobData,
  type SlotJobResult,
} from './slot-job.js';

export interface SlotWorkerOptions {
  /** Queue Redis, e.g. `redis://127.0.0.1:6379`. */
  readonly queueUrl: string;
  readonly queueName: string;
  /** How this worker reaches the cluster's nodes (credentials stay in the worker, never in jobs). */
  readonly cluster: ConnectionOptions;
  /** Slots this worker process moves at once. @defaultValue 96 (DEFAULT_WORKER_LIMITS) */
  readonly concurrency: number;
  /** A node is source or target of at most this many slots at once, across all workers. @defaultValue 64 */
  readonly perNodeLimit: number;
  /**
   * How slots move. With `verify` (the default), digests taken atomically with each MIGRATE on the
   * source are compared with the target's copies once the slot is closed.
   */
  readonly migrator?: MigratorOptions;
  /**
   * How the slots of one plan move, asked once per plan (a rejection fails that attempt, and the
   * next asks again); `migrator` for every plan when left out. The daemon gives each plan the
   * latency budget of the plan file it was made from. Whether moves are verified is `migrator`'s
   * alone: it is decided for the whole worker.
   */
  readonly migratorForPlan?: (planId: string) => Promise<MigratorOptions>;
  readonly compareKeys?: KeyComparer;
  readonly log: Logger;
  /**
   * Called once when the queue answers MOVED: it lives on a cluster node that failed over, and this
   * worker's one connection cannot follow it. Without it, each such error is logged as it comes.
   */
  readonly onQueueMoved?: (moved: { slot: number; address: string; url: string }) => void;
}

export interface SlotWorker {
  readonly worker: Worker<SlotJobData, SlotJobResult>;
  /** Finishes the slots in flight (leaving none open), then stops. */
  close(): Promise<void>;
}

const RETRY_WHEN_BUSY_MS = 25;
/**
 * How long a job waits in-process for its nodes' places before stepping aside to the delayed set.
 * Stepping aside at once made every refused job a BullMQ round trip (move to delayed, promote,
 * fetch again): with one busy source (a drain) that churn took 2.5x the time of the move itself.
 */
const WAIT_FOR_NODES_MS = 2_000;
/** A cancel reaches slots that have not started within this long. */
const CANCEL_CHECK_MS = 200;
/**
 * How long a slot's close waits for its moved keys' digests to reach the queue Redis: a write takes
 * milliseconds, so this passes only while the queue Redis is away (or far behind).
 */
const KEEP_DIGESTS_WAIT_MS = 5_000;
/**
 * How long the slots of a node that does not answer wait after a failed attempt before they try it
 * again (see rereadNode), and how often the wait asks whether it answers or was replaced.
 */
const REREAD_HOLD_MS = 5_000;
const REREAD_POLL_MS = 200;
/** How long a node's ROLE may take before the re-read counts it as not answering. */
const PROBE_MS = 1_000;
/**
 * The most a slot waits for the re-reads of its nodes: a hold, a demotion wait (up to 10 s) and a
 * takeover of a dead target's replica (up to 5 s). A node that accepts connections and never
 * answers would otherwise hold its slots for good.
 */
const GATE_MAX_MS = 20_000;
/**
 * The worker starts after this long even when the look for a killed process's jobs has not answered
 * (the queue Redis slow or away): those jobs then wait for their locks, as they did before the look.
 */
const RECLAIM_MAX_MS = 2_000;
/** How often a running worker looks for killed worker processes on its machine (watchDeadWorkers). */
const DEAD_WORKERS_EVERY_MS = 2_000;

/**
 * The digests earlier attempts kept (one JSON array of [key, digest] pairs per batch); later batches
 * win. `legacy` is the key → digest hash builds before 30682ac kept instead: a plan they left
 * unfinished still has its moved keys verified when this build resumes it.
 */
function carriedDigests(
  legacy: Readonly<Record<string, string>>,
  batches: readonly string[],
): Record<string, Digest> {
  const out: Record<string, Digest> = { ...legacy };
  for (const json of batches) for (const [k, d] of JSON.parse(json) as Array<[string, Digest]>) out[k] = d;
  return out;
}

/** Runs `move-slot` jobs: the BullMQ side of `migrateSlot`. Works in-process or as `slotshift worker`. */
export function startSlotWorker(options: SlotWorkerOptions): SlotWorker {
  const connect = (): Redis =>
    new Redis(options.queueUrl, {
      maxRetriesPerRequest: null,
      enableAutoPipelining: true,
      ...errorSafeSockets,
    });
  /**
   * slotshift's own queue commands (places, records, digests, turns) on a connection of their own.
   * On BullMQ's, every auto-pipelined write built an ioredis Pipeline that copies each of BullMQ's
   * ~45 scripts onto itself: about 0.4 s of the apply process's CPU on a 1M-key verified move.
   */
  const queueRedis = connect();
  // BullMQ reports the queue Redis's connection errors (worker 'error'); commands here reject.
  queueRedis.on('error', () => undefined);
  const bullRedis = connect();
  const limiter = new NodeLimiter(queueRedis, options.queueName, options.perNodeLimit);
  const book = new SlotBookkeeping(queueRedis);
  // Targets of every process take close turns together while more than one process moves slots.
  const presence = new WorkerPresence(queueRedis, options.queueName);
  const pool = new NodePool(options.cluster);
  const orphans = new OrphanSweeper(pool, options.log);
  const migrators = new Map<string, Migrator>();
  const auth = { user: options.cluster.user, password: options.cluster.password };

  /** The plan's masters, read once per plan from the queue Redis (see planMasters). */
  const mastersOf = new Map<string, Promise<PlannedMaster[]>>();
  const plannedMasters = (planId: string): Promise<PlannedMaster[]> => {
    let known = mastersOf.get(planId);
    if (!known) {
      known = readPlanMasters(queueRedis, options.queueName, planId).then((masters) => {
        if (masters) return masters;
        options.log.warn({ planId }, 'the plan has no masters list; new owners spread by gossip only');
        return [];
      });
      known.catch(() => mastersOf.delete(planId));
      mastersOf.set(planId, known);
    }
    return known;
  };

  /** Each plan's migrator options, asked once per plan (see migratorForPlan). */
  const optionsOf = new Map<string, Promise<MigratorOptions>>();
  const planOptions = (planId: string): Promise<MigratorOptions> => {
    const ask = options.migratorForPlan;
    if (!ask) return Promise.resolve(options.migrator ?? DEFAULT_MIGRATOR_OPTIONS);
    let known = optionsOf.get(planId);
    if (!known) {
      known = ask(planId);
      known.catch(() => optionsOf.delete(planId));
      optionsOf.set(planId, known);
    }
    return known;
  };

  const migratorFor = (
    data: SlotJobData,
    masters: readonly JobEndpoint[],
    migratorOptions: MigratorOptions,
  ): Migrator => {
    let m = migrators.get(data.planId);
    if (!m) {
      const sharedTurns = new QueueCloseTurns(queueRedis, planKeys(options.queueName, data.planId));
      m = new Migrator(pool, masters, auth, migratorOptions, options.compareKeys, options.log, () =>
        presence.others() ? sharedTurns : null,
      );
      migrators.set(data.planId, m);
    }
    return m;
  };

  const verify = (options.migrator ?? DEFAULT_MIGRATOR_OPTIONS).verify;
  /** Planned node id → the master that replaced it in a failover. */
  const failedOver = new Map<string, JobEndpoint>();
  /** Records that `inPlan` is served by `now` (itself again when a later failover undid the first). */
  const noteMasterOf = (inPlan: JobEndpoint, now: JobEndpoint, log: Logger): void => {
    if ((failedOver.get(inPlan.id) ?? inPlan).id === now.id) return;
    if (now.id === inPlan.id) {
      failedOver.delete(inPlan.id);
      log.warn({ node: inPlan.id }, 'a failover was undone; moving slots with the planned master again');
    } else {
      failedOver.set(inPlan.id, now);
      log.warn({ was: inPlan.id, now: now.id }, 'a node failed over; moving slots with its new master');
    }
  };

  /** Where a slot moves from and to now: the plan's nodes, or the masters that replaced them. */
  const plannedNow = (data: SlotJobData): SlotMoveSpec => ({
    slot: data.slot,
    from: failedOver.get(data.from.id) ?? data.from,
    to: failedOver.get(data.to.id) ?? data.to,
  });
  /** The node's role (`master`, `slave`), or null when it does not answer within a second. */
  const roleOf = async (node: SlotEndpoint): Promise<string | null> => {
    const asked = pool.get(node).then(async (r) => ((await r.call('ROLE')) as unknown[])[0]);
    const role = await settleWithin(asked, PROBE_MS).catch(() => null);
    return typeof role === 'string' ? role : null;
  };

  /**
   * Re-reads of one node's current master, started by a failed attempt, by planned node id. Only a
   * retry reads the endpoints itself (currentEndpoints), and it comes after a backoff: after a
   * failover of a source, each of its queued slots failed its first attempt on the old master
   * before one retry named the new one (2,619 failed attempts of about 2,700 slots in
   * apply-failover-source.test.ts). The slots of that node now wait for one re-read instead
   * (at most GATE_MAX_MS), and start on the new master.
   */
  const rereads = new Map<string, Promise<void>>();
  let closing = false;
  const rereadNode = (
    data: SlotJobData,
    side: 'from' | 'to',
    masters: readonly PlannedMaster[],
    log: Logger,
  ): void => {
    const inPlan = data[side];
    if (rereads.has(inPlan.id)) return;
    const running: Promise<void> = (async () => {
      const holdUntil = Date.now() + REREAD_HOLD_MS;
      while (!closing) {
        const planned = plannedNow(data);
        const assumed = planned[side];
        const current = (await currentEndpoints(pool, planned, masters, log))[side];
        if (current.id !== assumed.id) {
          // As a retry does: nothing moves to or from the new master before the old one agrees,
          // and a view that lags (naming a replica as master) is not taken for a failover.
          await awaitDemotion(pool, data.slot, assumed, current);
          if ((await roleOf(current)) === 'master') noteMasterOf(inPlan, current, log);
          return;
        }
        // Nothing failed over (yet). While the node does not answer (killed, before its replica is
        // elected) each of its slots would fail the same way and spend an attempt: 646 failed
        // attempts in 5 s in apply-source-killed.test.ts. They wait until it answers, a replica
        // takes its place, or the hold ends.
        if (Date.now() > holdUntil || (await roleOf(current)) !== null) return;
        await new Promise((r) => setTimeout(r, REREAD_POLL_MS));
      }
    })()
      // The slots' own retries read the endpoints again and fail with the reason if they must.
      .catch((err: unknown) =>
        log.warn(
          { node: inPlan.id, err },
          'could not re-read which master serves a node after a failed attempt',
        ),
      )
      .finally(() => {
        if (rereads.get(inPlan.id) === running) rereads.delete(inPlan.id);
      });
    rereads.set(inPlan.id, running);
  };
  const watcher = new WriteWatcher(options.cluster, options.log);

  /**
   * Waiters for a place, woken as soon as this process frees one: polling alone made a slot wait up
   * to the backoff delay after its place came free, and groups of slots (see GroupMover) then
   * trickled in a few at a time. Places freed by other processes are still found by polling.
   */
  let wakeWaiters: Array<() => void> = [];
  const placeFreed = (): void => {
    const waiters = wakeWaiters;
    wakeWaiters = [];
    for (const wake of waiters) wake();
  };
  const acquireWithin = async (
    lease: string,
    from: string,
    to: string,
    budgetMs: number,
  ): Promise<boolean> => {
    const deadline = Date.now() + budgetMs;
    for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
      if (await limiter.tryAcquire(lease, from, to)) return true;
      if (Date.now() + delay > deadline) return false;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        timer = setTimeout(resolve, delay);
        wakeWaiters.push(resolve);
      });
      clearTimeout(timer);
    }
  };

  /**
   * Whether a plan was cancelled, asked of the queue Redis at most every CANCEL_CHECK_MS per plan:
   * slots start in bursts of dozens, and one answer serves the whole burst.
   */
  const cancelChecks = new Map<string, { at: number; answer: Promise<boolean> }>();
  const cancelled = (cancelKey: string): Promise<boolean> => {
    const known = cancelChecks.get(cancelKey);
    if (known && Date.now() - known.at < CANCEL_CHECK_MS) return known.answer;
    const answer = queueRedis.exists(cancelKey).then((n) => n === 1);
    cancelChecks.set(cancelKey, { at: Date.now(), answer });
    return answer;
  };

  /**
   * The slot moves under way on the cluster (from open to closed). A close with the queue Redis away
   * waits for these, not for the jobs: what a job does before and after them waits on the queue Redis
   * and leaves no slot open.
   */
  const onTheCluster = new Set<Promise<unknown>>();
  const onCluster = (moving: Promise<unknown>): void => {
    const settled: Promise<unknown> = moving
      .catch(() => undefined)
      .finally(() => onTheCluster.delete(settled));
    onTheCluster.add(settled);
  };

  const processor = async (job: Job<SlotJobData, SlotJobResult>, token?: string): Promise<SlotJobResult> => {
    const data = job.data;
    const keys = planKeys(options.queueName, data.planId);
    const log = options.log.child({
      planId: data.planId,
      slot: data.slot,
      source: data.from.id,
      target: data.to.id,
      jobId: job.id,
    });
    // Before the cancel check and before taking places: a re-read may name another master for one
    // of this slot's nodes, or hold the slot while one of them does not answer.
    const gate = [rereads.get(data.from.id), rereads.get(data.to.id)].filter((r) => r !== undefined);
    if (gate.length > 0) {
      await settleWithin(Promise.all(gate), GATE_MAX_MS);
      if (closing) {
        // Stopping (Ctrl-C, SIGTERM): a slot held at the gate has not started, and must not now.
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
    }
    if (await cancelled(keys.cancel)) {
      // Debug, not info: a cancel or a window's end skips every waiting slot within a moment (864
      // lines in 0.3 s); apply's summary and the daemon's 'window closed' line say it once.
      log.debug('plan cancelled; slot left where it is');
      await queueRedis.sadd(`${keys.failed}:cancelled`, String(data.slot));
      return { slot: data.slot, outcome: 'cancelled', keys: 0, batches: 0, durationMs: 0, bigKeys: [] };
    }
    const lease = job.id ?? `${data.planId}:${data.slot}`;
    if (!(await acquireWithin(lease, data.from.id, data.to.id, WAIT_FOR_NODES_MS))) {
      // Both nodes' places are taken by other slots: step aside without spending an attempt.
      await job.moveToDelayed(Date.now() + RETRY_WHEN_BUSY_MS, token);
      throw new DelayedError();
    }
    /** Digests of the keys this slot's moves carried, earlier failed or killed attempts included. */
    const expected = new Map<string, Digest>();
    const movedKey = `${keys.moved}:${data.slot}`;
    const legacyMovedKey = `${keys.legacyMoved}:${data.slot}`;
    /** Writes of this attempt's digests to the queue, awaited before the slot is settled. */
    const keeping: Array<Promise<unknown>> = [];
    let notKeptSaid = false;
    const keepDigests = (digests: ReadonlyMap<string, Digest>): Promise<unknown> => {
      // One JSON string per batch: an HSET of every key as a field cost the apply process about
      // 1 s of CPU on a 1M-key scale-out (9% of its time); a list push of one string costs little.
      const write = book
        .keepMovedDigests(movedKey, JSON.stringify([...digests]))
        .catch((err: unknown) =>
          log.warn({ err }, 'could not keep moved keys for a later attempt to verify'),
        );
      // Not for good: with the queue Redis away the write waits for its return, and the slot stayed
      // open that long. This attempt holds the digests in memory and verifies the keys if it gets to.
      const kept = settleWithin(write, KEEP_DIGESTS_WAIT_MS).then((r) => {
        if (r !== TIMED_OUT || notKeptSaid) return;
        notKeptSaid = true;
        log.warn(
          { waitedMs: KEEP_DIGESTS_WAIT_MS },
          'queue Redis not answering: moved keys not kept for a later attempt; the slot closes anyway, and only this attempt (if it finishes) can verify them',
        );
      });
      keeping.push(kept);
      return kept;
    };
    /** The slot's places went back (at its close when verified, else with its record); otherwise `finally` gives them. */
    let released = false;
    /** The plan's masters, once this attempt has read them. */
    let attemptMasters: readonly PlannedMaster[] | null = null;
    try {
      let undigested = 0;
      // An earlier attempt may have moved keys before it failed (a failover of the target, a timeout
      // after SETSLOT NODE) or before its process was killed: the attempt that finishes the slot
      // verifies them too, or a key lost in between would go unreported (the slot is found already
      // moved, or half moved, and this attempt carries only what is left).
      const earlier = verify && (job.attemptsMade > 0 || job.stalledCounter > 0);
      const carried = earlier
        ? carriedDigests(await queueRedis.hgetall(legacyMovedKey), await queueRedis.lrange(movedKey, 0, -1))
        : {};
      for (const [k, d] of Object.entries(carried)) expected.set(k, d);

      const planned = plannedNow(data);
      // A retry may follow a failover of the source or target: move between their current masters,
      // and remember the new master for the other slots of this worker.
      const [masters, migratorOptions] = await Promise.all([
        plannedMasters(data.planId),
        planOptions(data.planId),
      ]);
      attemptMasters = masters;
      let move: typeof planned = planned;
      if (job.attemptsMade > 0) {
        // A retry may also follow a dead target's slots left without a live owner, which takes the
        // whole cluster down until they are given to the replica elected in its place.
        await orphans.sweep(masters);
        move = await currentEndpoints(pool, planned, masters, log);
      }
      for (const [inPlan, assumed, now] of [
        [data.from, planned.from, move.from],
        [data.to, planned.to, move.to],
      ] as const) {
        if (assumed.id !== now.id) {
          await awaitDemotion(pool, data.slot, assumed, now);
          noteMasterOf(inPlan, now, log);
        }
      }
      if (verify) await watcher.watch(move.to, data.slot);
      const moving = migratorFor(data, masters, migratorOptions).migrate(
        move,
        verify
          ? (_slot, batch, digests) => {
              if (!digests) {
                undigested += batch.length;
                return;
              }
              for (const [k, d] of digests) expected.set(k, d);
              // Kept as each batch moves, not only when an attempt fails: a kill -9 runs no catch.
              // The slot closes only once they are kept: an attempt that resumes it after a kill
              // finds it moved, and can check its keys only against what the queue holds.
              return keepDigests(digests);
            }
          : undefined,
      );
      onCluster(moving);
      const result = await moving;
      if (verify) {
        // The slot is closed: its places go back now rather than after the check, which reads the
        // target only. Held through the check, they kept the next group of this node pair waiting.
        await limiter.release(lease, data.from.id, data.to.id);
        released = true;
      }
      const check = verify
        ? await verifyMovedKeys(await pool.get(move.to), data.slot, expected, () =>
            watcher.release(move.to, data.slot),
          )
        : null;
      // Client writes to carried keys between attempts were not watched: only their absence counts.
      const mismatches = check?.mismatches.filter(
        (m) => m.problem === 'missing' || carried[m.key] !== expected.get(m.key),
      );
      const verified = verify && undigested === 0;
      const out: SlotJobResult = { ...result, verified, mismatches };
      await Promise.all(keeping);
      await book.recordSlotMoved(
        keys,
        { moved: movedKey, legacyMoved: legacyMovedKey },
        {
          places: limiter.placeKeys(data.from.id, data.to.id),
          lease,
          slot: data.slot,
          keys: result.keys,
          bytes: data.bytes,
          mismatches: mismatches?.length ?? 0,
          writtenDuringMove: check?.writtenDuringMove ?? 0,
          verified,
          forgetMoved: keeping.length > 0 || Object.keys(carried).length > 0,
          bigKeys: result.bigKeys.map((b) => ({
            key: b.key,
            json: JSON.stringify({ slot: data.slot, bytes: b.bytes }),
          })),
        },
      );
      released = true;
      log.info(
        {
          keys: result.keys,
          batches: result.batches,
          ms: Math.round(result.durationMs),
          outcome: result.outcome,
          ...(result.bigKeys.length ? { bigKeys: result.bigKeys } : {}),
        },
        'slot moved',
      );
      if (mismatches?.length) log.error({ mismatches }, 'slot verification found mismatches');
      return out;
    } catch (e) {
      const attempt = job.attemptsMade + 1;
      const attempts = job.opts.attempts ?? 1;
      const retried = attempt < attempts && !(isSlotshiftError(e) && !e.retryable);
      if (retried && attemptMasters) {
        for (const side of ['from', 'to'] as const) rereadNode(data, side, attemptMasters, log);
      }
      // slotshift's own errors say what happened in their message; their stack says nothing more,
      // and a failover mid-plan fails each slot of the node in flight (2,600 lines of stack in a test
      // when every queued slot of it failed once, before rereadNode).
      log.warn(
        { ...(isSlotshiftError(e) ? { error: e.message, kind: e.name } : { err: e }), attempt, attempts },
        retried ? `slot move failed (attempt ${attempt} of ${attempts}); retrying` : 'slot move failed',
      );
      // Each batch's digests are on their way to the queue already; the retry must find them.
      await Promise.all(keeping);
      if (isSlotshiftError(e) && !e.retryable) {
        // No retry can help (stale plan, conflicting key): fail now, keep the reason for the summary.
        throw new UnrecoverableError(`${e.name}: ${e.message}`);
      }
      throw e;
    } finally {
      if (!released) await limiter.release(lease, data.from.id, data.to.id);
      placeFreed();
    }
  };

  const worker = new Worker<SlotJobData, SlotJobResult>(options.queueName, processor, {
    connection: bullRedis,
    concurrency: options.concurrency,
    // The lock is renewed every lockDuration/2 while a slot moves, so these only bound how long a
    // killed worker's slots wait before another worker (or a resumed apply) takes them over.
    lockDuration: 10_000,
    stalledInterval: 5_000,
    // A slot re-run after a crash is safe (migrateSlot resumes from any step), so stalls are not failures.
    maxStalledCount: 10,
    // Started below, once the jobs a killed process on this machine left active are put up for the
    // first stalled check.
    autorun: false,
  });
  void settleWithin(
    recordWorker(queueRedis, worker, options.queueName).then(() =>
      reclaimDeadWorkersJobs(queueRedis, worker, options.queueName, options.log),
    ),
    RECLAIM_MAX_MS,
  )
    // Both steps catch their own failures; should one ever reject, the worker must still run.
    .catch(() => undefined)
    .then(() => {
      if (!closing) worker.run().catch((e: unknown) => worker.emit('error', e as Error));
    });
  const stopDeadWorkersWatch = watchDeadWorkers(
    queueRedis,
    worker,
    options.queueName,
    options.log,
    DEAD_WORKERS_EVERY_MS,
  );
  worker.on('failed', (job, err) => {
    if (!job || job.name !== MOVE_SLOT_JOB) return;
    const final = err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (!final) return;
    const keys = planKeys(options.queueName, job.data.planId);
    queueRedis
      .pipeline()
      .sadd(keys.failed, String(job.data.slot))
      .hset(`${keys.failed}:reasons`, String(job.data.slot), err.message)
      .exec()
      .catch((e: unknown) => options.log.error({ err: e }, 'could not record a failed slot'));
  });
  let movedReported = false;
  // One line per outage of the queue Redis, not BullMQ's error per reconnect attempt (a daemon whose
  // queue Redis was down logged one error with its stack every second or two).
  let queueAway = false;
  bullRedis.on('ready', () => {
    if (queueAway) options.log.info('queue Redis reachable again; slot jobs go on');
    queueAway = false;
  });
  worker.on('error', (err) => {
    if (classifyRedisError(err) === 'CONNECTION') {
      if (!queueAway)
        options.log.warn(
          { error: err.message },
          'queue Redis unreachable; no new slot starts until it answers, and the slots in flight close without it',
        );
      queueAway = true;
      return;
    }
    const lost = /^Missing key for job (\S+)\. (\w+)/.exec(err.message);
    if (lost) {
      // BullMQ could not record what became of a job whose keys are gone: the queue Redis lost its
      // data. Before, an error line with BullMQ's stack, twice per slot in flight.
      options.log.warn(
        { jobId: lost[1], step: lost[2] },
        'the queue Redis no longer holds this slot job (restarted without its data?), so its outcome is not recorded; the next plan starts from the cluster as it is',
      );
      return;
    }
    const moved = options.onQueueMoved ? queueMovedTo(err, options.queueUrl) : null;
    if (!moved) {
      options.log.error({ err }, 'worker error');
      return;
    }
    if (!movedReported) options.onQueueMoved?.(moved);
    movedReported = true;
  });

  return {
    worker,
    close: async () => {
      closing = true;
      stopDeadWorkersWatch();
      // With the queue Redis away, BullMQ's graceful close and every QUIT wait in ioredis's offline
      // queue for a connection that may never come back: a daemon stopped then, with no slot in
      // flight, waited out --stop-timeout and exited 1. The slots in flight are waited for here
      // instead, up to their close on the cluster.
      const reachable = bullRedis.status === 'ready';
      if (!reachable) await Promise.all([...onTheCluster]);
      await worker.close(!reachable);
      await presence.close(reachable);
      if (reachable) await forgetWorker(queueRedis, worker, options.queueName);
      await Promise.all([...migrators.values()].map((m) => m.flush()));
      await watcher.close();
      // A re-read outliving the worker would open connections after pool.close().
      await settleWithin(Promise.all([...rereads.values()]), GATE_MAX_MS);
      await pool.close();
      if (reachable) await Promise.all([queueRedis.quit(), bullRedis.quit()]);
      else for (const r of [queueRedis, bullRedis]) r.disconnect();
    },
  };
}
