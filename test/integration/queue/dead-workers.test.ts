import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { recordWorker, reclaimDeadWorkersJobs, watchDeadWorkers } from '../../../src/queue/dead-workers.js';
import { useRedis } from '../../harness/index.js';

const LOCK_MS = 30_000;
const DEAD_WORKERS = pathToFileURL(
  join(import.meta.dirname, '..', '..', '..', 'dist', 'src', 'queue', 'dead-workers.js'),
);

/**
 * A worker process as slotshift starts one (its owner recorded, then run), whose processor prints
 * the job it took and never finishes: the job stays active, locked by this process.
 */
function holdingWorker(url: string, queueName: string): { child: ChildProcess; took: Promise<string> } {
  const source = `
    import { Worker } from 'bullmq';
    import { Redis } from 'ioredis';
    import { pino } from 'pino';
    import { recordWorker } from ${JSON.stringify(DEAD_WORKERS.href)};
    const connection = new Redis(${JSON.stringify(url)}, { maxRetriesPerRequest: null });
    const worker = new Worker(${JSON.stringify(queueName)}, async (job) => {
      process.stdout.write(job.id + '\\n');
      await new Promise(() => undefined);
    }, { connection, concurrency: 1, lockDuration: ${LOCK_MS}, autorun: false });
    await recordWorker(connection, worker, ${JSON.stringify(queueName)});
    void worker.run();
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', source], {
    cwd: join(import.meta.dirname, '..', '..', '..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const took = new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before taking a job`)));
  });
  return { child, took };
}

describe('jobs of a killed worker process on this machine', () => {
  let url: string;
  const children: ChildProcess[] = [];
  const closers: Array<() => Promise<unknown>> = [];
  beforeAll(async () => {
    url = (await useRedis()).url;
  });
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(closers.splice(0).map((close) => close()));
  });
  const openQueue = (queueName: string): { redis: Redis; queue: Queue } => {
    const redis = new Redis(url, { maxRetriesPerRequest: null });
    const queue = new Queue(queueName, { connection: redis });
    closers.push(
      () => queue.close(),
      () => redis.quit(),
    );
    return { redis, queue };
  };
  /** A worker of this process that records the jobs it runs (and finishes them at once); not started. */
  const recordingWorker = (queueName: string, stalledInterval: number): { worker: Worker; ran: string[] } => {
    const ran: string[] = [];
    const connection = new Redis(url, { maxRetriesPerRequest: null });
    const worker = new Worker(
      queueName,
      (job) => {
        ran.push(job.id!);
        return Promise.resolve();
      },
      { connection, concurrency: 4, lockDuration: LOCK_MS, stalledInterval, autorun: false },
    );
    closers.push(
      () => worker.close(),
      () => connection.quit(),
    );
    return { worker, ran };
  };

  it('go back to the queue when the next worker starts, long before their locks expire; a live process keeps its job', async () => {
    const queueName = 'reclaim';
    const { redis, queue } = openQueue(queueName);
    await queue.add('slot', {}, { jobId: 'first' });
    const live = holdingWorker(url, queueName);
    children.push(live.child);
    const liveJob = await live.took;
    await queue.add('slot', {}, { jobId: 'second' });
    const killed = holdingWorker(url, queueName);
    children.push(killed.child);
    const killedJob = await killed.took;
    killed.child.kill('SIGKILL');
    await once(killed.child, 'exit');

    const started = Date.now();
    const { worker: next, ran } = recordingWorker(queueName, LOCK_MS);
    await recordWorker(redis, next, queueName);
    await reclaimDeadWorkersJobs(redis, next, queueName, pino({ level: 'silent' }));
    void next.run();
    while (!ran.includes(killedJob) && Date.now() - started < LOCK_MS / 2)
      await new Promise((r) => setTimeout(r, 50));

    expect(ran).toEqual([killedJob]);
    // BullMQ alone would have left it until the lock expired and a stalled check ran.
    expect(Date.now() - started).toBeLessThan(LOCK_MS / 2);
    // The live process's job is still its own: active, under its lock.
    expect(await queue.getJobState(liveJob)).toBe('active');
    expect(await redis.exists(`bull:${queueName}:${liveJob}:lock`)).toBe(1);
    // The killed worker's record is gone; the live one's and the new one's remain.
    expect(Object.keys(await redis.hgetall(`${queueName}:slotshift:worker-owners`))).toHaveLength(2);
  });

  it('go back to the queue while another worker of this machine runs, within its stalled-check interval', async () => {
    const queueName = 'watch';
    const { redis, queue } = openQueue(queueName);
    // The running worker starts first, with nothing to do; then a process takes the only job.
    const { worker: running, ran } = recordingWorker(queueName, 2_000);
    await recordWorker(redis, running, queueName);
    void running.run();
    const stopWatch = watchDeadWorkers(redis, running, queueName, pino({ level: 'silent' }), 200);
    closers.push(() => Promise.resolve(stopWatch()));
    const killed = holdingWorker(url, queueName);
    children.push(killed.child);
    // Only once the holding worker has registered and waits for jobs, so the running one cannot take it.
    await running.pause();
    await queue.add('slot', {}, { jobId: 'held' });
    expect(await killed.took).toBe('held');
    running.resume();
    killed.child.kill('SIGKILL');
    await once(killed.child, 'exit');
    const started = Date.now();
    while (!ran.includes('held') && Date.now() - started < LOCK_MS / 2)
      await new Promise((r) => setTimeout(r, 50));
    expect(ran).toEqual(['held']);
    expect(Date.now() - started).toBeLessThan(LOCK_MS / 2);
  });
});
