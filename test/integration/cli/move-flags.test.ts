import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, useRedis, withStartedWorker, type LocalRedis } from '../../harness/index.js';

/** The `worker started` line of `slotshift worker` with `extra` flags, as JSON; the worker exits 0. */
async function workerStart(queueUrl: string, extra: string[]): Promise<Record<string, unknown>> {
  let line: Record<string, unknown> = {};
  const code = await withStartedWorker(queueUrl, extra, (_child, started) => {
    line = started;
  });
  expect(code).toBe(0);
  return line;
}

describe('the move flags of apply and worker', () => {
  let queue: LocalRedis;
  beforeAll(async () => {
    queue = await useRedis();
  });

  it('a worker process takes the same move flags as apply, so it moves its slots the same way', async () => {
    const defaults = await workerStart(queue.url, []);
    expect(defaults).toMatchObject({
      verify: true,
      latencyBudgetMs: 5,
      maxBatchBytes: 4 * 1024 * 1024,
      migrateTimeoutMs: 10_000,
    });
    const given = await workerStart(queue.url, [
      '--no-verify',
      '--latency-budget-ms',
      '2',
      '--max-batch-bytes',
      '512KB',
      '--migrate-timeout',
      '5000',
    ]);
    expect(given).toMatchObject({
      verify: false,
      latencyBudgetMs: 2,
      maxBatchBytes: 512_000,
      migrateTimeoutMs: 5000,
    });
  });

  it('refuses a bad --max-batch-bytes before touching the cluster or the queue', async () => {
    for (const [value, reason] of [
      ['lots', /"lots" is not a byte size/],
      ['0', /must be more than 0 bytes/],
    ] as const) {
      // Unreachable seed and queue: the flag is refused before either is tried.
      const apply = await runCli([
        'apply',
        '--seed',
        '127.0.0.1:1',
        '--queue',
        'redis://127.0.0.1:1',
        '--yes',
        '--max-batch-bytes',
        value,
      ]);
      expect(apply.code).toBe(2);
      expect(apply.stderr).toMatch(/--max-batch-bytes/);
      expect(apply.stderr).toMatch(reason);
      const worker = await runCli(['worker', '--queue', 'redis://127.0.0.1:1', '--max-batch-bytes', value]);
      expect(worker.code).toBe(2);
      expect(worker.stderr).toMatch(reason);
    }
  });
});
