import { getPriority, setPriority } from 'node:os';
import { Option, type Command } from 'commander';
import { InvalidOptionError, QueueMovedError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { parsePositiveInt } from './parse-flags.js';
import { DEFAULT_NICE, DEFAULT_QUEUE_NAME, DEFAULT_WORKER_LIMITS, queueDatabase } from '../queue/index.js';

export interface QueueFlags {
  queue?: string;
  queueName: string;
  /** A slotshift config file for what the flags leave out (see withConfigFile). */
  config?: string;
}

export function withQueueOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--queue <url>',
        'Redis that holds the job queue, e.g. redis://127.0.0.1:6379: a separate Redis, or a node of the cluster only with a hash-tagged --queue-name and its slot pinned (README: the queue on the cluster)',
      ).env('SLOTSHIFT_QUEUE_URL'),
    )
    .option('--queue-name <name>', 'BullMQ queue name', DEFAULT_QUEUE_NAME)
    .option(
      '-c, --config <file>',
      "a slotshift config file (as the daemon's, see config/slotshift.yaml): the queue, and the cluster seeds and credentials, where no flag gives them",
    );
}

export function queueUrlFrom(flags: QueueFlags): string {
  if (!flags.queue) {
    throw new InvalidOptionError(
      '--queue',
      'a queue Redis is required: --queue redis://HOST:PORT or SLOTSHIFT_QUEUE_URL',
    );
  }
  try {
    const u = new URL(flags.queue);
    if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error('scheme');
  } catch {
    throw new InvalidOptionError('--queue', `"${flags.queue}" is not a redis:// or rediss:// URL`);
  }
  // A malformed database part is refused before anything connects; probeQueue checks it exists.
  queueDatabase(flags.queue);
  return flags.queue;
}

/** Lowers this process's CPU priority to `nice`; a refusal (a sandbox without it) only warns. */
export function lowerCpuPriority(nice: number, log: Logger): void {
  if (nice === 0) return;
  try {
    // Only ever lowers the priority (a higher nice), which needs no privilege.
    if (getPriority() < nice) setPriority(nice);
  } catch (e) {
    log.warn({ err: e, nice }, 'could not lower the CPU priority; running at the current one');
  }
}

export interface WorkerFlags {
  concurrency: string;
  perNode: string;
  groupSlots: string;
  nice: string;
}

/** The worker flags `apply` and `worker` share, checked; lowers this process's priority to --nice. */
export function workerSizingFrom(
  flags: WorkerFlags,
  log: Logger,
): { concurrency: number; perNodeLimit: number; groupSlots: number } {
  const nice = Number(flags.nice);
  if (!Number.isInteger(nice) || nice < 0 || nice > 19) {
    throw new InvalidOptionError('--nice', `"${flags.nice}" is not a whole number from 0 to 19`);
  }
  const sizing = {
    concurrency: parsePositiveInt('--concurrency', flags.concurrency),
    perNodeLimit: parsePositiveInt('--per-node', flags.perNode),
    groupSlots: parsePositiveInt('--group-slots', flags.groupSlots),
  };
  lowerCpuPriority(nice, log);
  return sizing;
}

/** The worker sizing options `apply` and `worker` share; defaults chosen with `npm run bench`. */
export function withWorkerOptions(cmd: Command): Command {
  return cmd
    .option(
      '--concurrency <n>',
      'slots this process moves at once (default chosen by npm run bench)',
      String(DEFAULT_WORKER_LIMITS.concurrency),
    )
    .option(
      '--per-node <n>',
      'a node is source or target of at most this many slots at once, across all workers',
      String(DEFAULT_WORKER_LIMITS.perNodeLimit),
    )
    .option(
      '--nice <n>',
      'CPU priority of this process as with nice(1), 0-19: Redis servers and clients on the same host get the CPU first (0 keeps the priority)',
      String(DEFAULT_NICE),
    )
    .option(
      '--group-slots <n>',
      'slots of one node pair moved together, one pipeline per protocol step (1: one slot at a time)',
      '32',
    );
}

/** The queue URL for a command to print, unless it holds credentials: those stay off the screen and out of logs. */
export function printableQueueUrl(queueUrl: string): string {
  const u = new URL(queueUrl);
  return u.username || u.password ? '<the same --queue URL>' : queueUrl;
}

/** The error that says where a failover moved the queue, and how to run `command` against it there. */
export function queueMovedError(
  moved: { slot: number; address: string; url: string },
  command: string,
): QueueMovedError {
  const resumeWith =
    printableQueueUrl(moved.url) === moved.url
      ? `${command} with --queue ${moved.url}`
      : `${command} with its --queue URL pointing at ${moved.address}`;
  return new QueueMovedError(moved.slot, moved.address, resumeWith);
}
