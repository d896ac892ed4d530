import { isAbsolute, resolve, dirname } from 'node:path';
import { z } from 'zod';
import { parseAddress } from '../cluster/index.js';
import { DEFAULT_WORKER_LIMITS } from '../queue/worker-limits.js';
import { DEFAULT_MOVE_SETTINGS, type MoveSettings } from '../migrate/migrator.js';
import { byteSize, strictObject } from './units.js';
import { LOG_LEVELS } from '../log/logger.js';

const INLINE_SECRET =
  'secrets are never written in the config file; name an environment variable (passwordEnv) or a file (passwordFile) that holds it';
const INLINE_TOKEN =
  'secrets are never written in the config file; name an environment variable (tokenEnv) or a file (tokenFile) that holds it';

const address = z.string({ error: 'must be HOST:PORT, e.g. 10.0.0.1:6379' }).refine(
  (text) => {
    try {
      parseAddress(text);
      return true;
    } catch {
      return false;
    }
  },
  { error: (iss) => `"${String(iss.input)}" is not HOST:PORT; write e.g. 10.0.0.1:6379 or [::1]:6379` },
);

const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name such as SLOTSHIFT_PASSWORD');
const filePath = z.string().min(1, 'must be a file path');
const positiveInt = z.number().int('must be a whole number').positive('must be at least 1');

const TlsSchema = strictObject({
  /** @defaultValue true when the `tls` section is present. */
  enabled: z.boolean().default(true),
  caFile: filePath.optional(),
  certFile: filePath.optional(),
  keyFile: filePath.optional(),
  insecure: z.boolean().default(false),
}).refine((tls) => Boolean(tls.certFile) === Boolean(tls.keyFile), {
  error: 'certFile and keyFile go together (mutual TLS needs both); set both or neither',
});

const ClusterSchema = strictObject(
  {
    seeds: z.array(address).min(1, 'name at least one node, e.g. seeds: ["10.0.0.1:6379"]'),
    user: z.string().min(1).optional(),
    passwordEnv: envName.optional(),
    passwordFile: filePath.optional(),
    tls: TlsSchema.optional(),
    connectTimeoutMs: positiveInt.default(5000),
  },
  { password: INLINE_SECRET },
).refine((c) => !(c.passwordEnv && c.passwordFile), {
  error: 'set passwordEnv or passwordFile, not both',
  path: ['passwordFile'],
});

const QueueSchema = strictObject({
  url: z
    .string()
    .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
    .refine((url) => !/^rediss?:\/\/[^/@]*@/.test(url), {
      error:
        'credentials are never written in the config file; put the whole URL in an environment variable and name it in urlEnv',
    })
    .optional(),
  urlEnv: envName.optional(),
}).refine((q) => Boolean(q.url) !== Boolean(q.urlEnv), {
  error:
    'set exactly one of url (e.g. redis://127.0.0.1:6379) or urlEnv (an environment variable holding it)',
});

const HttpSchema = strictObject(
  {
    listen: address.default('127.0.0.1:9187'),
    tokenEnv: envName.optional(),
    tokenFile: filePath.optional(),
  },
  { token: INLINE_TOKEN },
).refine((h) => !(h.tokenEnv && h.tokenFile), {
  error: 'set tokenEnv or tokenFile, not both',
  path: ['tokenFile'],
});

export { LOG_LEVELS };

/** The config file as written: strict, every optional field may be left out. */
export const ConfigFileSchema = strictObject({
  cluster: ClusterSchema,
  queue: QueueSchema,
  workers: strictObject({
    concurrency: positiveInt.default(DEFAULT_WORKER_LIMITS.concurrency),
    perNodeLimit: positiveInt.default(DEFAULT_WORKER_LIMITS.perNodeLimit),
    nice: z.number().int('must be a whole number').min(0).max(19).default(DEFAULT_WORKER_LIMITS.nice),
  }).default(DEFAULT_WORKER_LIMITS),
  // How the daemon's workers move slots: the flags of `apply` and `worker` of the same names.
  moves: strictObject({
    verify: z.boolean().default(DEFAULT_MOVE_SETTINGS.verify),
    latencyBudgetMs: positiveInt.default(DEFAULT_MOVE_SETTINGS.latencyBudgetMs),
    maxBatchBytes: byteSize().default(DEFAULT_MOVE_SETTINGS.maxBatchBytes),
    migrateTimeoutMs: positiveInt.default(DEFAULT_MOVE_SETTINGS.migrateTimeoutMs),
    groupSlots: positiveInt.default(DEFAULT_MOVE_SETTINGS.groupSlots),
  }).default(DEFAULT_MOVE_SETTINGS),
  http: HttpSchema.default({ listen: '127.0.0.1:9187' }),
  log: strictObject({ level: z.enum(LOG_LEVELS).default('info') }).default({ level: 'info' }),
  plans: filePath.default('plans'),
  tickSeconds: z.number().positive('must be more than 0').default(30),
});

export type ConfigFileInput = z.input<typeof ConfigFileSchema>;

/** Where a value comes from: secrets only ever from the environment or a file. */
export type ValueSource =
  | { readonly from: 'inline'; readonly value: string }
  | { readonly from: 'env'; readonly name: string }
  | { readonly from: 'file'; readonly path: string };

/** The daemon's configuration, every default applied, durations in milliseconds, paths absolute. */
export interface SlotshiftConfig {
  /** Absolute path of the file this came from. */
  readonly file: string;
  readonly cluster: {
    readonly seeds: readonly string[];
    readonly user: string | null;
    readonly password: ValueSource | null;
    readonly tls: {
      readonly caFile: string | null;
      readonly certFile: string | null;
      readonly keyFile: string | null;
      readonly insecure: boolean;
    } | null;
    /** @defaultValue 5000 */
    readonly connectTimeoutMs: number;
  };
  readonly queue: { readonly url: ValueSource };
  readonly workers: {
    /** Slot jobs one worker process runs at once. @defaultValue 96 */
    readonly concurrency: number;
    /** Slot moves in flight per source or target node. @defaultValue 64 */
    readonly perNodeLimit: number;
    /** CPU priority of the daemon, as nice(1): servers on the same host come first. @defaultValue 10 */
    readonly nice: number;
  };
  /** How the daemon's workers move slots (`apply --no-verify`, `--latency-budget-ms`, ...). */
  readonly moves: MoveSettings;
  readonly http: { readonly listen: string; readonly token: ValueSource | null };
  readonly log: { readonly level: (typeof LOG_LEVELS)[number] };
  /** Absolute path of a plan file or a directory of them. @defaultValue `plans` beside the config */
  readonly plans: string;
  /** Time between two observe → plan → enqueue rounds. @defaultValue 30000 */
  readonly tickMs: number;
}

/** Fills in the defaults and resolves relative paths against the config file's directory. */
export function compileConfig(parsed: z.output<typeof ConfigFileSchema>, file: string): SlotshiftConfig {
  const base = dirname(resolve(file));
  const path = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  const pathOrNull = (p: string | undefined): string | null => (p ? path(p) : null);
  const secret = (env: string | undefined, fromFile: string | undefined): ValueSource | null =>
    env ? { from: 'env', name: env } : fromFile ? { from: 'file', path: path(fromFile) } : null;
  const { cluster, queue, http } = parsed;
  const tls = cluster.tls?.enabled
    ? {
        caFile: pathOrNull(cluster.tls.caFile),
        certFile: pathOrNull(cluster.tls.certFile),
        keyFile: pathOrNull(cluster.tls.keyFile),
        insecure: cluster.tls.insecure,
      }
    : null;
  return {
    file: resolve(file),
    cluster: {
      seeds: cluster.seeds,
      user: cluster.user ?? null,
      password: secret(cluster.passwordEnv, cluster.passwordFile),
      tls,
      connectTimeoutMs: cluster.connectTimeoutMs,
    },
    queue: {
      url: queue.urlEnv ? { from: 'env', name: queue.urlEnv } : { from: 'inline', value: queue.url ?? '' },
    },
    workers: parsed.workers,
    moves: parsed.moves,
    http: { listen: http.listen, token: secret(http.tokenEnv, http.tokenFile) },
    log: parsed.log,
    plans: path(parsed.plans),
    tickMs: Math.round(parsed.tickSeconds * 1000),
  };
}
