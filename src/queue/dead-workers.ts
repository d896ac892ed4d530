import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { luaScript, runScript } from '../cluster/index.js';
import { workerOwnersKey } from './slot-job.js';

/**
 * The machine a process runs on, as seen by its process ids: the host name, the boot and the pid
 * namespace (two containers on one host share a boot but not a namespace, so one's pid 7 says
 * nothing of the other's). Null off Linux, where none of this is read: there a killed process's
 * slot jobs wait for BullMQ's lock to expire, as everywhere before.
 */
export function pidSpace(): string | null {
  // Read once: it cannot change while the process runs, and the watch asks every 2 s.
  if (knownSpace === undefined) {
    try {
      const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
      knownSpace = `${hostname()}/${boot}/${readlinkSync('/proc/self/ns/pid')}`;
    } catch {
      knownSpace = null;
    }
  }
  return knownSpace;
}
let knownSpace: string | null | undefined;

/**
 * Whether a process id names a running process in this pid namespace. Only ESRCH says it does not:
 * EPERM (another user's) and anything unexpected count as running, so its jobs wait for their locks.
 */
export function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

interface Owner {
  readonly space: string;
  readonly pid: number;
}

/**
 * The dead owners, as worker ids: those in `space` whose process no longer runs. A record of this
 * process's own pid counts as alive (another worker of this process, or a pid reused after a
 * restart, whose jobs then wait for their locks as before).
 */
export function deadOwners(
  owners: Readonly<Record<string, string>>,
  space: string,
  self: number,
  runs: (pid: number) => boolean,
): string[] {
  const dead: string[] = [];
  for (const [workerId, json] of Object.entries(owners)) {
    let owner: Owner;
    try {
      owner = JSON.parse(json) as Owner;
    } catch {
      continue;
    }
    // A record without a usable pid (another build's, a garbled one) proves nothing: alive.
    const pid = owner.pid;
    if (owner.space === space && Number.isInteger(pid) && pid > 0 && pid !== self && !runs(pid))
      dead.push(workerId);
  }
  return dead;
}

/**
 * KEYS: [active, stalled, stalled-check, owners]  ARGV: [queue key prefix, dead worker ids...]
 * Output: the ids of the jobs put up for BullMQ's stalled check.
 * Each active job whose lock a dead worker holds (BullMQ's lock token is `<worker id>:<n>`), or
 * whose lock is gone, loses its lock and joins the stalled set; with the stalled-check mark gone,
 * the next stalled check (a worker runs one when it starts) moves them back to wait, counting the
 * stall as BullMQ does. A job locked by a live worker is never touched: should BullMQ write its
 * token another way, nothing matches and the jobs wait for their locks as before.
 */
const RECLAIM = luaScript(`
local dead = {}
for i = 2, #ARGV do
  dead[ARGV[i]] = true
  redis.call('HDEL', KEYS[4], ARGV[i])
end
local reclaimed = {}
for _, id in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local lock = ARGV[1] .. id .. ':lock'
  local token = redis.call('GET', lock)
  local owner = token and string.match(token, '^([^:]+):')
  if not token or (owner and dead[owner]) then
    redis.call('DEL', lock)
    redis.call('SADD', KEYS[2], id)
    reclaimed[#reclaimed + 1] = id
  end
end
if #reclaimed > 0 then redis.call('DEL', KEYS[3]) end
return reclaimed
`);

/** How long an owner record outlives its worker when nobody reclaims it (a killed worker elsewhere). */
const OWNER_KEPT_S = 7 * 24 * 3600;

/** Records which process on which machine runs `worker`, for the workers that start after it dies. */
export async function recordWorker(redis: Redis, worker: Worker, queueName: string): Promise<void> {
  const space = pidSpace();
  if (!space) return;
  const key = workerOwnersKey(queueName);
  await redis
    .multi()
    .hset(key, worker.id, JSON.stringify({ space, pid: process.pid } satisfies Owner))
    .expire(key, OWNER_KEPT_S)
    .exec()
    .catch(() => undefined);
}

/**
 * Gives the slot jobs of recorded processes on this machine that were killed (kill -9, a crash, the
 * OOM killer) back to the queue: the next stalled check of any worker moves them to wait. Without
 * it, a resumed apply waited 10-15 s for the killed process's BullMQ locks to expire and two stalled
 * checks to pass. Run before a worker's first stalled check (before `worker.run()`) to have them
 * back at once. Any failure leaves things as they were: the jobs then wait for their locks.
 */
export async function reclaimDeadWorkersJobs(
  redis: Redis,
  worker: Worker,
  queueName: string,
  log: Logger,
): Promise<void> {
  const space = pidSpace();
  if (!space) return;
  const key = workerOwnersKey(queueName);
  try {
    const owners = await redis.hgetall(key);
    const dead = deadOwners(owners, space, process.pid, processRuns);
    if (!dead.length) return;
    const k = worker.keys;
    const jobs = (await runScript(
      redis,
      RECLAIM,
      [k['active']!, k['stalled']!, k['stalled-check']!, key],
      [worker.toKey(''), ...dead],
    )) as string[];
    if (jobs.length)
      log.info(
        { jobs: jobs.length, pids: dead.map((id) => (JSON.parse(owners[id]!) as Owner).pid) },
        'slot jobs of a killed process on this machine go back to the queue now, not when their locks expire',
      );
  } catch (e) {
    log.debug({ err: e }, 'could not look for slot jobs of killed processes; they wait for their locks');
  }
}

/**
 * Looks for killed processes every `everyMs` while `worker` runs, so a `slotshift worker` killed
 * beside a running one on the same machine has its slots taken over within about one stalled-check
 * interval, not after its locks expire. Cheap: one HGETALL, and the script only when one died.
 */
export function watchDeadWorkers(
  redis: Redis,
  worker: Worker,
  queueName: string,
  log: Logger,
  everyMs: number,
): () => void {
  if (!pidSpace()) return () => undefined;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void reclaimDeadWorkersJobs(redis, worker, queueName, log).finally(() => (busy = false));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** Says goodbye: a worker closed cleanly holds no job, and its record is not needed. */
export async function forgetWorker(redis: Redis, worker: Worker, queueName: string): Promise<void> {
  await redis.hdel(workerOwnersKey(queueName), worker.id).catch(() => undefined);
}
