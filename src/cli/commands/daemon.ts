import type { Command } from 'commander';
import { parseAddress, type ConnectionOptions } from '../../cluster/index.js';
import { loadConfig, resolveValue, type SlotshiftConfig } from '../../config/index.js';
import { migratorOptionsFor } from '../../migrate/index.js';
import { createLogger } from '../../log/index.js';
import { lowerCpuPriority, queueMovedError, queueUrlFrom } from '../queue-options.js';
import { exitAfterStopTimeout, stopTimeoutMsFrom, withStopTimeoutOption } from '../stop-timeout.js';
import { DEFAULT_QUEUE_NAME } from '../../queue/index.js';
import { resolve } from 'node:path';

interface DaemonFlags {
  config: string;
  seed?: string[];
  queue?: string;
  queueName: string;
  listen?: string;
  plan?: string;
  stopTimeout: string;
}

/** `daemon --help`: how windows are written, as the plan file schema (spec.window) accepts them. */
export const DAEMON_WINDOWS_HELP = [
  '',
  "Windows: a plan file's spec.window says when its moves may run; a plan without one runs whenever",
  'the cluster is out of balance. For example:',
  '  window:',
  "    cron: '0 1 * * *'        # when each window opens: 5 fields (minute hour day-of-month month",
  '                             # day-of-week), 6 with seconds first, or @daily, @hourly, ...',
  '    duration: 4h             # how long it stays open, in elapsed time: ms, s, m, h, d (30m, 1h30m)',
  '    timezone: Europe/Berlin  # required: the IANA zone the cron times are read in (UTC for UTC)',
  'A start time the clocks skip (DST) opens when they jump forward; a repeated hour opens on its first',
  'pass. At the end of a window, slots not yet started are cancelled and slots in flight finish (none',
  'is left open); the next window plans again from the live cluster. GET /status shows each window:',
  'open, closesAt (while open) and nextOpen (the next start, always in the future).',
].join('\n');

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function daemonCommand(program: Command): void {
  withStopTimeoutOption(
    program
      .command('daemon')
      .summary('Keep the cluster at the balance its plan files ask for, inside their windows.')
      .description(
        'Keep the cluster at the balance its plan files ask for: every round (tickSeconds, and at each window boundary) re-read the cluster, plan, and enqueue the moves while the window is open; in-process workers move the slots. Several daemons may share a queue: one plans (lease), all move.\n\n' +
          'HTTP: /healthz /readyz /status /metrics /queues, POST /pause /resume /cancel (bearer token).\n\n' +
          'SIGTERM/SIGINT finish the slots in flight, leave none open, then exit 0 (exit 1 after --stop-timeout). A queue kept on the cluster whose node fails over: the same, then exit 1 naming where the queue went.\n\n' +
          'A queue Redis that does not answer at start-up is retried (1 s, doubling, at most 30 s; /readyz 503 says why); one that refuses the URL (password, database) is exit 2.',
      )
      // After the options, unwrapped: commander wraps a description to the terminal's width, which
      // breaks the example's columns.
      .addHelpText('after', DAEMON_WINDOWS_HELP)
      .requiredOption('-c, --config <file>', 'daemon config file (see config/slotshift.yaml)')
      .option('--seed <host:port>', 'cluster node to start from, instead of cluster.seeds (repeat)', collect)
      .option('--queue <url>', 'queue Redis URL, instead of queue.url / queue.urlEnv')
      .option('--queue-name <name>', 'BullMQ queue name', DEFAULT_QUEUE_NAME)
      .option('--listen <host:port>', 'HTTP address, instead of http.listen')
      .option('--plan <file|dir>', 'plan file or directory of them, instead of plans'),
  ).action(async (flags: DaemonFlags) => {
    const config = loadConfig(flags.config);
    const env = process.env;
    const seeds = (flags.seed?.length ? flags.seed : config.cluster.seeds).map(parseAddress);
    const queueUrl = queueUrlFrom({
      queue: flags.queue ?? resolveValue(config.queue.url, 'queue.url', env),
      queueName: flags.queueName,
    });
    const token = config.http.token ? resolveValue(config.http.token, 'http.token', env) : null;
    if (flags.listen) parseAddress(flags.listen);
    const stopTimeoutMs = stopTimeoutMsFrom(flags.stopTimeout);
    // Unlike the other queue commands, an unreachable queue Redis is waited for (startDaemon): a
    // daemon runs unattended, and its queue may start after it. A URL the server refuses
    // (credentials, a database it does not have) still ends it with exit 2.
    const log = createLogger(config.log.level);
    lowerCpuPriority(config.workers.nice, log);
    // Loaded on use: express, Bull Board and prom-client are a third of every other command's start-up.
    const { startDaemon } = await import('../../daemon/index.js');
    let requestStop: (why: string) => void = () => undefined;
    const stopRequested = new Promise<string>((done) => (requestStop = done));
    // Before startDaemon: a SIGTERM while it waits for the queue Redis is a clean stop (exit 0).
    process.once('SIGINT', () => requestStop('SIGINT'));
    process.once('SIGTERM', () => requestStop('SIGTERM'));
    const daemon = await startDaemon({
      seeds,
      connection: connectionOf(config, env),
      queueUrl,
      queueName: flags.queueName,
      plans: flags.plan ? resolve(flags.plan) : config.plans,
      tickMs: config.tickMs,
      listen: flags.listen ?? config.http.listen,
      token,
      workers: config.workers,
      migrator: migratorOptionsFor(config.moves),
      log,
      // The queue's node failed over: its connections cannot follow, so stop (the slots in flight
      // finish) and say where the queue went. Restarted unchanged, it would refuse the old address.
      onQueueMoved: (moved) => {
        log.error(queueMovedError(moved, 'slotshift daemon').message);
        process.exitCode = 1;
        requestStop('queue moved');
      },
      // The queue Redis it waited for answers, but refuses this URL: waiting longer cannot help.
      onQueueRefused: (err) => {
        log.error(err.message);
        process.exitCode = 2;
        requestStop('queue refused');
      },
    });
    const why = await stopRequested;
    log.info(
      { why, stopTimeoutS: stopTimeoutMs / 1000 },
      'stopping once the slots in flight (if any) have finished, so none is left open',
    );
    exitAfterStopTimeout(stopTimeoutMs, (reason) =>
      log.error(
        `${reason}; slots in flight may be left open: \`slotshift fix --seed ${seeds[0]!.host}:${seeds[0]!.port}\` closes them`,
      ),
    );
    await daemon.stop();
    log.info('daemon stopped; no slot left open');
  });
}

function connectionOf(config: SlotshiftConfig, env: NodeJS.ProcessEnv): ConnectionOptions {
  const c = config.cluster;
  const tls = c.tls;
  return {
    ...(c.user ? { user: c.user } : {}),
    ...(c.password ? { password: resolveValue(c.password, 'cluster.password', env) } : {}),
    connectTimeoutMs: c.connectTimeoutMs,
    tls: tls
      ? {
          ...(tls.caFile ? { caFile: tls.caFile } : {}),
          ...(tls.certFile ? { certFile: tls.certFile } : {}),
          ...(tls.keyFile ? { keyFile: tls.keyFile } : {}),
          insecure: tls.insecure,
        }
      : null,
  };
}
