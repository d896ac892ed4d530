import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { EventEmitter } from 'node:events';
import { Redis, type RedisOptions } from 'ioredis';
import {
  AuthenticationError,
  InvalidAddressError,
  InvalidOptionError,
  NotClusterError,
  NodeUnreachableError,
  TlsError,
  type SlotshiftError,
} from '../errors/index.js';

/** How slotshift connects to every node; the same for every command. */
export interface ConnectionOptions {
  /** ACL user; omitted for legacy `requirepass` AUTH. */
  user?: string;
  /** Never logged: pino redacts it and no error message includes it. */
  password?: string;
  tls?: TlsFiles | null;
  /** @defaultValue 5000 */
  connectTimeoutMs?: number;
}

export interface TlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** Skip server certificate verification (test clusters with self-signed certs only). */
  insecure?: boolean;
}

export const DEFAULT_CONNECTION_OPTIONS = { connectTimeoutMs: 5000 } as const;

export interface NodeAddress {
  readonly host: string;
  readonly port: number;
}

/** Parses `HOST:PORT` or `[IPv6]:PORT`. */
export function parseAddress(text: string): NodeAddress {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]\s]+):(\d+)$/.exec(text);
  if (!m) throw new InvalidAddressError(text, 'expected HOST:PORT');
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidAddressError(text, `port ${m[2]} is not between 1 and 65535`);
  }
  return { host: m[1]!, port };
}

function readTlsFile(option: string, path: string | undefined): Buffer | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (e) {
    throw new InvalidOptionError(option, `cannot read ${path}: ${(e as Error).message}`);
  }
}

type StandaloneConnectorClass = new (options: unknown) => {
  connect(events: unknown): Promise<EventEmitter>;
};
// Not exported by ioredis's index; its package has no "exports" map, so the file is reachable.
const { default: StandaloneConnector } = createRequire(import.meta.url)(
  'ioredis/built/connectors/StandaloneConnector.js',
) as { default: StandaloneConnectorClass };

/**
 * ioredis listens for one 'error' per socket (`stream.once`). A TLS socket whose client certificate
 * the server refuses can emit two (the alert, then `read ECONNRESET`), and the second, with no
 * listener, crashed the process: `slotshift status` exited 1 with "Unhandled 'error' event" in 2
 * CI runs of 2026-11-26. This connector keeps a listener on each socket for its whole life; the
 * first error still reaches ioredis, which reports it.
 */
class ErrorSafeConnector extends StandaloneConnector {
  override async connect(events: unknown): Promise<EventEmitter> {
    const stream = await super.connect(events);
    stream.on('error', () => undefined);
    return stream;
  }
}

/** ioredis options for one node; TLS files are read here once so a missing file fails before any I/O. */
export function redisOptions(addr: NodeAddress, opts: ConnectionOptions): RedisOptions {
  const tls = opts.tls
    ? {
        ca: readTlsFile('--tls-ca', opts.tls.caFile),
        cert: readTlsFile('--tls-cert', opts.tls.certFile),
        key: readTlsFile('--tls-key', opts.tls.keyFile),
        rejectUnauthorized: !opts.tls.insecure,
      }
    : undefined;
  return {
    host: addr.host,
    port: addr.port,
    username: opts.user,
    password: opts.password,
    tls,
    connectTimeout: opts.connectTimeoutMs ?? DEFAULT_CONNECTION_OPTIONS.connectTimeoutMs,
    lazyConnect: true,
    // Reconnect loops hide a dead seed behind a hang; slotshift reports it and lets the caller decide.
    retryStrategy: () => null,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    // Many slots in flight issue commands to the same node in the same tick; one socket write for
    // all of them instead of one each was the largest CPU cost of a move (measured with --cpu-prof).
    enableAutoPipelining: true,
    ...errorSafeSockets,
  };
}

/**
 * Options that keep a listener on each socket of a connection (see ErrorSafeConnector): for every
 * long-lived connection, the queue's too, so a TLS refusal after a reconnect cannot crash the process.
 */
export const errorSafeSockets: Pick<RedisOptions, 'Connector'> = {
  Connector: ErrorSafeConnector as unknown as NonNullable<RedisOptions['Connector']>,
};

/**
 * An ioredis client for a cluster node (options from `redisOptions`). A password given to a server
 * that needs none is not an error, but ioredis then writes its own `[WARN] This Redis server's
 * \`default\` user does not require a password...` to the console once per connection: four times for
 * a `status` of three masters and a replica, more during an apply. Here its AUTH reply is read
 * instead, and slotshift says so once per process, in one line of its own.
 */
export function nodeClient(options: RedisOptions): Redis {
  const redis = new Redis(options);
  if (options.password !== undefined) quietAboutUnneededPassword(redis, `${options.host}:${options.port}`);
  return redis;
}

type AuthCallback = (err: Error | null | undefined, result?: unknown) => void;
let toldUnneededPassword = false;

/**
 * ioredis sends AUTH on connect as `this.auth(credentials, callback)` and warns from the callback
 * when the reply says no password is set. The callback is given the reply as a success instead;
 * any other reply (a wrong password) reaches it unchanged. Should ioredis call auth differently, the
 * call passes through and only its own warning comes back.
 */
function quietAboutUnneededPassword(redis: Redis, addr: string): void {
  const client = redis as unknown as { auth: (...args: unknown[]) => unknown };
  const auth = client.auth.bind(redis);
  client.auth = (...args: unknown[]): unknown => {
    const callback = args.at(-1);
    if (typeof callback !== 'function') return auth(...args);
    return auth(...args.slice(0, -1), (err: Error | null | undefined, result?: unknown) => {
      if (err && /no password is set|without any password configured/i.test(err.message)) {
        if (!toldUnneededPassword) {
          toldUnneededPassword = true;
          process.stderr.write(
            `slotshift: ${addr} asks for no password; the password given (--password, SLOTSHIFT_PASSWORD or the config file) is not needed\n`,
          );
        }
        (callback as AuthCallback)(null, 'OK');
        return;
      }
      (callback as AuthCallback)(err, result);
    });
  };
}

/**
 * Opens a connection to one node and proves it answers, turning each way of failing into the error a
 * user can act on. The password is in no message: ioredis errors never carry it, and ours do not.
 */
export async function connectNode(addr: NodeAddress, opts: ConnectionOptions): Promise<Redis> {
  const redis = nodeClient(redisOptions(addr, opts));
  let lastSocketError: Error | undefined;
  redis.on('error', (e: Error) => {
    lastSocketError = e;
  });
  const label = `${addr.host.includes(':') ? `[${addr.host}]` : addr.host}:${addr.port}`;
  try {
    await redis.connect();
    await redis.ping();
    return redis;
  } catch (e) {
    redis.disconnect();
    throw classifyConnectError(label, lastSocketError ?? e, Boolean(opts.tls));
  }
}

export function classifyConnectError(addr: string, e: unknown, usingTls: boolean): SlotshiftError {
  const err = e instanceof Error ? e : new Error(String(e));
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const msg = err.message;
  if (isAuthFailure(msg)) {
    return new AuthenticationError(addr, firstLine(msg));
  }
  if (/SSL|TLS|certificate|CERT_|self[- ]signed|wrong version number|EPROTO/i.test(`${code} ${msg}`)) {
    return new TlsError(addr, describeTlsError(code, msg));
  }
  if (usingTls && /ETIMEDOUT|timed? ?out/i.test(`${code} ${msg}`)) {
    // A plain server reads a TLS ClientHello as an unfinished command and never answers.
    return new TlsError(
      addr,
      'no TLS handshake answer (the port may not have TLS enabled: drop --tls, or use the tls-port)',
    );
  }
  if (usingTls && /Connection is closed|ECONNRESET/.test(`${code} ${msg}`)) {
    // A server with tls-auth-clients closes the connection on a missing or untrusted client
    // certificate; a command written before its alert is read fails with ECONNRESET instead.
    return new TlsError(
      addr,
      'the server closed the connection after the TLS handshake (it may require a client certificate it trusts: check --tls-cert and --tls-key)',
    );
  }
  if (!usingTls && /Connection is closed|ECONNRESET/.test(`${code} ${msg}`)) {
    // A server killed while the connection opened looks the same: retryable, so a slot whose source
    // died at that moment waits for its replica instead of failing for good (it did, 2 of 8,030).
    return new TlsError(
      addr,
      'the server closed the connection before answering (it may expect TLS: add --tls; or it stopped just then)',
      true,
    );
  }
  if (/cluster support disabled/i.test(msg)) return new NotClusterError(addr);
  return new NodeUnreachableError(addr, describeSocketError(code, msg));
}

/**
 * A server that demands client certificates (`tls-auth-clients yes`) answers a missing or untrusted
 * one with a TLS alert, which OpenSSL reports as a line of internals; the alert is what a user needs.
 */
function describeTlsError(code: string, msg: string): string {
  const text = `${code} ${msg}`;
  if (/CERTIFICATE_REQUIRED|alert certificate required/i.test(text)) {
    return 'the server requires a client certificate (mutual TLS): add --tls-cert and --tls-key';
  }
  if (
    /ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN)|alert (unknown ca|bad certificate|certificate unknown)/i.test(
      text,
    )
  ) {
    return 'the server rejected the client certificate (--tls-cert is not signed by a CA the server trusts, or is not valid for client authentication)';
  }
  return firstLine(msg);
}

/** Whether a server's reply says it refused the credentials (or that some were needed). */
export function isAuthFailure(message: string): boolean {
  return /WRONGPASS|NOAUTH|invalid username-password|AUTH.*without any password|NOPERM/i.test(message);
}

/** What went wrong connecting, in a few words ("connection refused", "host name not found", ...). */
export function connectFailureDetail(e: unknown): string {
  const err = e instanceof Error ? e : new Error(String(e));
  return describeSocketError((err as NodeJS.ErrnoException).code ?? '', err.message);
}

function describeSocketError(code: string, msg: string): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ETIMEDOUT':
      return 'connection timed out';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    default:
      return firstLine(msg);
  }
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}
