/**
 * `npm run bench -- [--scenario scale-out|drain|mixed|skewed|all] [--keys N] [--value-bytes B] [--runs R]`
 *
 * Runs slotshift and redis-cli's rebalance side by side on fresh clusters loaded with identical data,
 * in alternation (A B C D, A B C D, ...) so machine drift hits every contender alike. While each runs,
 * a probe process drives a fixed 2,000 ops/s of GET/SET through an ioredis Cluster client and records
 * latency and errors. After each run: every key is checked (count and content: read back for plain
 * strings, slot checksums before and after for the other scenarios), and no slot may be open. Prints a
 * table per scenario and the ratios (medians of R runs); writes the same as JSON under bench/results/.
 * Nothing here is asserted as a test: speed is shown, not tested.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cluster } from 'ioredis';
import {
  loadStrings,
  redisServerVersion,
  startLocalCluster,
  startLocalRedis,
  valueFor,
  type LocalCluster,
} from '../src/localcluster/index.js';
import {
  bigKeysMoved,
  compareContent,
  keySpread,
  keysInSlots,
  keysPerServingMaster,
  movedSlots,
  readClusterState,
  type ClusterState,
  type KeySpread,
} from './cluster-state.js';
import { loadMixed } from './load-mixed.js';
import { loadSkewed } from './load-skewed.js';
import { PROBE_KEYS, PROBE_VALUE, startProbe, type ProbeReport } from './probe.js';
import { SlotWriter, type LoadedData } from './slot-writer.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'slotshift.js');

/** redis-cli colours its output even into a pipe; the colour codes are stripped before it is shown. */
const ANSI_COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

interface Options {
  scenario: string;
  keys: number;
  valueBytes: number;
  runs: number;
}

interface RunResult {
  contender: string;
  seconds: number;
  exitCode: number;
  /** The contender's last line of output, e.g. redis-cli's "No rebalancing needed!". */
  lastOutputLine: string;
  peakRssMb: number;
  slotsMoved: number;
  keysMoved: number;
  /** Payload bytes in the moved slots (see LoadedData), or keys moved × value size for plain strings. */
  bytesMoved: number;
  probe: ProbeReport;
  lostKeys: number;
  /** Slots whose checksum changed; null where the scenario checks values instead. */
  changedSlots: number | null;
  openSlots: number;
  keysBefore: number;
  keysAfter: number;
  ttlKeysBefore: number;
  ttlKeysAfter: number;
  bigKeys: number;
  bigKeysMoved: number;
  spreadBefore: KeySpread;
  spreadAfter: KeySpread;
}

const DEFAULT_KEYS = 1_000_000;

function parseArgs(argv: string[]): Options {
  const get = (name: string, fallback: string): string => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] ? argv[i + 1]! : fallback;
  };
  return {
    scenario: get('scenario', 'scale-out'),
    keys: Number(get('keys', String(DEFAULT_KEYS))),
    valueBytes: Number(get('value-bytes', '100')),
    runs: Number(get('runs', '1')),
  };
}

interface Scenario {
  name: string;
  cluster: { masters: number; emptyMasters: number };
  /** Writes the data every contender's fresh cluster starts with. */
  load: (cluster: LocalCluster, o: Options) => Promise<LoadedData>;
  /**
   * How loss is found. `values`: every `load:<i>` is read back and compared (plain strings only).
   * `checksum`: every slot's checksum (keys, content, TTL presence) before and after, for data a GET
   * cannot check.
   */
  check: 'values' | 'checksum';
  contenders: Record<string, (cluster: LocalCluster, queueUrl: string) => string[]>;
}

async function loadPlainStrings(cluster: LocalCluster, o: Options): Promise<LoadedData> {
  await loadStrings(cluster, { keys: o.keys, valueBytes: o.valueBytes, prefix: 'load' });
  return { bigKeys: [] };
}

/** redis-cli and slotshift, each verified and not, spreading 3 masters' slots onto 3 empty ones. */
const SCALE_OUT_CONTENDERS: Scenario['contenders'] = {
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
};

const SCENARIOS: Scenario[] = [
  {
    name: 'scale-out',
    cluster: { masters: 3, emptyMasters: 3 },
    load: loadPlainStrings,
    check: 'values',
    contenders: SCALE_OUT_CONTENDERS,
  },
  {
    name: 'drain',
    cluster: { masters: 6, emptyMasters: 0 },
    load: loadPlainStrings,
    check: 'values',
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
  {
    // Every type, TTLs and three big keys, on the scale-out move.
    name: 'mixed',
    cluster: { masters: 3, emptyMasters: 3 },
    load: (c, o) => loadMixed(c, o),
    check: 'checksum',
    contenders: SCALE_OUT_CONTENDERS,
  },
  {
    // Slots already even, keys not. redis-cli balances slots only, so doing nothing is its honest
    // result here; slotshift is run balancing slots (the same answer) and keys.
    name: 'skewed',
    cluster: { masters: 6, emptyMasters: 0 },
    load: (c, o) => loadSkewed(c, o),
    check: 'checksum',
    contenders: {
      'redis-cli': (c) => ['redis-cli', '--cluster', 'rebalance', c.seeds[0]!],
      'slotshift --balance-by slots': (c, q) => slotshift(c, q, ['--balance-by', 'slots']),
      'slotshift --balance-by keys': (c, q) => slotshift(c, q, ['--balance-by', 'keys']),
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

/** Loaded keys missing or with another value (read through a cluster client). */
async function lostValues(cluster: LocalCluster, keys: number, valueBytes: number): Promise<number> {
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
  return lost;
}

/**
 * Writes the keys the probe will SET, with the value it will SET, so its writes during the run
 * change no slot checksum.
 */
async function writeProbeKeys(cluster: LocalCluster): Promise<void> {
  const writer = await SlotWriter.open(cluster);
  try {
    for (let n = 0; n < PROBE_KEYS; n++) {
      const key = `probe:${n}`;
      await writer.write(key, 0, (p) => p.set(key, PROBE_VALUE));
    }
    await writer.flush();
  } finally {
    writer.close();
  }
}

/**
 * Keys gained, summed over the masters that serve slots afterwards: what moved when every master only
 * gives or only takes. A drained master is left out: Redis turns a master that lost its last slot
 * into a replica of the slot's new owner (cluster-allow-replica-migration), and its DBSIZE is then a
 * copy of that master's keys, not keys moved.
 */
function keysGained(before: ClusterState, after: ClusterState): number {
  const serving = new Set(after.owners);
  let gained = 0;
  for (const [id, n] of after.keysPerNode) {
    if (serving.has(id)) gained += Math.max(0, n - (before.keysPerNode.get(id) ?? 0));
  }
  return gained;
}

async function runOnce(scenario: Scenario, contender: string, o: Options): Promise<RunResult> {
  const cluster = await startLocalCluster({ ...scenario.cluster, nodeTimeoutMs: 15_000 });
  const queue = await startLocalRedis();
  try {
    const data = await scenario.load(cluster, o);
    const checksummed = scenario.check === 'checksum';
    if (checksummed) await writeProbeKeys(cluster);
    const before = await readClusterState(cluster, checksummed);
    const probe = startProbe(cluster.seeds[0]!);
    await probe.ready;
    const r = await timed(scenario.contenders[contender]!(cluster, queue.url));
    const probeReport = await probe.stop();
    if (r.exitCode !== 0)
      process.stderr.write(`${contender} exited ${r.exitCode}:\n${r.output.slice(-2000)}\n`);
    const after = await readClusterState(cluster, checksummed);
    const moved = movedSlots(before, after);
    const content = checksummed ? compareContent(before, after) : null;
    // Checksummed scenarios count the keys of the slots that changed owner: in skewed, masters both
    // give and take, and the sum of gains would net part of the traffic out.
    const keysMoved = checksummed ? keysInSlots(before, moved) : keysGained(before, after);
    const payload = data.payloadBytes;
    return {
      contender,
      seconds: r.seconds,
      exitCode: r.exitCode,
      lastOutputLine: r.output.replace(ANSI_COLOUR, '').trim().split('\n').pop() ?? '',
      peakRssMb: r.peakRssMb,
      slotsMoved: moved.length,
      keysMoved,
      bytesMoved: payload ? moved.reduce((n, s) => n + (payload[s] ?? 0), 0) : keysMoved * o.valueBytes,
      probe: probeReport,
      lostKeys: content ? content.lostKeys : await lostValues(cluster, o.keys, o.valueBytes),
      changedSlots: content ? content.changedSlots : null,
      openSlots: after.openSlots,
      keysBefore: content ? content.keysBefore : sum(keysPerServingMaster(before)),
      keysAfter: content ? content.keysAfter : sum(keysPerServingMaster(after)),
      ttlKeysBefore: before.ttlKeys,
      ttlKeysAfter: after.ttlKeys,
      bigKeys: data.bigKeys.length,
      bigKeysMoved: bigKeysMoved(data.bigKeys, before, after),
      spreadBefore: keySpread(before),
      spreadAfter: keySpread(after),
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

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? 0;
}

interface Row {
  contender: string;
  seconds: number;
  keysPerSecond: number;
  mbPerSecond: number;
  p50: number;
  p99: number;
  max: number;
  clientErrors: number;
  peakRssMb: number;
  slotsMoved: number;
  keysMoved: number;
  mbMoved: number;
  lostKeys: number;
  changedSlots: number | null;
  openSlots: number;
  failedRuns: number;
  ttlKeysBefore: number;
  ttlKeysAfter: number;
  bigKeys: number;
  bigKeysMoved: number;
  maxKeysPerMaster: number;
  minKeysPerMaster: number;
  keysPerMasterCv: number;
}

/** One contender's runs: medians of measurements, sums of failures (one bad run must show). */
function summarize(contender: string, mine: RunResult[]): Row {
  const med = (f: (r: RunResult) => number): number => median(mine.map(f));
  const total = (f: (r: RunResult) => number): number => mine.reduce((a, r) => a + f(r), 0);
  const seconds = med((r) => r.seconds);
  const keysMoved = med((r) => r.keysMoved);
  const bytesMoved = med((r) => r.bytesMoved);
  return {
    contender,
    seconds,
    keysPerSecond: keysMoved / seconds,
    mbPerSecond: bytesMoved / 1e6 / seconds,
    p50: med((r) => r.probe.p50),
    p99: med((r) => r.probe.p99),
    max: med((r) => r.probe.max),
    clientErrors: total((r) => r.probe.errors),
    peakRssMb: Math.max(...mine.map((r) => r.peakRssMb)),
    slotsMoved: med((r) => r.slotsMoved),
    keysMoved,
    mbMoved: bytesMoved / 1e6,
    lostKeys: total((r) => r.lostKeys),
    changedSlots: mine.some((r) => r.changedSlots !== null) ? total((r) => r.changedSlots ?? 0) : null,
    openSlots: total((r) => r.openSlots),
    failedRuns: mine.filter((r) => r.exitCode !== 0).length,
    ttlKeysBefore: med((r) => r.ttlKeysBefore),
    ttlKeysAfter: med((r) => r.ttlKeysAfter),
    bigKeys: med((r) => r.bigKeys),
    bigKeysMoved: med((r) => r.bigKeysMoved),
    maxKeysPerMaster: med((r) => r.spreadAfter.maxKeys),
    minKeysPerMaster: med((r) => r.spreadAfter.minKeys),
    keysPerMasterCv: med((r) => r.spreadAfter.cv),
  };
}

function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

interface Column {
  header: string;
  cell: (r: Row) => string;
  /** Whether the column is printed for this scenario; always when absent. */
  shown?: (scenario: Scenario, rows: readonly Row[]) => boolean;
}

const COLUMNS: Column[] = [
  { header: 'contender', cell: (r) => r.contender },
  { header: 'wall s', cell: (r) => r.seconds.toFixed(2) },
  { header: 'keys/s', cell: (r) => count(r.keysPerSecond) },
  { header: 'MB/s', cell: (r) => r.mbPerSecond.toFixed(1) },
  { header: 'client p50 ms', cell: (r) => r.p50.toFixed(2) },
  { header: 'p99 ms', cell: (r) => r.p99.toFixed(2) },
  { header: 'max ms', cell: (r) => r.max.toFixed(1) },
  { header: 'client errors', cell: (r) => String(r.clientErrors) },
  { header: 'peak RSS MB', cell: (r) => r.peakRssMb.toFixed(0) },
  { header: 'slots moved', cell: (r) => count(r.slotsMoved) },
  { header: 'keys moved', cell: (r) => count(r.keysMoved) },
  { header: 'MB moved', cell: (r) => r.mbMoved.toFixed(1) },
  {
    header: 'big keys moved',
    cell: (r) => `${r.bigKeysMoved}/${r.bigKeys}`,
    shown: (_, rows) => rows.some((r) => r.bigKeys > 0),
  },
  { header: 'lost keys', cell: (r) => String(r.lostKeys) },
  {
    header: 'changed slots',
    cell: (r) => String(r.changedSlots ?? '-'),
    shown: (scenario) => scenario.check === 'checksum',
  },
  {
    header: 'TTL keys before → after',
    cell: (r) => `${count(r.ttlKeysBefore)} → ${count(r.ttlKeysAfter)}`,
    shown: (_, rows) => rows.some((r) => r.ttlKeysBefore > 0),
  },
  { header: 'open slots', cell: (r) => String(r.openSlots) },
  { header: 'failed runs', cell: (r) => String(r.failedRuns) },
  {
    header: 'keys/master max / min',
    cell: (r) => `${count(r.maxKeysPerMaster)} / ${count(r.minKeysPerMaster)}`,
  },
  { header: 'keys/master CV %', cell: (r) => (r.keysPerMasterCv * 100).toFixed(1) },
];

async function main(): Promise<void> {
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
    const rows = contendersOf(scenario).map((contender) =>
      summarize(
        contender,
        results.filter((r) => r.contender === contender),
      ),
    );
    const columns = COLUMNS.filter((c) => c.shown?.(scenario, rows) ?? true);
    const spread = results[0]?.spreadBefore;
    const lines = [
      `\n### ${scenario.name}: ${o.keys.toLocaleString('en-US')} keys${scenario.check === 'values' ? ` x ${o.valueBytes} B` : ''}, median of ${o.runs} run(s)`,
      ...(spread
        ? [
            `before: keys per master max ${count(spread.maxKeys)} / min ${count(spread.minKeys)}, CV ${(spread.cv * 100).toFixed(1)}%`,
          ]
        : []),
      `| ${columns.map((c) => c.header).join(' | ')} |`,
      '|' + ' --- |'.repeat(columns.length),
      ...rows.map((r) => `| ${columns.map((c) => c.cell(r)).join(' | ')} |`),
    ];
    const time = (name: string): number => rows.find((r) => r.contender === name)?.seconds ?? NaN;
    // Only the ratios whose contenders both ran in this scenario.
    const ratios = Object.fromEntries(
      Object.entries({
        'slotshift verified vs redis-cli': time('redis-cli') / time('slotshift verified'),
        'slotshift verified vs redis-cli pipeline 1000':
          time('redis-cli pipeline 1000') / time('slotshift verified'),
        'slotshift unverified vs redis-cli pipeline 1000':
          time('redis-cli pipeline 1000') / time('slotshift unverified'),
        'verification cost (verified / unverified)':
          time('slotshift verified') / time('slotshift unverified'),
      }).filter(([, v]) => Number.isFinite(v)),
    );
    // A contender that found nothing to do says why (redis-cli: "No rebalancing needed! ...").
    const idle = results.filter((r) => r.slotsMoved === 0 && r.exitCode === 0);
    if (idle.length > 0)
      lines.push('', ...idle.map((r) => `- ${r.contender} moved no slot: ${r.lastOutputLine}`));
    if (Object.keys(ratios).length > 0)
      lines.push('', ...Object.entries(ratios).map(([k, v]) => `- ${k}: ${v.toFixed(2)}x`));
    process.stdout.write(`${lines.join('\n')}\n`);
    // The key count is in the name when it is not the default, and a second run of the day gets
    // -2, -3, ...: results the READMEs cite were overwritten by later runs of the same day.
    const size = o.keys === DEFAULT_KEYS ? '' : `-${o.keys}-keys`;
    const base = join(ROOT, 'bench', 'results', `${scenario.name}-${machine.date.slice(0, 10)}${size}`);
    let file = `${base}.json`;
    for (let n = 2; existsSync(file); n++) file = `${base}-${n}.json`;
    writeFileSync(
      file,
      `${JSON.stringify({ command, machine, options: o, rows, ratios, runs: results }, null, 2)}\n`,
    );
    process.stdout.write(`\nresults: ${file}\n`);
  }
}

await main();
