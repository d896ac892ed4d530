import type { ChainableCommander } from 'ioredis';
import type { RedisErrorKind } from '../cluster/redis-error-kind.js';

/** One command's outcome in a pipeline or transaction, as ioredis reports it. */
export type Reply = [Error | null, unknown];

/** One caller's commands, sent joined with other callers' in one pipeline or transaction. */
export interface JoinedRequest {
  readonly commands: readonly unknown[];
  readonly resolve: (replies: Reply[]) => void;
}

/** Hands each request of a joined send its own replies (one per command, in order). */
export function shareReplies(requests: readonly JoinedRequest[], replies: Reply[]): void {
  let at = 0;
  for (const r of requests) {
    r.resolve(replies.slice(at, at + r.commands.length));
    at += r.commands.length;
  }
}

/**
 * EXEC of a MULTI built on `tx`. EXECABORT says only that a queued command was refused; that refusal
 * (CLUSTERDOWN, TRYAGAIN, MOVED during a failover) is what callers classify and retry, so it is what
 * is thrown.
 */
export async function execTransaction(tx: ChainableCommander): Promise<Reply[]> {
  let replies: Reply[] | null;
  try {
    replies = await tx.exec();
  } catch (e) {
    const refused = (e as { previousErrors?: unknown[] }).previousErrors?.[0];
    throw refused instanceof Error ? refused : e;
  }
  if (!replies) throw new Error('MULTI/EXEC aborted');
  return replies;
}

// Classified in src/cluster so the checksum module, below migrate, reads errors the same way.
export { classifyRedisError, type RedisErrorKind } from '../cluster/redis-error-kind.js';

/** Kinds worth another try after a pause: the cluster or a link is busy, not wrong. */
export function isTransient(kind: RedisErrorKind): boolean {
  return (
    kind === 'IOERR' ||
    kind === 'TRYAGAIN' ||
    kind === 'CLUSTERDOWN' ||
    kind === 'LOADING' ||
    kind === 'CONNECTION'
  );
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Errors after which the same step may succeed once the topology is read again: a failover turned
 * the node into a replica (READONLY, "only with masters", "Target node is not a master") or moved
 * ownership (MOVED). The job is
 * retried and re-resolves its source and target to their current masters.
 */
export function isRetryableAfterRereading(kind: RedisErrorKind, message: string): boolean {
  return (
    isTransient(kind) ||
    kind === 'READONLY' ||
    kind === 'MOVED' ||
    /only with masters|not a master/i.test(message)
  );
}
