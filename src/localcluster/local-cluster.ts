import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { SLOT_COUNT } from '../cluster/model.js';
import { RedisServerMissingError, LocalClusterStartError } from './errors.js';

/**
 * Throwaway Redis Cluster on loopback for tests, the demo and the benchmark. Every port is asked of
 * the kernel (never a fixed one), the cluster bus gets its own free port through `cluster-port`, and
 * every process is stopped on `stop()`, on process exit and by the next run's sweep if this process
 * was killed with SIGKILL.
 */
export interface LocalClusterOptions {
  /** Masters that share all 16384 slots evenly. @defaultValue 3 */
  masters?: number;
  /** Replicas attached to each slot-holding master. @defaultValue 0 */
  replicasPerMaster?: number;
  /** Also give the empty masters `replicasPerMaster` replicas (e.g. to fail over a move's target). @defaultValue false */
  replicateEmptyMasters?: boolean;
  /** Extra masters already joined to the cluster but holding no slots. @defaultValue 0 */
  emptyMasters?: number;
  /** Extra `redis-server` arguments, e.g. `['--requirepass', 'x']`. */
  extraArgs?: readonly string[];
  /** Password the harness itself uses to talk to the servers (when `extraArgs` sets one). */
  password?: string;
  /** `cluster-node-timeout` in ms; short so failover tests run fast. @defaultValue 3000 */
  nodeTimeoutMs?: number;
  /** How long to wait for the cluster to converge. @defaultValue 30000 */
  readyTimeoutMs?: number;
  /**
   * Start a TLS-only cluster with these files: each node listens on a TLS port only (`port 0`),
   * the cluster bus and replication use TLS, and clients must present a certificate signed by the CA
   * (`tls-auth-clients yes`). The harness's own connections use the client certificate.
   */
  tls?: LocalTlsFiles;
}

/** PEM files of a TLS-only local cluster (e.g. made with openssl by the test harness). */
export interface LocalTlsFiles {
  /** The CA that signed both certificates; servers verify clients with it and clients servers. */
  readonly caFile: string;
  /** The servers' certificate (subjectAltName IP:127.0.0.1) and key, also presented on the bus. */
  readonly certFile: string;
  readonly keyFile: string;
  /** The certificate and key the harness (and a test's clients) present for mutual TLS. */
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
}

export interface LocalNode {
  readonly host: string;
  readonly port: number;
  readonly busPort: number;
  readonly addr: string;
  readonly id: string;
  /** `master` with slots, `empty` master without slots, or `replica`. */
  readonly kind: 'master' | 'empty' | 'replica';
  readonly masterId: string | null;
  readonly pid: number;
}

export interface LocalCluster {
  readonly nodes: readonly LocalNode[];
  readonly seeds: readonly string[];
  readonly dir: string;
  /** The TLS files when the cluster speaks TLS only, else null. */
  readonly tls: LocalTlsFiles | null;
  /** Opens a connection to one node, over TLS with the client certificate when `tls` is set (caller closes it). */
  connect(node: LocalNode): Redis;
  /** Kills one node with SIGKILL (for crash tests). */
  kill(node: LocalNode): void;
  stop(): Promise<void>;
}

export interface LocalRedis {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  stop(): Promise<void>;
}

const DEFAULTS = {
  masters: 3,
  replicasPerMaster: 0,
  emptyMasters: 0,
  nodeTimeoutMs: 3000,
  readyTimeoutMs: 30_000,
};
const HOST = '127.0.0.1';
const ROOT = join(tmpdir(), 'slotshift-local');
const OWNER_FILE = 'owner.pid';

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const killAll = (): void => {
    for (const p of running) p.kill('SIGKILL');
  };
  process.once('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      killAll();
      process.exit(130);
    });
  }
}

export function findRedisServer(): string {
  const fromEnv = process.env['REDIS_SERVER'];
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new RedisServerMissingError();
    return fromEnv;
  }
  for (const dir of (process.env['PATH'] ?? '')
    .split(':')
    .concat(['/usr/bin', '/usr/local/bin', '/usr/sbin'])) {
    const candidate = join(dir, 'redis-server');
    if (dir && existsSync(candidate)) return candidate;
  }
  throw new RedisServerMissingError();
}

/** Asks the kernel for `count` distinct free loopback ports, holding them all until every one is known. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, HOST, () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    if (a === null || typeof a === 'string') throw new Error('no port');
    return a.port;
  });
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

/**
 * Processes whose owner was killed (SIGKILL leaves no chance to clean up) are found by their
 * directory's owner pid file and stopped, so an interrupted test run never leaks servers.
 */
function sweepOrphans(): void {
  if (!existsSync(ROOT)) return;
  for (const entry of readdirSync(ROOT)) {
    const dir = join(ROOT, entry);
    const ownerFile = join(dir, OWNER_FILE);
    if (!existsSync(ownerFile)) continue;
    const owner = Number(readFileSync(ownerFile, 'utf8'));
    if (isAlive(owner)) continue;
    for (const f of readdirSync(dir)) {
      if (!f.endsWith('.pid') || f === OWNER_FILE) continue;
      const pid = Number(readFileSync(join(dir, f), 'utf8'));
      if (isAlive(pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone between the check and the kill: nothing to stop.
        }
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function newDir(prefix: string): string {
  mkdirSync(ROOT, { recursive: true });
  sweepOrphans();
  const dir = mkdtempSync(join(ROOT, `${prefix}-`));
  writeFileSync(join(dir, OWNER_FILE), String(process.pid));
  return dir;
}

interface Spawned {
  child: ChildProcess;
  port: number;
  busPort: number;
}

/** redis-server arguments that listen on `port`: a plain port, or with `tls` a TLS port only. */
function listenArgs(port: number, tls?: LocalTlsFiles): string[] {
  if (!tls) return ['--port', String(port)];
  return [
    '--port',
    '0',
    '--tls-port',
    String(port),
    '--tls-cluster',
    'yes',
    '--tls-replication',
    'yes',
    '--tls-cert-file',
    tls.certFile,
    '--tls-key-file',
    tls.keyFile,
    '--tls-ca-cert-file',
    tls.caFile,
    '--tls-auth-clients',
    'yes',
  ];
}

/** ioredis `tls` options that verify a local cluster's servers and present its client certificate. */
export function tlsClientOptions(tls: LocalTlsFiles): { ca: Buffer; cert: Buffer; key: Buffer } {
  return {
    ca: readFileSync(tls.caFile),
    cert: readFileSync(tls.clientCertFile),
    key: readFileSync(tls.clientKeyFile),
  };
}

function spawnServer(
  bin: string,
  dir: string,
  port: number,
  args: readonly string[],
  tls?: LocalTlsFiles,
): ChildProcess {
  const child = spawn(
    bin,
    [
      ...listenArgs(port, tls),
      '--bind',
      HOST,
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--logfile',
      join(dir, `redis-${port}.log`),
      ...args,
    ],
    { stdio: 'ignore' },
  );
  installExitHook();
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (child.pid !== undefined) writeFileSync(join(dir, `redis-${port}.pid`), String(child.pid));
  return child;
}

const START_ATTEMPTS = 5;

/**
 * Starts one redis-server on `ports` (port, bus port), or on fresh ones when it exits at once: a
 * port the kernel handed out free can be taken by another process (an outgoing connection's
 * ephemeral port, another test's server) before redis-server binds it, and it then exits with
 * "Address already in use".
 */
export async function startOnFreePorts(
  bin: string,
  dir: string,
  ports: readonly number[],
  args: (port: number, busPort: number) => string[],
  password?: string,
  tls?: LocalTlsFiles,
): Promise<Spawned> {
  let [port, busPort] = ports as [number, number];
  for (let attempt = 1; ; attempt++) {
    const child = spawnServer(bin, dir, port, args(port, busPort), tls);
    let exited = false;
    const exit = new Promise<'exited'>((r) =>
      child.once('exit', () => {
        exited = true;
        r('exited');
      }),
    );
    const ready = waitFor(`redis-server on port ${port}`, 10_000, () =>
      exited ? Promise.reject(new Error('exited')) : ping(port, password, tls),
    ).then(() => 'ready' as const);
    const outcome = await Promise.race([ready, exit]).catch((e: unknown) => {
      child.kill('SIGKILL');
      throw e;
    });
    if (outcome === 'ready') return { child, port, busPort };
    ready.catch(() => undefined);
    if (attempt >= START_ATTEMPTS) {
      throw new LocalClusterStartError(
        `redis-server exited at start ${attempt} times (last on port ${port}); see redis-${port}.log in ${dir}`,
      );
    }
    [port, busPort] = (await freePorts(2)) as [number, number];
  }
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new LocalClusterStartError(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}

function client(port: number, password?: string, tls?: LocalTlsFiles): Redis {
  const c = new Redis({
    host: HOST,
    port,
    password,
    tls: tls ? tlsClientOptions(tls) : undefined,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // Connection errors while a server boots are expected; they surface through the rejected command.
  c.on('error', (e: Error) => void e);
  return c;
}

async function ping(port: number, password?: string, tls?: LocalTlsFiles): Promise<true> {
  const c = client(port, password, tls);
  try {
    await c.connect();
    await c.ping();
    return true;
  } finally {
    c.disconnect();
  }
}

function evenRanges(masters: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let start = 0;
  for (let i = 0; i < masters; i++) {
    const size = Math.floor(SLOT_COUNT / masters) + (i < SLOT_COUNT % masters ? 1 : 0);
    out.push([start, start + size - 1]);
    start += size;
  }
  return out;
}

/** Slot owner per line of CLUSTER NODES, as a compact signature to compare nodes' views. */
function slotSignature(nodesText: string): string {
  const owned: string[] = [];
  for (const line of nodesText.trim().split('\n')) {
    const parts = line.split(' ');
    const slots = parts.slice(8).filter((p) => !p.startsWith('['));
    if (slots.length) owned.push(`${parts[0]}:${slots.join(',')}`);
  }
  return owned.sort().join('|');
}

export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const o = { ...DEFAULTS, ...options };
  if (o.masters < 1) throw new LocalClusterStartError('a cluster needs at least one master');
  const bin = findRedisServer();
  const dir = newDir('cluster');
  const replicated = o.masters + (o.replicateEmptyMasters ? o.emptyMasters : 0);
  const total = o.masters + o.emptyMasters + replicated * o.replicasPerMaster;
  const ports = await freePorts(total * 2);
  const spawned: Spawned[] = [];
  const conns: Redis[] = [];
  let ids: string[] = [];
  try {
    const clusterArgs = (port: number, busPort: number): string[] => [
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      join(dir, `nodes-${port}.conf`),
      '--cluster-port',
      String(busPort),
      '--cluster-node-timeout',
      String(o.nodeTimeoutMs),
      // Replicas must be able to take over in failover tests however stale they think they are.
      '--cluster-replica-validity-factor',
      '0',
      // The default 5 s delay before a diskless full sync would dominate start-up with replicas.
      '--repl-diskless-sync-delay',
      '0',
      ...(o.extraArgs ?? []),
    ];
    spawned.push(
      ...(await Promise.all(
        Array.from({ length: total }, (_, i) =>
          startOnFreePorts(bin, dir, [ports[i * 2]!, ports[i * 2 + 1]!], clusterArgs, o.password, o.tls),
        ),
      )),
    );
    for (const s of spawned) {
      const c = client(s.port, o.password, o.tls);
      await c.connect();
      conns.push(c);
    }
    ids = await Promise.all(conns.map((c) => c.call('CLUSTER', 'MYID') as Promise<string>));
    const ranges = evenRanges(o.masters);
    await Promise.all(
      ranges.map(([a, b], i) => conns[i]!.call('CLUSTER', 'ADDSLOTSRANGE', String(a), String(b))),
    );
    // Distinct epochs up front spare the cluster its epoch-collision rounds, which cost seconds.
    await Promise.all(conns.map((c, i) => c.call('CLUSTER', 'SET-CONFIG-EPOCH', String(i + 1))));
    await Promise.all(
      conns
        .slice(1)
        .map((_, i) =>
          conns[0]!.call(
            'CLUSTER',
            'MEET',
            HOST,
            String(spawned[i + 1]!.port),
            String(spawned[i + 1]!.busPort),
          ),
        ),
    );
    await waitFor('every node to know every other', o.readyTimeoutMs, async () => {
      const infos = await Promise.all(conns.map((c) => c.call('CLUSTER', 'INFO') as Promise<string>));
      return infos.every((i) => i.includes(`cluster_known_nodes:${total}`)) ? true : undefined;
    });
    const replicaStart = o.masters + o.emptyMasters;
    const masterOf: (string | null)[] = ids.map(() => null);
    for (let r = replicaStart; r < total; r++) {
      const masterIndex = Math.floor((r - replicaStart) / o.replicasPerMaster);
      masterOf[r] = ids[masterIndex]!;
    }
    await Promise.all(
      conns.map((c, i) => (masterOf[i] ? c.call('CLUSTER', 'REPLICATE', masterOf[i]) : Promise.resolve())),
    );
    await waitFor('cluster_state:ok and one slot map on every node', o.readyTimeoutMs, async () => {
      const [infos, views] = await Promise.all([
        Promise.all(conns.map((c) => c.call('CLUSTER', 'INFO') as Promise<string>)),
        Promise.all(conns.map((c) => c.call('CLUSTER', 'NODES') as Promise<string>)),
      ]);
      if (!infos.every((i) => i.includes('cluster_state:ok'))) return undefined;
      const sigs = new Set(views.map(slotSignature));
      if (sigs.size !== 1) return undefined;
      // Every node must see every replica as a replica and nobody as failing or in handshake.
      const healthy = views.every(
        (v) => !/fail|handshake|noaddr/.test(v) && (v.match(/slave/g) ?? []).length === total - replicaStart,
      );
      return healthy ? true : undefined;
    });
    if (total > replicaStart) {
      await waitFor('replicas to finish their first sync', o.readyTimeoutMs, async () => {
        const infos = await Promise.all(conns.slice(replicaStart).map((c) => c.info('replication')));
        return infos.every((i) => i.includes('master_link_status:up')) ? true : undefined;
      });
    }
  } catch (e) {
    for (const c of conns) c.disconnect();
    for (const s of spawned) s.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  for (const c of conns) c.disconnect();

  const nodes: LocalNode[] = [];
  spawned.forEach((s, i) => {
    const kind = i < o.masters ? 'master' : i < o.masters + o.emptyMasters ? 'empty' : 'replica';
    const masterIndex =
      kind === 'replica' ? Math.floor((i - o.masters - o.emptyMasters) / o.replicasPerMaster) : -1;
    nodes.push({
      host: HOST,
      port: s.port,
      busPort: s.busPort,
      addr: `${HOST}:${s.port}`,
      id: ids[i]!,
      kind,
      masterId: masterIndex >= 0 ? ids[masterIndex]! : null,
      pid: s.child.pid ?? -1,
    });
  });

  return {
    nodes,
    seeds: nodes.filter((n) => n.kind !== 'replica').map((n) => n.addr),
    dir,
    tls: o.tls ?? null,
    connect: (node) =>
      new Redis({
        host: node.host,
        port: node.port,
        password: o.password,
        tls: o.tls ? tlsClientOptions(o.tls) : undefined,
        maxRetriesPerRequest: 1,
      }),
    kill: (node) => {
      const s = spawned.find((x) => x.port === node.port);
      s?.child.kill('SIGKILL');
    },
    stop: async () => {
      await Promise.all(spawned.map((s) => stopChild(s.child)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    // No data is worth keeping in a throwaway cluster, so no SHUTDOWN SAVE round trip: just kill.
    child.kill('SIGKILL');
  });
}

/** A standalone (non-cluster) redis-server, e.g. for BullMQ's queue. */
export async function startLocalRedis(extraArgs: readonly string[] = []): Promise<LocalRedis> {
  const bin = findRedisServer();
  const dir = newDir('standalone');
  const { child, port } = await startOnFreePorts(bin, dir, await freePorts(2), () => [...extraArgs]);
  return {
    host: HOST,
    port,
    url: `redis://${HOST}:${port}`,
    dir,
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Version string of the redis-server binary the harness uses, e.g. `7.0.15`. */
export function redisServerVersion(): string {
  const out = execFileSync(findRedisServer(), ['--version'], { encoding: 'utf8' });
  return /v=([\d.]+)/.exec(out)?.[1] ?? 'unknown';
}
