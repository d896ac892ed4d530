import { readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { useRedis, withStartedWorker, type LocalRedis } from '../../harness/index.js';

/** The nice value of a process's main thread (field 19 of /proc/PID/stat). */
function niceOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

/** The nice value `slotshift worker` runs at with `extra` flags, and its exit code once stopped. */
async function workerNice(queueUrl: string, extra: string[]): Promise<{ nice: number; code: number | null }> {
  let nice = Number.NaN;
  const code = await withStartedWorker(queueUrl, extra, (child) => {
    nice = niceOf(child.pid!);
  });
  return { nice, code };
}

describe('CPU priority of the processes that move slots', () => {
  let queue: LocalRedis;
  beforeAll(async () => {
    queue = await useRedis();
  });

  it('runs at nice 10 by default, so Redis servers on the same host come first', async () => {
    const { nice, code } = await workerNice(queue.url, []);
    expect(nice).toBe(Math.max(10, getPriority()));
    expect(code).toBe(0);
  });

  it('keeps the priority it was started with under --nice 0', async () => {
    const { nice, code } = await workerNice(queue.url, ['--nice', '0']);
    expect(nice).toBe(getPriority());
    expect(code).toBe(0);
  });
});
