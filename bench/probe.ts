/**
 * The client probe of the benchmarks: a fixed 2,000 ops/s of GET/SET through an ioredis Cluster
 * client, in a process of its own, reporting latency percentiles and errors when stopped.
 * `bench.ts` runs it beside each contender, `ceiling.ts` beside the bare mover and the engine.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Cluster } from 'ioredis';
import { parseAddress } from '../src/cluster/index.js';

/** The probe SETs `probe:<n % PROBE_KEYS>` to PROBE_VALUE. */
export const PROBE_KEYS = 1000;
export const PROBE_VALUE = 'x';

export interface ProbeReport {
  ops: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
}

/** The probe runs in its own process so it never shares an event loop with a contender. */
export function startProbe(seed: string): { ready: Promise<void>; stop(): Promise<ProbeReport> } {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), seed], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  // A probe that cannot reach the cluster exits before it is ready: say so rather than wait forever.
  const ready = Promise.race([
    new Promise<void>((r) => child.stdout.once('data', () => r())),
    exited.then((code) => {
      throw new Error(`the client probe exited (code ${code}) before it was ready; see its error above`);
    }),
  ]);
  return {
    ready,
    stop: async () => {
      child.kill('SIGTERM');
      const code = await exited;
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) throw new Error(`the client probe failed (code ${code})`);
      return JSON.parse(last) as ProbeReport;
    },
  };
}

async function runProbe(seed: string): Promise<void> {
  const { host, port } = parseAddress(seed);
  const client = new Cluster([{ host, port }], { redisOptions: { maxRetriesPerRequest: 3 } });
  const latencies: number[] = [];
  let errors = 0;
  let stopping = false;
  process.on('SIGTERM', () => (stopping = true));
  // The clock starts once the client knows the slots: the operations it would queue while connecting
  // would measure its start, not the move.
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('error', reject);
  });
  process.stdout.write('ready\n');
  const ratePerMs = 2; // 2,000 ops/s
  const started = performance.now();
  let issued = 0;
  const inflight = new Set<Promise<void>>();
  while (!stopping) {
    const due = Math.floor((performance.now() - started) * ratePerMs);
    while (issued < due) {
      const key = `load:${(issued * 7919) % 1_000_000}`;
      const t0 = performance.now();
      const op = (
        issued % 2 === 0 ? client.get(key) : client.set(`probe:${issued % PROBE_KEYS}`, PROBE_VALUE)
      )
        .then(() => void latencies.push(performance.now() - t0))
        .catch(() => void errors++);
      inflight.add(op);
      void op.finally(() => inflight.delete(op));
      issued++;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inflight);
  client.disconnect();
  latencies.sort((a, b) => a - b);
  const q = (p: number): number =>
    latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  const report: ProbeReport = {
    ops: latencies.length,
    errors,
    p50: q(0.5),
    p99: q(0.99),
    max: latencies.at(-1) ?? 0,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.exit(0);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runProbe(process.argv[2]!);
