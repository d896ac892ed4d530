import { Option, type Command } from 'commander';
import { InvalidOptionError } from '../errors/index.js';
import { DEFAULT_QUEUE_NAME, DEFAULT_WORKER_LIMITS } from '../queue/index.js';

export interface QueueFlags {
  queue?: string;
  queueName: string;
}

export function withQueueOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--queue <url>',
        'Redis that holds the job queue, e.g. redis://127.0.0.1:6379 (not the cluster being rebalanced)',
      ).env('SLOTSHIFT_QUEUE_URL'),
    )
    .option('--queue-name <name>', 'BullMQ queue name', DEFAULT_QUEUE_NAME);
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
  return flags.queue;
}

export interface WorkerFlags {
  concurrency: string;
  perNode: string;
  groupSlots: string;
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
      '--group-slots <n>',
      'slots of one node pair moved together, one pipeline per protocol step (1: one slot at a time)',
      '32',
    );
}
