/**
 * `npm run bench -- [--scenario scale-out|drain|all] [--keys N] [--value-bytes B] [--runs R]`
 *
 * Runs slotshift and redis-cli's rebalance side by side on fresh clusters loaded with identical data,
 * in alternation (A B C D, A B C D, ...) so machine drift hits every contender alike. While each runs,
 * a probe process drives a fixed 2,000 ops/s of GET/SET through an ioredis Cluster client and records
 * latency and errors. After each run: every key is checked (count and content), and no slot may be
 * open. Prints a table per scenario and the ratios (medians of R runs); writes the same as JSON under
 * bench/results/. Nothing here is asserted as a test: speed is shown, not tested.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cluster } from 'ioredis';
import { NodePool, openSlots, parseAddress, readTopology } from '../src/cluster/index.js';
import {
  loadStrings,
  redisServerVersion,
  startLocalCluster,
  startLocalRedis,
  valueFor,
  type LocalCluster,
} from '../src/localcluster/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'slotshift.js');

interface Options {
  scenario: string;
  keys: number;
  valueBytes: number;
  runs: number;
}

interface ProbeReport {
  ops: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
}

interface RunResult {
  contender: string;
  seconds: number;
  exitCode: number;
  peakRssMb: number;
  keysMoved: number;
  probe: ProbeReport;
  lostKeys: number;
  openSlots: number;
}

function parseArgs(argv: string[]): Options {
  const get = (name: string, fallback: string): string => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] ? argv[i + 1]! : fallback;
  };
  return {
    scenario: get('scenario', 'scale-out'),
    keys: Number(get('keys', '1000000')),
    valueBytes: Number(get('value-bytes', '100')),
    runs: Number(get('runs', '1')),
  };
}

interface Scenario {
  name: string;
  cluster: { masters: number; emptyMasters: number };
  contenders: Record<string, (cluster: LocalCluster, queueUrl: string) => string[]>;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'scale-out',
    cluster: { masters: 3, emptyMasters: 3 },
    contenders: {
      'redis-cli': (c) => ['redis-cli', '--cluster', 'rebalance', c.seeds[0]!, '--cluster-use-empty-masters'],
      'redis-cli pipeline 1000': (c) => [
        'redis-cli',
        '--cluster',
        'rebalance',
        c.seeds[0]!,
        '--cluster-use-empty-masters',
        '--cluster-pipeline',
        '1000',
      ],
      'slotshift verified': (c, q) => slotshift(c, q, ['--use-empty-masters']),
      'slotshift unverified': (c, q) => slotshift(c, q, ['--use-empty-masters', '--no-verify']),
    },
  },
  {
    name: 'drain',
    cluster: { masters: 6, emptyMasters: 0 },
    contenders: {
      'redis-cli': (c) => [
        'redis-cli',
        '--cluster',
        'rebalance',
        c.seeds[0]!,
        '--cluster-weight',
        `${c.nodes[5]!.id}=0`,
      ],
      'redis-cli pipeline 1000': (c) => [
        'redis-cli',
        '--cluster',
        'rebalance',
        c.seeds[0]!,
        '--cluster-weight',
        `${c.nodes[5]!.id}=0`,
        '--cluster-pipeline',
        '1000',
      ],
      'slotshift verified': (c, q) => slotshift(c, q, ['--drain', c.nodes[5]!.addr]),
      'slotshift unverified': (c, q) => slotshift(c, q, ['--drain', c.nodes[5]!.addr, '--no-verify']),
    },
  },
];

function slotshift(c: LocalCluster, queueUrl: string, extra: string[]): string[] {
  // SLOTSHIFT_BENCH_ARGS (e.g. "--concurrency 32 --per-node 8") tunes slotshift for a run; the
  // defaults are what the README reports.
  const tuning = (process.env['SLOTSHIFT_BENCH_ARGS'] ?? '').split(' ').filter(Boolean);
  return [
    process.execPath,
    BIN,
    'apply',
    '--seed',
    c.seeds[0]!,
    '--queue',
    queueUrl,
    '--yes',
    ...extra,
    ...tuning,
  ];
}

/** Runs a command, polling its resident memory; returns wall seconds, exit code and peak RSS. */
function timed(
  cmd: string[],
): Promise<{ seconds: number; exitCode: number; peakRssMb: number; output: string }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(cmd[0]!, cmd.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SLOTSHIFT_LOG_LEVEL: 'warn' },
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    let peakKb = 0;
    const poll = setInterval(() => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
        peakKb = Math.max(peakKb, hwm);
      } catch {
        // The process has exited between two polls.
      }
    }, 50);
    child.on('exit', (code) => {
      clearInterval(poll);
      resolve({
        seconds: (performance.now() - started) / 1000,
        exitCode: code ?? 1,
        peakRssMb: peakKb / 1024,
        output,
      });
    });
  });
}

/** The probe runs in its own process so it never shares an event loop with a contender. */
function startProbe(seed: string): { stop(): Promise<ProbeReport> } {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--probe', seed], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const ready = new Promise<void>((r) => child.stdout.once('data', () => r()));
  void ready;
  return {
    stop: () =>
      new Promise((resolve) => {
        child.on('exit', () => resolve(JSON.parse(out.trim().split('\n').pop()!) as ProbeReport));
        child.kill('SIGTERM');
      }),
  };
}

async function runProbe(seed: string): Promise<void> {
  const { host, port } = parseAddress(seed);
  const client = new Cluster([{ host, port }], { redisOptions: { maxRetriesPerRequest: 3 } });
  const latencies: number[] = [];
  let errors = 0;
  let stopping = false;
  process.on('SIGTERM', () => (stopping = true));
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
      const op = (issued % 2 === 0 ? client.get(key) : client.set(`probe:${issued % 1000}`, 'x'))
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

async function keysPerMaster(cluster: LocalCluster): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const n of cluster.nodes) {
    const c = cluster.connect(n);
    out.set(n.id, await c.dbsize());
    c.disconnect();
  }
  return out;
}

/** Every loaded key present with its value (checked through a cluster client), and no slot open. */
async function check(
  cluster: LocalCluster,
  keys: number,
  valueBytes: number,
): Promise<{ lost: number; open: number }> {
  const client = new Cluster([{ host: cluster.nodes[0]!.host, port: cluster.nodes[0]!.port }], {
    enableAutoPipelining: true,
  });
  let lost = 0;
  for (let i = 0; i < keys; i += 5000) {
    const batch = Array.from({ length: Math.min(5000, keys - i) }, (_, j) => `load:${i + j}`);
    const values = await Promise.all(batch.map((k) => client.get(k)));
    values.forEach((v, j) => {
      if (v !== valueFor(batch[j]!, valueBytes)) lost++;
    });
  }
  await client.quit();
  const pool = new NodePool({});
  const topology = await readTopology(pool, cluster.seeds.map(parseAddress));
  await pool.close();
  return { lost, open: openSlots(topology).length };
}

async function runOnce(scenario: Scenario, contender: string, o: Options): Promise<RunResult> {
  const cluster = await startLocalCluster({ ...scenario.cluster, nodeTimeoutMs: 15_000 });
  const queue = await startLocalRedis();
  try {
    await loadStrings(cluster, { keys: o.keys, valueBytes: o.valueBytes, prefix: 'load' });
    const before = await keysPerMaster(cluster);
    const probe = startProbe(cluster.seeds[0]!);
    await new Promise((r) => setTimeout(r, 300));
    const r = await timed(scenario.contenders[contender]!(cluster, queue.url));
    const probeReport = await probe.stop();
    if (r.exitCode !== 0)
      process.stderr.write(`${contender} exited ${r.exitCode}:\n${r.output.slice(-2000)}\n`);
    const after = await keysPerMaster(cluster);
    let keysMoved = 0;
    for (const [id, n] of after) keysMoved += Math.max(0, n - (before.get(id) ?? 0));
    const { lost, open } = await check(cluster, o.keys, o.valueBytes);
    return {
      contender,
      seconds: r.seconds,
      exitCode: r.exitCode,
      peakRssMb: r.peakRssMb,
      keysMoved,
      probe: probeReport,
      lostKeys: lost,
      openSlots: open,
    };
  } finally {
    await cluster.stop();
    await queue.stop();
  }
}

/** SLOTSHIFT_BENCH_ONLY="slotshift verified" limits a run to some contenders (for tuning). */
function contendersOf(scenario: Scenario): string[] {
  const only = process.env['SLOTSHIFT_BENCH_ONLY']?.split(',').map((s) => s.trim());
  return Object.keys(scenario.contenders).filter((c) => !only || only.includes(c));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? 0;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--probe') return runProbe(process.argv[3]!);
  const o = parseArgs(process.argv.slice(2));
  const scenarios = o.scenario === 'all' ? SCENARIOS : SCENARIOS.filter((s) => s.name === o.scenario);
  if (scenarios.length === 0)
    throw new Error(`unknown scenario ${o.scenario}; use ${SCENARIOS.map((s) => s.name).join(', ')} or all`);
  const machine = {
    cores: cpus().length,
    redis: redisServerVersion(),
    node: process.version,
    date: new Date().toISOString(),
  };
  const command = `npm run bench -- --scenario ${o.scenario} --keys ${o.keys} --value-bytes ${o.valueBytes} --runs ${o.runs}`;
  process.stdout.write(
    `slotshift benchmark: ${command}\nmachine: ${machine.cores} cores, redis ${machine.redis}, node ${machine.node}\n`,
  );
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  for (const scenario of scenarios) {
    const results: RunResult[] = [];
    for (let run = 0; run < o.runs; run++) {
      for (const contender of contendersOf(scenario)) {
        process.stderr.write(`${scenario.name} run ${run + 1}/${o.runs}: ${contender}...\n`);
        results.push(await runOnce(scenario, contender, o));
      }
    }
    const rows = contendersOf(scenario).map((contender) => {
      const mine = results.filter((r) => r.contender === contender);
      const seconds = median(mine.map((r) => r.seconds));
      const keysMoved = median(mine.map((r) => r.keysMoved));
      return {
        contender,
        seconds,
        keysPerSecond: keysMoved / seconds,
        mbPerSecond: (keysMoved * o.valueBytes) / 1e6 / seconds,
        p50: median(mine.map((r) => r.probe.p50)),
        p99: median(mine.map((r) => r.probe.p99)),
        max: median(mine.map((r) => r.probe.max)),
        clientErrors: mine.reduce((a, r) => a + r.probe.errors, 0),
        peakRssMb: Math.max(...mine.map((r) => r.peakRssMb)),
        keysMoved,
        lostKeys: mine.reduce((a, r) => a + r.lostKeys, 0),
        openSlots: mine.reduce((a, r) => a + r.openSlots, 0),
        failedRuns: mine.filter((r) => r.exitCode !== 0).length,
      };
    });
    const header =
      '| contender | wall s | keys/s | MB/s | client p50 ms | p99 ms | max ms | client errors | peak RSS MB | keys moved | lost keys | open slots | failed runs |';
    const lines = [
      `\n### ${scenario.name}: ${o.keys.toLocaleString('en-US')} keys x ${o.valueBytes} B, median of ${o.runs} run(s)`,
      header,
      '|' + ' --- |'.repeat(13),
      ...rows.map(
        (r) =>
          `| ${r.contender} | ${r.seconds.toFixed(2)} | ${Math.round(r.keysPerSecond).toLocaleString('en-US')} | ${r.mbPerSecond.toFixed(1)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.max.toFixed(1)} | ${r.clientErrors} | ${r.peakRssMb.toFixed(0)} | ${r.keysMoved.toLocaleString('en-US')} | ${r.lostKeys} | ${r.openSlots} | ${r.failedRuns} |`,
      ),
    ];
    const time = (name: string): number => rows.find((r) => r.contender === name)?.seconds ?? NaN;
    const ratios = {
      'slotshift verified vs redis-cli': time('redis-cli') / time('slotshift verified'),
      'slotshift verified vs redis-cli pipeline 1000':
        time('redis-cli pipeline 1000') / time('slotshift verified'),
      'slotshift unverified vs redis-cli pipeline 1000':
        time('redis-cli pipeline 1000') / time('slotshift unverified'),
      'verification cost (verified / unverified)': time('slotshift verified') / time('slotshift unverified'),
    };
    lines.push('', ...Object.entries(ratios).map(([k, v]) => `- ${k}: ${v.toFixed(2)}x`));
    process.stdout.write(`${lines.join('\n')}\n`);
    const file = join(ROOT, 'bench', 'results', `${scenario.name}-${machine.date.slice(0, 10)}.json`);
    writeFileSync(
      file,
      `${JSON.stringify({ command, machine, options: o, rows, ratios, runs: results }, null, 2)}\n`,
    );
    process.stdout.write(`\nresults: ${file}\n`);
  }
}

await main();
