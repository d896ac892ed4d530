import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useRedis, type LocalRedis } from '../../harness/index.js';

const BIN = join(import.meta.dirname, '..', '..', '..', 'bin', 'slotshift.js');

/** The nice value of a process's main thread (field 19 of /proc/PID/stat). */
function niceOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

/** Starts `slotshift worker`, waits until it has started, and returns its nice value, then stops it. */
async function workerNice(queueUrl: string, extra: string[]): Promise<{ nice: number; code: number | null }> {
  const child = spawn(process.execPath, [BIN, 'worker', '--queue', queueUrl, ...extra], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, SLOTSHIFT_LOG_LEVEL: 'info' },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  await expect.poll(() => stderr, { timeout: 15_000 }).toContain('worker started');
  const nice = niceOf(child.pid!);
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
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
