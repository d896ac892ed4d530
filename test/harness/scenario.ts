import { expect } from 'vitest';
import { PlanQueue } from '../../src/queue/index.js';
import { runCli } from './cli.js';
import {
  startLocalCluster,
  startLocalRedis,
  type LocalCluster,
  type LocalClusterOptions,
  type LocalRedis,
} from '../../src/localcluster/index.js';

/** A fresh cluster plus a queue Redis for one test, both stopped afterwards whatever happens. */
export async function withClusterAndQueue<T>(
  options: LocalClusterOptions,
  run: (cluster: LocalCluster, queue: LocalRedis) => Promise<T>,
): Promise<T> {
  const cluster = await startLocalCluster(options);
  const queue = await startLocalRedis();
  try {
    return await run(cluster, queue);
  } finally {
    await cluster.stop();
    await queue.stop();
  }
}

/** Polls the queue until the plan enqueued on it has moved at least `slots` slots. */
export async function waitForPlanProgress(
  queueUrl: string,
  slots: number,
  timeoutMs = 60_000,
): Promise<void> {
  const q = new PlanQueue(queueUrl, 'slotshift');
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const current = await q.currentPlan();
      if (current && (await q.progress(current.planId, current.total)).done >= slots) return;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${slots} slots to move`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await q.close();
  }
}

/** Slots done so far on the queue's current plan, as `slotshift progress --json` reports them. */
export async function slotsDone(queueUrl: string): Promise<number> {
  const r = await runCli(['progress', '--queue', queueUrl, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { done: number }).done;
}
