import type { Command } from 'commander';
import { createLogger } from '../../log/index.js';
import { migratorOptionsFor } from '../../migrate/index.js';
import { probeQueue, startSlotWorker } from '../../queue/index.js';
import { connectionFrom, withConnectionOptions, type ConnectionFlags } from '../connection-options.js';
import {
  queueMovedError,
  queueUrlFrom,
  withQueueOptions,
  withWorkerOptions,
  workerSizingFrom,
  type QueueFlags,
  type WorkerFlags,
} from '../queue-options.js';
import { moveSettingsFrom, withMoveOptions, type MoveFlags } from '../move-options.js';
import { withConfigFile } from '../config-file.js';
import { exitAfterStopTimeout, stopTimeoutMsFrom, withStopTimeoutOption } from '../stop-timeout.js';

interface WorkerCommandFlags extends ConnectionFlags, QueueFlags, WorkerFlags, MoveFlags {
  stopTimeout: string;
}

export function workerCommand(program: Command): void {
  withStopTimeoutOption(
    withMoveOptions(
      withWorkerOptions(
        withQueueOptions(
          withConnectionOptions(
            program
              .command('worker')
              .summary('Move slots from the queue, alongside `apply` or the daemon, on this or another host.')
              .description(
                'Move slots from the queue, alongside `apply` or the daemon, on this or another host.\n\n' +
                  'Node addresses come from the jobs; credentials from this process (--user/--password/SLOTSHIFT_PASSWORD).\n\n' +
                  'SIGTERM/SIGINT finish the slots in flight, leave none open, then exit 0 (exit 1 after --stop-timeout).\n\n' +
                  'The move flags (--no-verify, --latency-budget-ms, ...) apply to the slots this process moves: give it those of the apply it helps.',
              ),
          ),
        ),
      ),
    ),
  ).action(async (given: WorkerCommandFlags) => {
    const flags = withConfigFile(given);
    const log = createLogger();
    const { groupSlots, ...limits } = workerSizingFrom(flags, log);
    const settings = moveSettingsFrom(flags, groupSlots);
    const queueUrl = queueUrlFrom(flags);
    const stopTimeoutMs = stopTimeoutMsFrom(flags.stopTimeout);
    // Once running, a worker rides out a queue restart by retrying; a queue it cannot reach at the
    // start is far more likely a wrong --queue, which retrying would only hide.
    await probeQueue(queueUrl);
    const worker = startSlotWorker({
      queueUrl,
      queueName: flags.queueName,
      cluster: connectionFrom(flags),
      ...limits,
      migrator: migratorOptionsFor(settings),
      log,
      // Its one queue connection cannot follow the queue to another node: stop, saying where it went.
      onQueueMoved: (moved) => {
        log.error(queueMovedError(moved, 'slotshift worker').message);
        process.exit(1);
      },
    });
    log.info({ queue: flags.queueName, ...limits, ...settings }, 'worker started');
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        log.info(
          { stopTimeoutS: stopTimeoutMs / 1000 },
          'stopping once the slots in flight (if any) have finished, so none is left open',
        );
        exitAfterStopTimeout(stopTimeoutMs, (why) =>
          log.error(
            `${why}; slots in flight may be left open: \`slotshift fix --seed HOST:PORT\` (a node of their cluster) closes them`,
          ),
        );
        resolve();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await worker.close();
    log.info('worker stopped; no slot left open');
  });
}
