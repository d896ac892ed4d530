import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { parseAddress } from '../../../src/cluster/index.js';
import { startDaemon, type Daemon, type DaemonOptions } from '../../../src/daemon/index.js';
import type { LocalCluster } from '../../harness/index.js';

/** Logs of in-process daemons: silent unless SLOTSHIFT_TEST_LOG names a level. */
export function testLogger(): Logger {
  return pino({ level: process.env['SLOTSHIFT_TEST_LOG'] ?? 'silent' });
}

/** One JSON log line of a daemon, parsed. */
export type LogLine = { level: number; msg: string } & Record<string, unknown>;

/** A daemon log at info, as an operator reads it, kept in `logged` for the test to read. */
export function capturedLog(): { log: Logger; logged: LogLine[] } {
  const logged: LogLine[] = [];
  const log = pino(
    { level: 'info' },
    { write: (line: string) => void logged.push(JSON.parse(line) as LogLine) },
  );
  return { log, logged };
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'slotshift-daemon-'));
}

/** Writes a RebalancePlan file and returns its path. */
export function writePlan(dir: string, name: string, spec: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `apiVersion: slotshift/v1\nkind: RebalancePlan\nmetadata:\n  name: ${name}\nspec:\n${spec
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n')}\n`,
  );
  return file;
}

export function queueName(): string {
  return `q${Math.random().toString(36).slice(2, 10)}`;
}

export function daemonOn(
  cluster: LocalCluster,
  queueUrl: string,
  options: Partial<DaemonOptions> & Pick<DaemonOptions, 'plans'>,
): Promise<Daemon> {
  return startDaemon({
    seeds: cluster.seeds.map(parseAddress),
    connection: {},
    queueUrl,
    listen: '127.0.0.1:0',
    tickMs: 500,
    leaseTtlMs: 3000,
    processMetrics: false,
    log: testLogger(),
    ...options,
  });
}

/** Polls until `check` returns a value other than undefined/false, or fails with `what`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 60_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: Error | null = null;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e instanceof Error ? e : new Error(JSON.stringify(e));
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function getJson<T>(address: string, path: string): Promise<T> {
  const res = await fetch(`http://${address}${path}`);
  if (!res.ok) throw new Error(`GET ${path}: ${res.status}`);
  return (await res.json()) as T;
}
