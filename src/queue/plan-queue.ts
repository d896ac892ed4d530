import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { errorSafeSockets, luaScript, runScript } from '../cluster/index.js';
import {
  MOVE_SLOT_JOB,
  planKeys,
  slotJobId,
  type JobEndpoint,
  type SlotJobData,
  type SlotJobResult,
} from './slot-job.js';

export interface PlanProgress {
  readonly total: number;
  readonly done: number;
  readonly failed: number;
  readonly cancelled: number;
  readonly keys: number;
  /** Bytes of the slots done, from the plan's per-slot estimates (sampled MEMORY USAGE). */
  readonly bytes: number;
  readonly verified: number;
  readonly mismatches: number;
  /** Keys a client wrote on the target while their slot moved: may differ without being lost. */
  readonly writtenDuringMove: number;
  readonly paused: boolean;
}

/**
 * Tries per slot for transient failures (IOERR, connection loss, CLUSTERDOWN), 500 ms apart and
 * doubling: the last comes 31.5 s after the first failure. A master that dies is replaced by its
 * replica only after the node timeout (15 s by default) and an election; 5 tries (7.5 s) would have
 * given up on every slot of a dead source before its replica took over.
 */
export const SLOT_JOB_ATTEMPTS = 7;

/** KEYS: job hashes. Output: each job's failedReason and returnvalue fields (nil when absent), in turn. */
const FAILED_REASONS_AND_RESULTS = luaScript(`
local out = {}
for i = 1, #KEYS do
  local fields = redis.call('HMGET', KEYS[i], 'failedReason', 'returnvalue')
  out[2 * i - 1] = fields[1]
  out[2 * i] = fields[2]
end
return out`);

function cancelledResult(json: string): boolean {
  try {
    return (JSON.parse(json) as Partial<SlotJobResult> | null)?.outcome === 'cancelled';
  } catch {
    return false;
  }
}

/** The producer side: enqueue a plan's slots, follow them, pause/resume/cancel. */
export class PlanQueue {
  readonly queue: Queue<SlotJobData, SlotJobResult>;
  private readonly redis: Redis;

  constructor(
    queueUrl: string,
    readonly queueName: string,
  ) {
    // Auto-pipelining: enqueueing reads every slot's job first, and one write per command made that
    // read most of the time between confirming and the first slot moving.
    this.redis = new Redis(queueUrl, {
      maxRetriesPerRequest: null,
      enableAutoPipelining: true,
      ...errorSafeSockets,
    });
    this.queue = new Queue<SlotJobData, SlotJobResult>(queueName, { connection: this.redis });
  }

  /**
   * Adds one job per slot. Idempotent: a slot already done is skipped, a job already waiting or
   * running is left alone (same job id), and a job that failed or was cancelled before is replaced,
   * so running `apply` again resumes.
   */
  async enqueue(
    jobs: readonly SlotJobData[],
    masters: readonly JobEndpoint[],
  ): Promise<{ added: number; alreadyDone: number }> {
    if (jobs.length === 0) return { added: 0, alreadyDone: 0 };
    const planId = jobs[0]!.planId;
    const keys = planKeys(this.queueName, planId);
    const [, , doneSlots] = await Promise.all([
      this.redis.del(keys.cancel),
      this.redis.set(keys.masters, JSON.stringify(masters)),
      this.redis.smembers(keys.done),
    ]);
    const done = new Set(doneSlots);
    const todo = jobs.filter((j) => !done.has(String(j.slot)));
    for (let i = 0; i < todo.length; i += 1000) {
      const chunk = todo.slice(i, i + 1000);
      const ended = await this.failedOrCancelled(chunk.map((j) => slotJobId(planId, j.slot)));
      await Promise.all(
        ended.map(async (id) => {
          const job = await this.queue.getJob(id);
          if (job && ((await job.isCompleted()) || (await job.isFailed()))) await job.remove();
        }),
      );
      await this.redis
        .pipeline()
        .srem(keys.failed, ...chunk.map((j) => String(j.slot)))
        .srem(`${keys.failed}:cancelled`, ...chunk.map((j) => String(j.slot)))
        .exec();
      await this.queue.addBulk(
        chunk.map((data) => ({
          name: MOVE_SLOT_JOB,
          data,
          opts: {
            jobId: slotJobId(planId, data.slot),
            attempts: SLOT_JOB_ATTEMPTS,
            backoff: { type: 'exponential', delay: 500 },
            removeOnComplete: { age: 7 * 24 * 3600 },
            removeOnFail: { age: 7 * 24 * 3600 },
          },
        })),
      );
    }
    return { added: todo.length, alreadyDone: jobs.length - todo.length };
  }

  /**
   * The ids among `jobIds` of jobs that failed or were cancelled, read with one script call: a
   * `getJob` per slot (HGETALL and a Job built from it) was 8,000 commands and as many parses at
   * the start of every plan, while the first slots were already moving.
   */
  private async failedOrCancelled(jobIds: readonly string[]): Promise<string[]> {
    const reply = (await runScript(
      this.redis,
      FAILED_REASONS_AND_RESULTS,
      jobIds.map((id) => this.queue.toKey(id)),
      [],
    )) as Array<string | null>;
    return jobIds.filter((_, i) => {
      const [failedReason, result] = [reply[2 * i], reply[2 * i + 1]];
      return failedReason != null || (result != null && cancelledResult(result));
    });
  }

  async progress(planId: string, total: number): Promise<PlanProgress> {
    const keys = planKeys(this.queueName, planId);
    const [done, failed, cancelled, stats, paused] = await Promise.all([
      this.redis.scard(keys.done),
      this.redis.scard(keys.failed),
      this.redis.scard(`${keys.failed}:cancelled`),
      this.redis.hgetall(keys.stats),
      this.queue.isPaused(),
    ]);
    return {
      total,
      done,
      failed,
      cancelled,
      keys: Number(stats['keys'] ?? 0),
      bytes: Number(stats['bytes'] ?? 0),
      verified: Number(stats['verified'] ?? 0),
      mismatches: Number(stats['mismatches'] ?? 0),
      writtenDuringMove: Number(stats['writtenDuringMove'] ?? 0),
      paused,
    };
  }

  /** The slots of a plan that have moved (the `done` set). */
  async doneSlots(planId: string): Promise<Set<number>> {
    return new Set((await this.redis.smembers(planKeys(this.queueName, planId).done)).map(Number));
  }

  async failures(planId: string): Promise<Array<{ slot: number; reason: string }>> {
    const reasons = await this.redis.hgetall(`${planKeys(this.queueName, planId).failed}:reasons`);
    const failed = await this.redis.smembers(planKeys(this.queueName, planId).failed);
    return failed
      .map((s) => ({ slot: Number(s), reason: reasons[s] ?? 'unknown' }))
      .sort((a, b) => a.slot - b.slot);
  }

  /** Slots with verification mismatches, from the completed jobs' results. */
  async mismatches(
    planId: string,
    slots: readonly number[],
  ): Promise<Array<{ slot: number; key: string; problem: string }>> {
    const out: Array<{ slot: number; key: string; problem: string }> = [];
    for (let i = 0; i < slots.length; i += 1000) {
      const jobs = await Promise.all(
        slots.slice(i, i + 1000).map((s) => this.queue.getJob(slotJobId(planId, s))),
      );
      for (const j of jobs)
        for (const m of j?.returnvalue?.mismatches ?? []) out.push({ slot: j!.data.slot, ...m });
    }
    return out;
  }

  /** Keys moved alone for their size, biggest first. */
  async bigKeys(planId: string): Promise<Array<{ key: string; slot: number; bytes: number }>> {
    const all = await this.redis.hgetall(planKeys(this.queueName, planId).bigKeys);
    return Object.entries(all)
      .map(([key, json]) => ({ key, ...(JSON.parse(json) as { slot: number; bytes: number }) }))
      .sort((a, b) => b.bytes - a.bytes || a.key.localeCompare(b.key));
  }

  pause(): Promise<void> {
    return this.queue.pause();
  }

  resume(): Promise<void> {
    return this.queue.resume();
  }

  /** Slots not yet started are skipped (recorded as cancelled); slots in flight finish and close. */
  async cancel(planId: string): Promise<void> {
    await this.redis.set(planKeys(this.queueName, planId).cancel, '1', 'EX', 7 * 24 * 3600);
  }

  /** Whether `cancel` was run on the plan and no apply has resumed it since (enqueue clears it). */
  async isCancelled(planId: string): Promise<boolean> {
    return (await this.redis.exists(planKeys(this.queueName, planId).cancel)) === 1;
  }

  /**
   * Slots of a plan that have not started: neither finished (moved, failed, cancelled) nor in a
   * worker's hands. These are what a cancel skips; the ones in flight finish and close.
   */
  async waitingSlots(planId: string, total: number): Promise<number> {
    const [p, active] = await Promise.all([this.progress(planId, total), this.queue.getActive()]);
    const prefix = slotJobId(planId, 0).replace(/0$/, '');
    const inFlight = active.filter((j) => j.id?.startsWith(prefix)).length;
    return Math.max(0, total - p.done - p.failed - p.cancelled - inFlight);
  }

  /**
   * The plan most recently enqueued on this queue, kept whole so a later `apply` can resume it and
   * `pause`/`cancel` can name it without a plan id. Every plan is also listed (id, slots, when) so
   * the control commands can tell a plan id that was never enqueued here from one that was.
   */
  async setCurrentPlan(planId: string, total: number, planJson: string): Promise<void> {
    await Promise.all([
      this.redis.hset(`${this.queueName}:slotshift:current`, {
        planId,
        total: String(total),
        plan: planJson,
      }),
      this.redis.hset(this.plansKey, planId, JSON.stringify({ total, enqueuedAt: new Date().toISOString() })),
    ]);
  }

  private get plansKey(): string {
    return `${this.queueName}:slotshift:plans`;
  }

  /**
   * The plans enqueued on this queue, the latest first. Plans enqueued by builds that kept no list
   * are known only while they are the current one.
   */
  async plans(): Promise<Array<{ planId: string; total: number; enqueuedAt: string | null }>> {
    const [current, listed] = await Promise.all([this.currentPlan(), this.redis.hgetall(this.plansKey)]);
    const plans = Object.entries(listed).map(([planId, json]) => {
      try {
        const v = JSON.parse(json) as { total?: number; enqueuedAt?: string };
        return { planId, total: Number(v.total ?? 0), enqueuedAt: v.enqueuedAt ?? null };
      } catch {
        return { planId, total: 0, enqueuedAt: null };
      }
    });
    plans.sort((a, b) => (b.enqueuedAt ?? '').localeCompare(a.enqueuedAt ?? ''));
    if (current) {
      const i = plans.findIndex((p) => p.planId === current.planId);
      const entry =
        i >= 0 ? plans.splice(i, 1)[0]! : { planId: current.planId, total: current.total, enqueuedAt: null };
      plans.unshift({ ...entry, total: current.total });
    }
    return plans;
  }

  /**
   * A plan enqueued on this queue, with its slot count; null when none of that id was. A plan of
   * an earlier build, missing from the list, is still known by the masters stored at its enqueue
   * (its slot count is then unknown: 0).
   */
  async findPlan(planId: string): Promise<{ planId: string; total: number } | null> {
    const known = (await this.plans()).find((p) => p.planId === planId);
    if (known) return { planId, total: known.total };
    return (await this.redis.exists(planKeys(this.queueName, planId).masters)) === 1
      ? { planId, total: 0 }
      : null;
  }

  async currentPlan(): Promise<{ planId: string; total: number; planJson: string } | null> {
    const h = await this.redis.hgetall(`${this.queueName}:slotshift:current`);
    return h['planId']
      ? { planId: h['planId'], total: Number(h['total'] ?? 0), planJson: h['plan'] ?? '' }
      : null;
  }

  async close(): Promise<void> {
    await this.queue.close();
    await this.redis.quit();
  }

  /**
   * Closes without a word to the server: for a queue Redis that never answered (QUIT would wait in
   * the offline queue for a connection that never comes) or refused the connection.
   */
  async disconnect(): Promise<void> {
    // Disconnected first: the queue shares the connection, and its close then waits for nothing.
    this.redis.disconnect();
    await this.queue.close();
  }
}
