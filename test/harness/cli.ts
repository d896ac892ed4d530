import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { expect } from 'vitest';
import { join } from 'node:path';

/** The built CLI, as `npm test` leaves it. */
export const BIN = join(import.meta.dirname, '..', '..', 'bin', 'slotshift.js');

export interface CliResult {
  code: number;
  /** The signal that ended the process (e.g. SIGKILL from a fault), or null when it exited. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI as a user would (`npm test` builds first), with a clean SLOTSHIFT_* environment.
 * After `timeoutMs` it is sent `killSignal`: SIGKILL where a test must see what the process printed
 * even when it would not stop on SIGTERM.
 */
export function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 120_000,
  killSignal: NodeJS.Signals = 'SIGTERM',
): Promise<CliResult> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SLOTSHIFT_')));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...base, ...env }, timeout: timeoutMs, killSignal, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, signal: error?.signal ?? null, stdout, stderr });
      },
    );
  });
}

/**
 * Starts `slotshift worker --queue URL ...extra`, waits for its `worker started` line, runs `use` with
 * the process and that line (parsed), then stops it with SIGTERM and returns its exit code.
 */
export async function withStartedWorker(
  queueUrl: string,
  extra: readonly string[],
  use: (child: ChildProcess, started: Record<string, unknown>) => void | Promise<void>,
): Promise<number | null> {
  const child = spawn(process.execPath, [BIN, 'worker', '--queue', queueUrl, ...extra], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, SLOTSHIFT_LOG_LEVEL: 'info' },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    await expect.poll(() => stderr, { timeout: 15_000 }).toContain('worker started');
    const line = stderr.split('\n').find((l) => l.includes('worker started'))!;
    await use(child, JSON.parse(line) as Record<string, unknown>);
  } finally {
    child.kill('SIGTERM');
  }
  return exited;
}

/** A CLI process a test can signal while it runs: its output so far, and its end. */
export interface StartedCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  done: Promise<CliResult>;
}

/** Starts the built CLI as runCli does, without waiting: for tests that signal it or watch its output. */
export function startCli(args: readonly string[], env: Record<string, string> = {}): StartedCli {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SLOTSHIFT_')));
  const child = spawn(process.execPath, [BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...base, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code: code ?? 1, signal, stdout, stderr })),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}
