import type { Command } from 'commander';
import { formatBytes } from '../format.js';
import { InvalidOptionError } from '../../errors/index.js';
import { PlanQueue, UnknownPlanError, probeQueue, type PlanProgress } from '../../queue/index.js';
import { printableQueueUrl, queueUrlFrom, withQueueOptions, type QueueFlags } from '../queue-options.js';
import { withConfigFile } from '../config-file.js';
import { plural } from '../../text/index.js';

interface ControlFlags extends QueueFlags {
  plan?: string;
  json?: boolean;
}

/** What a control command did, printed above the plan's progress (and as fields of --json). */
interface Outcome {
  readonly text: string | null;
  readonly json: Record<string, unknown>;
}

type Action = (q: PlanQueue, planId: string, total: number, queueUrl: string) => Promise<Outcome>;

/** pause / resume / cancel / progress of the plan running on a queue. */
export function controlCommands(program: Command): void {
  const define = (name: string, description: string, act: Action) =>
    withQueueOptions(program.command(name).description(description))
      .option('--plan <id>', 'plan id (default: the plan most recently enqueued on the queue)')
      .option('--json', 'print the result as JSON')
      .action(async (given: ControlFlags) => {
        const flags = withConfigFile(given);
        const queueUrl = queueUrlFrom(flags);
        await probeQueue(queueUrl);
        const q = new PlanQueue(queueUrl, flags.queueName);
        try {
          const { planId, total } = await planOf(q, flags, queueUrl);
          // The plan is known before anything changes: a typo in --plan must not pause the queue.
          const outcome = await act(q, planId, total, queueUrl);
          const p = await q.progress(planId, total);
          process.stdout.write(
            flags.json
              ? `${JSON.stringify({ planId, ...p, ...outcome.json }, null, 2)}\n`
              : `${outcome.text ? `${outcome.text}\n` : ''}${progressLine(planId, p)}`,
          );
        } finally {
          await q.close();
        }
      });

  define('progress', 'Show how far the plan on a queue has come.', () =>
    Promise.resolve({ text: null, json: {} }),
  );
  define(
    'pause',
    'Pause the queue: slots in flight finish, no new slot starts until `resume`.',
    async (q, _id, _t, queueUrl) => {
      const was = await q.queue.isPaused();
      await q.pause();
      return {
        text: was
          ? 'the queue was already paused'
          : `paused: slots in flight finish, no new slot starts until \`slotshift resume --queue ${printableQueueUrl(queueUrl)}\``,
        json: { action: 'paused', wasPaused: was },
      };
    },
  );
  define('resume', 'Resume a paused queue.', async (q) => {
    const was = await q.queue.isPaused();
    await q.resume();
    return {
      text: was ? 'resumed: waiting slots start again' : 'the queue was not paused; nothing to resume',
      json: { action: 'resumed', wasPaused: was },
    };
  });
  define(
    'cancel',
    'Cancel a plan: slots in flight finish and close, the rest are skipped. An `apply` without policy flags (or with the ones that made it) resumes it; an `apply` with other flags makes a new plan instead.',
    async (q, id, total) => {
      // Counted before the cancel: a worker records a skipped slot only when it next takes it, so
      // with no worker running the progress line would still say 0 cancelled.
      const waiting = total > 0 ? await q.waitingSlots(id, total) : null;
      if (waiting === 0) {
        return {
          text: `plan ${id} has no slot waiting to start; nothing to cancel`,
          json: { action: 'none', waitingCancelled: 0 },
        };
      }
      await q.cancel(id);
      const slots = (n: number): string => plural(n, 'waiting slot');
      return {
        text:
          waiting === null
            ? `cancelled plan ${id}: its waiting slots are skipped; in-flight slots finish. An apply without policy flags (or with the ones that made it) resumes it`
            : `cancelled ${slots(waiting)} of plan ${id}; in-flight slots finish. An apply without policy flags (or with the ones that made it) resumes it`,
        json: { action: 'cancelled', waitingCancelled: waiting },
      };
    },
  );
}

/** The plan --plan names, or the latest; an id never enqueued on this queue is an error. */
async function planOf(
  q: PlanQueue,
  flags: ControlFlags,
  queueUrl: string,
): Promise<{ planId: string; total: number }> {
  if (flags.plan === undefined) {
    const current = await q.currentPlan();
    if (!current)
      throw new InvalidOptionError(
        '--plan',
        `no plan has been enqueued on queue "${flags.queueName}" at ${printableQueueUrl(queueUrl)}; check --queue and --queue-name`,
      );
    return { planId: current.planId, total: current.total };
  }
  const found = await q.findPlan(flags.plan);
  if (!found)
    throw new UnknownPlanError(
      flags.plan,
      `queue "${flags.queueName}" at ${printableQueueUrl(queueUrl)}`,
      await q.plans(),
    );
  return found;
}

function progressLine(planId: string, p: PlanProgress): string {
  return `plan ${planId}: ${p.done}/${plural(p.total, 'slot')} moved, ${p.failed} failed, ${p.cancelled} cancelled, ${plural(p.keys, 'key')} (about ${formatBytes(p.bytes)})${p.paused ? ' (queue paused)' : ''}\n`;
}
