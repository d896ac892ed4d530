import type { Command } from 'commander';
import { formatBytes } from '../format.js';
import { InvalidOptionError } from '../../errors/index.js';
import { PlanQueue, probeQueue } from '../../queue/index.js';
import { queueUrlFrom, withQueueOptions, type QueueFlags } from '../queue-options.js';
import { withConfigFile } from '../config-file.js';

interface ControlFlags extends QueueFlags {
  plan?: string;
  json?: boolean;
}

/** pause / resume / cancel / progress of the plan running on a queue. */
export function controlCommands(program: Command): void {
  const define = (
    name: string,
    description: string,
    run: (q: PlanQueue, planId: string, total: number, flags: ControlFlags) => Promise<string>,
  ) =>
    withQueueOptions(program.command(name).description(description))
      .option('--plan <id>', 'plan id (default: the plan most recently enqueued on the queue)')
      .option('--json', 'print the result as JSON')
      .action(async (given: ControlFlags) => {
        const flags = withConfigFile(given);
        const queueUrl = queueUrlFrom(flags);
        await probeQueue(queueUrl);
        const q = new PlanQueue(queueUrl, flags.queueName);
        try {
          const current = await q.currentPlan();
          const planId = flags.plan ?? current?.planId;
          if (!planId)
            throw new InvalidOptionError(
              '--plan',
              'no plan has been enqueued on this queue; pass --plan <id>',
            );
          const total = planId === current?.planId ? current.total : 0;
          process.stdout.write(await run(q, planId, total, flags));
        } finally {
          await q.close();
        }
      });

  const progressLine = async (
    q: PlanQueue,
    planId: string,
    total: number,
    flags: ControlFlags,
  ): Promise<string> => {
    const p = await q.progress(planId, total);
    if (flags.json) return `${JSON.stringify({ planId, ...p }, null, 2)}\n`;
    return `plan ${planId}: ${p.done}/${p.total} slots moved, ${p.failed} failed, ${p.cancelled} cancelled, ${p.keys} keys (about ${formatBytes(p.bytes)})${p.paused ? ' (queue paused)' : ''}\n`;
  };
  define('progress', 'Show how far the plan on a queue has come.', progressLine);
  define(
    'pause',
    'Pause the queue: slots in flight finish, no new slot starts until `resume`.',
    async (q, id, t, f) => {
      await q.pause();
      return progressLine(q, id, t, f);
    },
  );
  define('resume', 'Resume a paused queue.', async (q, id, t, f) => {
    await q.resume();
    return progressLine(q, id, t, f);
  });
  define(
    'cancel',
    'Cancel a plan: slots in flight finish and close, the rest are skipped. An `apply` without policy flags (or with the ones that made it) resumes it; an `apply` with other flags makes a new plan instead.',
    async (q, id, t, f) => {
      await q.cancel(id);
      return progressLine(q, id, t, f);
    },
  );
}
