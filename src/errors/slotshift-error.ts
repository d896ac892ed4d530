/**
 * Every failure a user can act on is a subclass of SlotshiftError with a stable `code`, a `retryable`
 * flag and a message that says what to do. Errors are matched by `name`/`code`, never by message, so
 * they survive crossing a process boundary (BullMQ serialises failed jobs' errors).
 */
export abstract class SlotshiftError extends Error {
  abstract readonly code: string;
  /** True when the same operation may succeed if tried again later without a change by the user. */
  readonly retryable: boolean = false;
  /** Exit code the CLI uses when this error ends a command. */
  readonly exitCode: number = 2;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A seed address the user gave does not parse as HOST:PORT. */
export class InvalidAddressError extends SlotshiftError {
  readonly code = 'INVALID_ADDRESS';
  constructor(
    readonly address: string,
    reason: string,
  ) {
    super(`invalid address "${address}": ${reason}; use HOST:PORT, e.g. 127.0.0.1:7000 or [::1]:7000`);
  }
}

/** No seed answered: wrong address, server down, or a firewall in between. */
export class SeedUnreachableError extends SlotshiftError {
  readonly code = 'SEED_UNREACHABLE';
  override readonly retryable = true;
  constructor(
    readonly address: string,
    detail: string,
  ) {
    super(
      `cannot connect to ${address}: ${detail}; check that redis-server runs there and the address and port are right (--seed HOST:PORT)`,
    );
  }
}

/**
 * A node of the cluster (not a seed the user gave) did not answer: down, failing over, or cut off.
 * Slot jobs retry it, and follow a failed master to the replica elected in its place.
 */
export class NodeUnreachableError extends SlotshiftError {
  readonly code = 'NODE_UNREACHABLE';
  override readonly retryable = true;
  constructor(
    readonly address: string,
    readonly detail: string,
  ) {
    super(
      `cannot connect to ${address}, a node of the cluster: ${detail}; it may be down or failing over (slotshift status --seed HOST:PORT shows the cluster's view of it)`,
    );
  }
}

/**
 * The queue lives on a cluster node (in its pinned slot) and that node is no longer the slot's
 * master: a failover moved the queue's keys, replicated, to another node. slotshift keeps one
 * connection to the queue, so it stops and says where the queue went, to go on from there.
 */
export class QueueMovedError extends SlotshiftError {
  readonly code = 'QUEUE_MOVED';
  override readonly exitCode = 1;
  constructor(
    readonly slot: number,
    readonly address: string,
    resumeWith: string,
  ) {
    super(
      `the queue's slot ${slot} is now served by ${address} (its node failed over); nothing moved is lost: run ${resumeWith} to go on from there`,
    );
  }
}

/**
 * `apply` was given policy flags while the queue holds an unfinished plan those flags do not make.
 * Resuming it would move slots nobody asked for; planning anew would silently drop it. The user
 * picks: finish it, or cancel it and plan from the flags.
 */
export class UnfinishedPlanError extends SlotshiftError {
  readonly code = 'UNFINISHED_PLAN';
  constructor(
    readonly planId: string,
    readonly description: string,
    readonly flags: readonly string[],
    readonly differs: readonly string[],
    finishWith: string,
    cancelWith: string,
  ) {
    super(
      `the queue holds unfinished plan ${planId} (${description}); the flags given (${flags.join(' ')}) make a different plan (its ${differs.join(', ')} differ${differs.length === 1 ? 's' : ''}). ` +
        `Nothing was changed. To finish plan ${planId}, run ${finishWith}; to discard it, run \`${cancelWith}\` and then this apply again`,
    );
  }
}

/** The queue Redis did not answer: wrong URL, server down, or credentials it refuses. */
export class QueueUnreachableError extends SlotshiftError {
  readonly code = 'QUEUE_UNREACHABLE';
  override readonly retryable: boolean;
  constructor(
    readonly address: string,
    detail: string,
    /** False when waiting cannot help: the server refused the URL's credentials. */
    retryable = true,
  ) {
    super(
      `cannot reach the queue Redis at ${address}: ${detail}; check --queue (or SLOTSHIFT_QUEUE_URL, or queue.url in the config file) and that redis-server runs there`,
    );
    this.retryable = retryable;
  }
}

/** The server refused the credentials given. */
export class AuthenticationError extends SlotshiftError {
  readonly code = 'AUTH_FAILED';
  constructor(
    readonly address: string,
    detail: string,
  ) {
    super(
      `authentication failed at ${address}: ${detail}; pass --user/--password (or set SLOTSHIFT_PASSWORD) with credentials the server accepts`,
    );
  }
}

/** The TLS handshake failed or one side spoke TLS and the other did not. */
export class TlsError extends SlotshiftError {
  readonly code = 'TLS_FAILED';
  override readonly retryable: boolean;
  constructor(
    readonly address: string,
    detail: string,
    /** When the same symptom also comes from a server stopping mid-connect (see classifyConnectError). */
    retryable = false,
  ) {
    super(
      `TLS connection to ${address} failed: ${detail}; use --tls (with --tls-ca/--tls-cert/--tls-key) only when the server has tls-port enabled, and the right CA file`,
    );
    this.retryable = retryable;
  }
}

/** The seed answers but is a standalone server, not a cluster node. */
export class NotClusterError extends SlotshiftError {
  readonly code = 'NOT_A_CLUSTER';
  constructor(readonly address: string) {
    super(
      `${address} is not in cluster mode (cluster_enabled:0); point --seed at a node of a Redis Cluster (redis-server --cluster-enabled yes)`,
    );
  }
}

/** A Redis reply did not have the shape the protocol promises; the server version may be unsupported. */
export class UnexpectedReplyError extends SlotshiftError {
  readonly code = 'UNEXPECTED_REPLY';
  constructor(
    readonly command: string,
    detail: string,
  ) {
    super(`unexpected reply to ${command}: ${detail}; slotshift supports Redis 7.0 and later`);
  }
}

/** A user-supplied option is invalid (unknown node, bad number, contradictory policy). */
export class InvalidOptionError extends SlotshiftError {
  readonly code = 'INVALID_OPTION';
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`${option}: ${message}`);
  }
}

export function isSlotshiftError(e: unknown): e is SlotshiftError {
  return e instanceof SlotshiftError;
}
