import type { Command } from 'commander';
import { DEFAULT_MIGRATOR_OPTIONS } from '../../migrate/index.js';
import { createLogger } from '../../log/index.js';
import { startSlotWorker } from '../../queue/index.js';
import { connectionFrom, withConnectionOptions, type ConnectionFlags } from '../connection-options.js';
import {
  queueUrlFrom,
  withQueueOptions,
  withWorkerOptions,
  workerSizingFrom,
  type QueueFlags,
  type WorkerFlags,
} from '../queue-options.js';

interface WorkerCommandFlags extends ConnectionFlags, QueueFlags, WorkerFlags {}

export function workerCommand(program: Command): void {
  withWorkerOptions(
    withQueueOptions(
      withConnectionOptions(
        program
          .command('worker')
          .description(
            'Move slots from the queue, alongside `apply` or the daemon, on this or another host.\n' +
              'Node addresses come from the jobs; credentials from this process (--user/--password/SLOTSHIFT_PASSWORD).\n' +
              'SIGTERM/SIGINT finish the slots in flight, leave none open, then exit 0.',
          ),
      ),
    ),
  ).action(async (flags: WorkerCommandFlags) => {
    const log = createLogger();
    const { groupSlots, ...limits } = workerSizingFrom(flags, log);
    const worker = startSlotWorker({
      queueUrl: queueUrlFrom(flags),
      queueName: flags.queueName,
      cluster: connectionFrom(flags),
      ...limits,
      migrator: { ...DEFAULT_MIGRATOR_OPTIONS, groupSlots },
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
