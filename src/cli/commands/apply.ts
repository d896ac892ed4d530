import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import {
  NodePool,
  countOpenSlots,
  electionsRun,
  failoversNotKept,
  openSlots,
  readTopology,
  type ConnectionOptions,
  type NodeAddress,
  type OpenSlot,
  type Topology,
} from '../../cluster/index.js';
import { UnfinishedPlanError } from '../../errors/index.js';
import { createLogger, type Logger } from '../../log/index.js';
import { parsePlan, planToJson, slotsNotWherePlanned, type Plan } from '../../planner/index.js';
import {
  DEFAULT_BIG_KEY_BYTES,
  migratorOptionsFor,
  OrphanSweeper,
  type PlannedMaster,
} from '../../migrate/index.js';
import {
  DEFAULT_QUEUE_NAME,
  PlanQueue,
  TIMED_OUT,
  assertQueueSlotPinned,
  locateQueue,
  queueAddress,
  queueKeySlot,
  queueMovedTo,
  settleWithin,
  slotJobsFor,
  planMasters,
  startSlotWorker,
  type PlanProgress,
} from '../../queue/index.js';
import {
  connectionFrom,
  seedsFrom,
  withConnectionOptions,
  type ConnectionFlags,
} from '../connection-options.js';
import { formatBytes, formatCount, shortId } from '../format.js';
import {
  addrOf,
  assertNoPolicyFlagsWithFile,
  givenPolicyFlags,
  groupMoves,
  planFromFlags,
  policyDifferences,
  policyFromFlags,
  resolveFlagPolicy,
  sampleKeysFrom,
  withPlanOptions,
  type PlanFlags,
} from '../plan-flags.js';
import { renderPlan } from './plan.js';
import { assertPlanApplies, planForDesiredState, readPlanSource } from '../plan-source.js';
import { confirmOrRefuse } from '../confirm.js';
import { drainedMasterNotes } from '../drained-masters.js';
import { exitAfterStopTimeout, stopTimeoutMsFrom, withStopTimeoutOption } from '../stop-timeout.js';
import { withConfigFile } from '../config-file.js';
import { moveSettingsFrom, withMoveOptions, type MoveFlags } from '../move-options.js';
import {
  printableQueueUrl,
  queueMovedError,
  queueUrlFrom,
  withQueueOptions,
  withWorkerOptions,
  workerSizingFrom,
  type QueueFlags,
  type WorkerFlags,
} from '../queue-options.js';
import { noun, plural } from '../../text/index.js';

interface ApplyFlags extends ConnectionFlags, PlanFlags, QueueFlags, WorkerFlags, MoveFlags {
  file?: string;
  yes?: boolean;
  workers: boolean;
  stopTimeout: string;
}

/** Exit code of an apply that stopped before every slot moved (Ctrl-C, failures, cancel). */
const EXIT_INCOMPLETE = 1;

export function applyCommand(program: Command): void {
  withStopTimeoutOption(
    withMoveOptions(
      withWorkerOptions(
        withQueueOptions(
          withConnectionOptions(
            withPlanOptions(
              program
                .command('apply')
                .summary('Move slots: plan (or load a plan with -f), confirm, and run one job per slot.')
                .description(
                  'Move slots: plan (or load a plan with -f), confirm, enqueue one job per slot and run them.\n\n' +
                    'Safe to interrupt (Ctrl-C finishes the slots in flight, none is left open) and to run again: it resumes.\n\n' +
                    'On a terminal it shows a progress bar and only warnings; otherwise a JSON log line per slot and a progress line every 5 s (SLOTSHIFT_LOG_LEVEL sets the level).',
                )
                .option(
                  '-f, --file <plan>',
                  'a RebalancePlan file (desired state) or a plan saved by `slotshift plan -o`',
                )
                .option('-y, --yes', 'do not ask for confirmation (required without a terminal)')
                .option(
                  '--no-workers',
                  'only enqueue and follow; `slotshift worker` processes do the moving',
                ),
            ),
          ),
        ),
      ),
    ),
  ).action(async (flags: ApplyFlags, cmd: Command) => {
    process.exitCode = await runApply(flags, givenPolicyFlags(cmd));
  });
}

/** `policyFlags`: the policy flags typed on the command line (givenPolicyFlags). */
async function runApply(given: ApplyFlags, policyFlags: readonly string[]): Promise<number> {
  assertNoPolicyFlagsWithFile(given.file, policyFlags);
  const flags = withConfigFile(given);
  const queueUrl = queueUrlFrom(flags);
  try {
    return await applyPlan(flags, queueUrl, policyFlags);
  } catch (e) {
    // A queue on a cluster node whose failover moved it answers MOVED for its pinned slot: say
    // where it went and how to go on there, rather than an "unexpected error".
    const moved = queueMovedTo(e, queueUrl);
    if (moved && moved.slot === queueKeySlot(flags.queueName)) {
      throw queueMovedError(moved, 'the same slotshift apply');
    }
    throw e;
  }
}

async function applyPlan(
  flags: ApplyFlags,
  queueUrl: string,
  policyFlags: readonly string[],
): Promise<number> {
  const seeds = seedsFrom(flags);
  const connection = connectionFrom(flags);
  const stopTimeoutMs = stopTimeoutMsFrom(flags.stopTimeout);
  // On a terminal the progress bar is the output: a JSON line per slot on the same stderr scrolled it
  // away. SLOTSHIFT_LOG_LEVEL=info brings the lines back; without a terminal they are the output.
  const log = createLogger(process.env['SLOTSHIFT_LOG_LEVEL'] ?? (process.stderr.isTTY ? 'warn' : 'info'));
  const { groupSlots, ...limits } = workerSizingFrom(flags, log);
  // Checked now, before the cluster or the queue is touched; settled once the plan source is known.
  let settings = moveSettingsFrom(flags, groupSlots);
  const pool = new NodePool(connection);
  let plan: Plan;
  let topology: Topology;
  let electionsBefore: Map<string, number>;
  let planQueue: PlanQueue;
  try {
    topology = await readTopology(pool, seeds);
    electionsBefore = await electionsRun(pool, topology.nodes);
    const queueHome = await locateQueue(queueUrl, flags.queueName, topology);
    planQueue = new PlanQueue(queueUrl, flags.queueName);
    const resumable = flags.file
      ? null
      : await planToResume(planQueue, topology, flags, policyFlags, queueUrl);
    if (resumable) {
      plan = resumable;
      log.info({ planId: plan.planId }, 'resuming the unfinished plan on the queue');
      process.stdout.write(`resuming unfinished plan ${plan.planId} from the queue\n`);
    } else if (flags.file) {
      const source = readPlanSource(flags.file);
      if (source.kind === 'saved') {
        assertPlanApplies(source.plan, topology, { file: flags.file });
        plan = source.plan;
        // The latency budget `plan -o` saved, where --latency-budget-ms does not say otherwise.
        settings = moveSettingsFrom(flags, groupSlots, {
          limits: { latencyBudgetMs: plan.limits?.latencyBudgetMs ?? null },
        });
      } else {
        plan = await planForDesiredState(pool, topology, source.file, sampleKeysFrom(flags));
        // The file's limits.latencyBudgetMs, where --latency-budget-ms does not say otherwise.
        settings = moveSettingsFrom(flags, groupSlots, source.file);
      }
    } else {
      plan = await planFromFlags(pool, topology, policyFromFlags(flags), sampleKeysFrom(flags));
    }
    assertQueueSlotPinned(
      queueHome,
      plan,
      resumable ? 'the unfinished plan on the queue' : flags.file ? flags.file : 'the plan',
    );
  } finally {
    await pool.close();
  }
  if (plan.moves.length === 0) {
    await planQueue.close();
    process.stdout.write(`nothing to do: ${plan.reason ?? 'already balanced'}\n`);
    return 0;
  }
  process.stdout.write(renderPlan(plan, topology));
  const previous = await planQueue.currentPlan();
  const replaced = previous && previous.planId !== plan.planId ? previous : null;
  if (replaced && !(await planQueue.isCancelled(replaced.planId))) {
    const { done } = await planQueue.progress(replaced.planId, replaced.total);
    if (done < replaced.total) {
      process.stdout.write(
        `this replaces the unfinished plan ${replaced.planId} on the queue (${formatCount(done)} of ${formatCount(replaced.total)} ${noun(replaced.total, 'slot')} moved): its remaining slots are cancelled\n`,
      );
    }
  }
  if (
    !(await confirmOrRefuse(
      flags.yes,
      `move ${formatCount(plan.moves.length)} ${noun(plan.moves.length, 'slot')} (about ${formatBytes(plan.totals.bytes)})?`,
    ))
  ) {
    await planQueue.close();
    return 2;
  }

  if (replaced) {
    // Its remaining jobs were made for a cluster that no longer exists; skipping them keeps the
    // shared queue's workers on this plan only.
    await planQueue.cancel(replaced.planId);
  }
  const migrator = migratorOptionsFor(settings);
  const jobs = slotJobsFor(plan, topology);
  // Before the plan is recorded: an interrupt from here on is a clean stop (exit 1, none left open),
  // not the default death by signal (CI at 796f346 sent SIGINT just after the plan was recorded).
  let interrupted = false;
  const exitLeavingSlots = (why: string): never => {
    process.stderr.write(
      `\n${why}; slots in flight may be left open: \`${fixCommand(seeds)}\` closes them, then run the same apply to resume\n`,
    );
    process.exit(EXIT_INCOMPLETE);
  };
  const onSignal = (): void => {
    // The slots in flight may never finish (their nodes or the queue gone): a second interrupt is
    // the way out a terminal user expects, and the stop timeout the one a supervisor's single
    // SIGTERM needs (without it, such an apply waited until it was killed, saying nothing).
    if (interrupted) exitLeavingSlots('second interrupt: exiting without waiting');
    interrupted = true;
    exitAfterStopTimeout(stopTimeoutMs, exitLeavingSlots);
    process.stderr.write(
      `\nstopping: finishing the slots in flight so none is left open (at most ${stopTimeoutMs / 1000} s; interrupt again to exit at once)...\n`,
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  // Recorded before the jobs, so an apply killed while enqueueing is resumed by the next one.
  await planQueue.setCurrentPlan(plan.planId, jobs.length, planToJson(plan));

  // The workers start before the jobs are enqueued: jobs go in chunks in wave order, and enqueueing
  // 8,000 of them takes about 0.4 s in which the first slots can already move.
  const worker = flags.workers
    ? startSlotWorker({
        queueUrl,
        queueName: flags.queueName,
        cluster: connection,
        ...limits,
        migrator,
        log,
      })
    : null;

  const started = Date.now();
  const { added, alreadyDone } = await planQueue.enqueue(jobs, planMasters(topology));
  log.info(
    {
      planId: plan.planId,
      added,
      alreadyDone,
      queue: flags.queueName,
      ...(worker ? { ...limits, ...settings } : {}),
    },
    'plan enqueued',
  );
  const resumeCommand = `slotshift resume --queue ${printableQueueUrl(queueUrl)}${flags.queueName === DEFAULT_QUEUE_NAME ? '' : ` --queue-name ${flags.queueName}`}`;
  const followed = await follow(
    planQueue,
    plan,
    jobs.length,
    log,
    () => interrupted,
    resumeCommand,
    queueAddress(queueUrl),
  );
  await worker?.close();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  /** What to run to resume or finish the plan. */
  const again = flags.file ? `slotshift apply -f ${flags.file}` : 'the same slotshift apply command';
  if (followed === QUEUE_AWAY || followed === PLAN_LOST) {
    await planQueue.disconnect();
    const at = queueAddress(queueUrl);
    const [why, then] =
      followed === QUEUE_AWAY
        ? [
            `the queue Redis at ${at} did not answer, and what was moved is recorded there. `,
            `Once the queue Redis answers, run ${again} to resume.`,
          ]
        : [
            `the queue Redis at ${at} no longer holds the plan (restarted without its data?), so no slot of it can move. `,
            `Run ${again} to plan the rest from the cluster as it is now.`,
          ];
    return stoppedWithoutQueue(why, then, connection, seeds, planMasters(topology), log);
  }
  const final = await planQueue.progress(plan.planId, jobs.length);
  const failures = await planQueue.failures(plan.planId);
  const mismatches = final.mismatches
    ? await planQueue.mismatches(
        plan.planId,
        plan.moves.map((m) => m.slot),
      )
    : [];
  const bigKeys = await planQueue.bigKeys(plan.planId);
  const doneSlots = await planQueue.doneSlots(plan.planId);
  await planQueue.close();
  const after = await handOverAndReadAfter(connection, seeds, planMasters(topology), log);
  const notKept = after ? failoversNotKept(electionsBefore, after.elections, after.topology) : [];
  const notWherePlanned = after ? slotsNotWherePlanned(plan.moves, doneSlots, after.topology, topology) : [];

  const seconds = (Date.now() - started) / 1000;
  const verification = flags.verify
    ? `, ${formatCount(final.verified)} verified, ${plural(final.mismatches, 'mismatch', 'mismatches')}` +
      (final.writtenDuringMove
        ? ` (${plural(final.writtenDuringMove, 'key')} written by clients during their move, not compared)`
        : '')
    : ' (not verified: --no-verify)';
  process.stdout.write(
    `${formatCount(final.done)} of ${formatCount(final.total)} ${noun(final.total, 'slot')} moved (${formatCount(final.keys)} ${noun(final.keys, 'key')}, about ${formatBytes(final.bytes)}) in ${seconds.toFixed(1)} s` +
      verification +
      (final.failed ? `, ${final.failed} failed` : '') +
      (final.cancelled ? `, ${final.cancelled} cancelled` : '') +
      '\n',
  );
  if (bigKeys.length) {
    process.stdout.write(
      `${plural(bigKeys.length, 'big key')} moved alone (MEMORY USAGE over ${formatBytes(DEFAULT_BIG_KEY_BYTES)}):\n`,
    );
    for (const b of bigKeys.slice(0, 20)) {
      process.stdout.write(`  ${JSON.stringify(b.key)} in slot ${b.slot}: about ${formatBytes(b.bytes)}\n`);
    }
    if (bigKeys.length > 20) process.stdout.write(`  ... and ${bigKeys.length - 20} more (see the log)\n`);
  }
  for (const f of failures.slice(0, 20)) process.stdout.write(`  slot ${f.slot}: ${f.reason}\n`);
  for (const { replica, master } of notKept) {
    const masterName = master ? `${master.addr} (${shortId(master.id)})` : 'its master';
    log.warn({ replica: replica.id, master: master?.id ?? null }, 'a failover during the plan did not stick');
    process.stdout.write(
      `WARNING: replica ${replica.addr} (${shortId(replica.id)}) ran for master during the plan but is a replica of ${masterName} again: ` +
        'its failover lost the election or Redis undid it (a config-epoch collision with a master taking slots; see README). ' +
        `If the failover was wanted, run CLUSTER FAILOVER on ${replica.addr} again.\n`,
    );
  }
  for (const m of mismatches.slice(0, 50)) {
    process.stdout.write(
      `  MISMATCH slot ${m.slot}: key ${JSON.stringify(m.key)} ${m.problem} on the target\n`,
    );
  }
  for (const n of notWherePlanned) {
    log.error(
      { slot: n.slot, planned: n.planned, owner: n.owner },
      'a moved slot is not where the plan put it',
    );
    process.stdout.write(
      `  SLOT NOT WHERE PLANNED slot ${n.slot}: moved to ${shortId(n.planned)}, now owned by ${n.owner ? shortId(n.owner) : 'nobody'}. ` +
        'A failover during its move can hand a slot back, and Redis then drops the keys the target had received: ' +
        `check the slot's keys (slotshift verify --slots ${n.slot} against a snapshot), then run slotshift plan again.\n`,
    );
  }
  // Read, not assumed: a slot whose target died before owning any slot stays MIGRATING on its
  // source (Redis replaces only masters with slots), and anything else may open slots meanwhile.
  const leftOpen = after ? openSlots(after.topology) : [];
  reportOpenSlots(leftOpen, log);
  const complete = final.done === final.total;
  if (complete && after)
    for (const note of drainedMasterNotes(plan, after.topology)) process.stdout.write(`${note}\n`);
  if (leftOpen.length) {
    const them = leftOpen.length === 1 ? 'it' : 'them';
    const fix = `\`${fixCommand(seeds)}\``;
    // A plan stopped before its end may still have slots in flight in `slotshift worker` processes,
    // which fix must not close under them.
    const finished = final.done + final.failed + final.cancelled >= final.total;
    process.stdout.write(
      `${plural(leftOpen.length, 'open slot')} after the plan: ` +
        (finished
          ? `${fix} closes ${them}.\n`
          : `\`slotshift worker\` processes may still be moving ${them}; if none runs, ${fix} closes ${them}.\n`),
    );
  }
  if (!complete) {
    process.stdout.write(
      `not every slot moved; ${leftOpen.length ? 'close the open slots above, then run' : 'no slot is left open. Run'} ${again} to resume.\n`,
    );
  }
  if (mismatches.length || notWherePlanned.length || leftOpen.length) return EXIT_INCOMPLETE;
  return complete ? 0 : EXIT_INCOMPLETE;
}

/** The command that closes what a stopped apply left open. */
function fixCommand(seeds: readonly NodeAddress[]): string {
  return `slotshift fix --seed ${seeds[0]!.host}:${seeds[0]!.port}`;
}

/** Each slot left open (the first 20), in the log and on stdout. */
function reportOpenSlots(leftOpen: readonly OpenSlot[], log: Logger): void {
  for (const o of leftOpen.slice(0, 20)) {
    log.error({ slot: o.slot, node: o.nodeId, state: o.state, peer: o.peerId }, 'slot left open');
    process.stdout.write(
      `  OPEN slot ${o.slot}: ${o.state} on ${shortId(o.nodeId)} ${o.state === 'migrating' ? 'to' : 'from'} ${shortId(o.peerId)}\n`,
    );
  }
}

/**
 * The end of an apply stopped without its queue Redis (away, or back without the plan): what was
 * done is not to be read there, so only the cluster is, for slots left open. The slots in flight
 * closed on the cluster before the workers stopped (they do not wait for the queue Redis to close).
 * `why` says what happened; `then` how to go on.
 */
async function stoppedWithoutQueue(
  why: string,
  then: string,
  connection: ConnectionOptions,
  seeds: readonly NodeAddress[],
  planned: readonly PlannedMaster[],
  log: Logger,
): Promise<number> {
  const after = await handOverAndReadAfter(connection, seeds, planned, log);
  const leftOpen = after ? openSlots(after.topology) : [];
  reportOpenSlots(leftOpen, log);
  const open = countOpenSlots(leftOpen);
  process.stdout.write(
    `stopped with the plan unfinished: ${why}` +
      (after
        ? open
          ? `${plural(open, 'slot')} left open: \`${fixCommand(seeds)}\` closes ${open === 1 ? 'it' : 'them'}. `
          : 'No slot is left open. '
        : 'The cluster could not be read to check for open slots (`slotshift status` shows them). ') +
      `${then}\n`,
  );
  return EXIT_INCOMPLETE;
}

/**
 * The cluster after the plan, and the elections each node has run; null if it cannot be read. First
 * gives slots left to a dead master to the replica elected in its place (OrphanSweeper), so
 * what is read is the cluster as the plan leaves it.
 */
async function handOverAndReadAfter(
  connection: ConnectionOptions,
  seeds: readonly NodeAddress[],
  planned: readonly PlannedMaster[],
  log: Logger,
): Promise<{ topology: Topology; elections: Map<string, number> } | null> {
  const pool = new NodePool(connection);
  try {
    // A target that died just after taking its last slots leaves them to no live owner (its elected
    // replica had not heard of them), and the cluster down, even when no job is left to retry.
    await new OrphanSweeper(pool, log).sweep(planned);
    const topology = await readTopology(pool, seeds);
    return { topology, elections: await electionsRun(pool, topology.nodes) };
  } catch {
    return null;
  } finally {
    await pool.close();
  }
}

/**
 * Slots left when progress is read every 20 ms instead of 200: apply exits once it reads that the
 * last slot moved, and at 200 ms that reading came on average 100 ms after it (2.5% of a
 * 2,730-slot drain that takes 4 s).
 */
const FINAL_STRETCH_SLOTS = 100;

/**
 * How long a progress read may take before apply says the queue Redis is not answering. A read
 * takes milliseconds; ioredis keeps one waiting for good while the queue Redis is away.
 */
const QUEUE_SILENT_MS = 3_000;

/** Returned by `follow` when a stop was asked for while the queue Redis did not answer. */
const QUEUE_AWAY = 'queue-away';
/** Returned by `follow` when the queue Redis answers without the plan (restarted without its data). */
const PLAN_LOST = 'plan-lost';
/** How often `follow` checks that the plan is still on the queue Redis. */
const PLAN_CHECK_MS = 2_000;

async function follow(
  planQueue: PlanQueue,
  plan: Plan,
  total: number,
  log: Logger,
  stopRequested: () => boolean,
  resumeCommand: string,
  queueAddress: string,
): Promise<PlanProgress | typeof QUEUE_AWAY | typeof PLAN_LOST> {
  const tty = Boolean(process.stderr.isTTY);
  const bar = tty
    ? new SingleBar(
        {
          format:
            'slots {bar} {value}/{total} | {keys} keys, ~{bytes} | {rate} keys/s, ~{byteRate}/s | ETA {eta_formatted}{state}',
          stream: process.stderr,
        },
        Presets.shades_classic,
      )
    : null;
  bar?.start(total, 0, { keys: 0, rate: 0, bytes: formatBytes(0), byteRate: formatBytes(0), state: '' });
  const started = Date.now();
  let lastLog = 0;
  let paused = false;
  let silentSince: number | null = null;
  let planCheckedAt = Date.now();
  /** A read the queue Redis has not answered yet: waited for again rather than piled up behind. */
  let pending: Promise<PlanProgress> | null = null;
  for (;;) {
    pending ??= planQueue.progress(plan.planId, total);
    const read = await settleWithin(pending, QUEUE_SILENT_MS);
    if (read === TIMED_OUT) {
      if (silentSince === null) {
        silentSince = Date.now() - QUEUE_SILENT_MS;
        // Info: the worker's warning says it already, and on a terminal the line below is the one to read.
        log.info({ queue: queueAddress }, 'queue Redis not answering');
        bar?.stop();
        process.stderr.write(
          `\nthe queue Redis at ${queueAddress} is not answering: the slots in flight close on the cluster, and the plan goes on once it answers (Ctrl-C stops; running the same apply later resumes)\n`,
        );
      }
      if (stopRequested()) return QUEUE_AWAY;
      continue;
    }
    pending = null;
    if (silentSince !== null) {
      const seconds = ((Date.now() - silentSince) / 1000).toFixed(0);
      log.info({ queue: queueAddress, silentS: Number(seconds) }, 'queue Redis answering again');
      process.stderr.write(`the queue Redis answers again (after about ${seconds} s); going on\n`);
      silentSince = null;
      bar?.start(total, 0);
    }
    const p = read;
    // A queue Redis restarted without its data answers as if the plan had never been: no slot
    // would ever move again, and apply waited for good. Another apply's plan replacing this one is
    // not this (it cancels this plan's slots, which ends the wait below).
    if (Date.now() - planCheckedAt >= PLAN_CHECK_MS) {
      planCheckedAt = Date.now();
      // Bounded as the progress read: a queue Redis gone since is noticed by the next one.
      if ((await settleWithin(planQueue.currentPlan(), QUEUE_SILENT_MS)) === null) {
        bar?.stop();
        return PLAN_LOST;
      }
    }
    const finished = p.done + p.failed + p.cancelled;
    const seconds = Math.max(0.001, (Date.now() - started) / 1000);
    bar?.update(finished, {
      keys: formatCount(p.keys),
      rate: formatCount(Math.round(p.keys / seconds)),
      bytes: formatBytes(p.bytes),
      byteRate: formatBytes(Math.round(p.bytes / seconds)),
      state: p.paused ? ` | PAUSED: ${resumeCommand} to go on` : '',
    });
    if (p.paused !== paused) {
      // Someone ran `slotshift pause` (or this apply found the queue paused): say why nothing moves.
      paused = p.paused;
      log.info({ planId: plan.planId, done: p.done, total }, paused ? 'queue paused' : 'queue resumed');
      if (!tty) {
        process.stderr.write(
          paused
            ? `queue paused: the slots in flight finish and no new one starts until \`${resumeCommand}\`\n`
            : 'queue resumed\n',
        );
      }
    }
    if (!tty && Date.now() - lastLog > 5000) {
      lastLog = Date.now();
      log.info(
        {
          planId: plan.planId,
          done: p.done,
          failed: p.failed,
          total,
          keys: p.keys,
          estimatedBytes: p.bytes,
          paused: p.paused,
        },
        'progress',
      );
    }
    if (finished >= total || stopRequested()) {
      bar?.stop();
      return p;
    }
    await new Promise((r) => setTimeout(r, total - finished <= FINAL_STRETCH_SLOTS ? 20 : 200));
  }
}

/** The queue's current plan when it is unfinished and still fits the cluster, with what it was made for. */
async function unfinishedPlan(
  q: PlanQueue,
  topology: Topology,
): Promise<{ plan: Plan; madeFor: Topology; done: number; total: number } | null> {
  const current = await q.currentPlan();
  if (!current?.planJson) return null;
  const p = await q.progress(current.planId, current.total);
  if (p.done >= p.total) return null;
  const plan = parsePlan(current.planJson);
  try {
    const madeFor = assertPlanApplies(plan, topology, { allowOwnOpenSlots: true });
    return { plan, madeFor, done: p.done, total: p.total };
  } catch {
    // The cluster moved on (another tool, another plan): a fresh plan is made instead.
    return null;
  }
}

/**
 * The unfinished plan on the queue that this apply resumes, or null to plan from the flags. Running
 * `apply` again resumes (after Ctrl-C, a kill, `cancel`): with no policy flags, or with flags that
 * make the same plan. Flags that make another plan used to resume the queue's plan all the same,
 * moving slots nobody asked for; now they are refused while that plan may still run, and plan anew
 * once it was cancelled.
 */
async function planToResume(
  q: PlanQueue,
  topology: Topology,
  flags: ApplyFlags,
  policyFlags: readonly string[],
  queueUrl: string,
): Promise<Plan | null> {
  const unfinished = await unfinishedPlan(q, topology);
  if (!unfinished) return null;
  const { plan, madeFor } = unfinished;
  if (policyFlags.length === 0) return plan;
  const policy = policyFromFlags(flags);
  // Flags that name no master of the cluster are wrong whatever the queue holds.
  resolveFlagPolicy(topology, policy);
  const differs = policyDifferences(plan.policy, policy, madeFor);
  if (differs.length === 0) return plan;
  if (await q.isCancelled(plan.planId)) {
    process.stdout.write(
      `plan ${plan.planId} on the queue was cancelled and the flags make a different plan: it is not resumed\n`,
    );
    return null;
  }
  const groups = groupMoves(plan);
  const moves = groups
    .slice(0, 3)
    .map(
      (g) =>
        `${addrOf(madeFor, g.from)} -> ${addrOf(madeFor, g.to)}: ${formatCount(g.slots)} ${noun(g.slots, 'slot')}`,
    )
    .join(', ');
  const queueName = flags.queueName === DEFAULT_QUEUE_NAME ? '' : ` --queue-name ${flags.queueName}`;
  throw new UnfinishedPlanError(
    plan.planId,
    `${formatCount(unfinished.done)} of ${formatCount(unfinished.total)} ${noun(unfinished.total, 'slot')} moved; ${moves}${groups.length > 3 ? ', ...' : ''}`,
    policyFlags,
    differs,
    'the same apply without the policy flags',
    `slotshift cancel --queue ${printableQueueUrl(queueUrl)}${queueName} --plan ${plan.planId}`,
  );
}
