import type { Command } from 'commander';
import { createLogger } from '../../log/index.js';
import { startSlotWorker } from '../../queue/index.js';
import { connectionFrom, withConnectionOptions, type ConnectionFlags } from '../connection-options.js';
import { parsePositiveInt } from '../parse-flags.js';
import { queueUrlFrom, withQueueOptions, type QueueFlags } from '../queue-options.js';

interface WorkerFlags extends ConnectionFlags, QueueFlags {
  concurrency: string;
  perNode: string;
}

export function workerCommand(program: Command): void {
  withQueueOptions(
    withConnectionOptions(
      program
        .command('worker')
        .description(
          'Move slots from the queue, alongside `apply` or the daemon, on this or another host.\n' +
            'Node addresses come from the jobs; credentials from this process (--user/--password/SLOTSHIFT_PASSWORD).\n' +
            'SIGTERM/SIGINT finish the slots in flight, leave none open, then exit 0.',
        )
        .option(
          '--concurrency <n>',
          'slots this process moves at once (default chosen by npm run bench)',
          '96',
        )
        .option(
          '--per-node <n>',
          'a node is source or target of at most this many slots at once, across all workers',
          '32',
        ),
    ),
  ).action(async (flags: WorkerFlags) => {
    const log = createLogger();
    const worker = startSlotWorker({
      queueUrl: queueUrlFrom(flags),
      queueName: flags.queueName,
      cluster: connectionFrom(flags),
      concurrency: parsePositiveInt('--concurrency', flags.concurrency),
      perNodeLimit: parsePositiveInt('--per-node', flags.perNode),
      log,
    });
    log.info({ queue: flags.queueName }, 'worker started');
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        log.info('stopping: finishing the slots in flight');
        resolve();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await worker.close();
    log.info('worker stopped; no slot left open');
  });
}
