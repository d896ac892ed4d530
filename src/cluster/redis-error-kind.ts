/**
 * Redis error replies, classified in one place by their first word so every caller reacts to the
 * same kind the same way.
 */
export type RedisErrorKind =
  | 'MOVED'
  | 'ASK'
  | 'TRYAGAIN'
  | 'CLUSTERDOWN'
  | 'BUSYKEY'
  | 'IOERR'
  | 'NOAUTH'
  | 'WRONGPASS'
  | 'NOPERM'
  | 'NOSCRIPT'
  | 'LOADING'
  | 'READONLY'
  | 'ERR'
  | 'CONNECTION'
  | 'OTHER';

const KNOWN = new Set<RedisErrorKind>([
  'MOVED',
  'ASK',
  'TRYAGAIN',
  'CLUSTERDOWN',
  'BUSYKEY',
  'IOERR',
  'NOAUTH',
  'WRONGPASS',
  'NOPERM',
  'NOSCRIPT',
  'LOADING',
  'READONLY',
  'ERR',
]);

export function classifyRedisError(e: unknown): RedisErrorKind {
  const msg = e instanceof Error ? e.message : String(e);
  const first = msg.split(' ', 1)[0] ?? '';
  // MIGRATE wraps the target's error: "ERR Target instance replied with error: BUSYKEY ...".
  const wrapped = /Target instance replied with error: (\w+)/.exec(msg)?.[1];
  if (wrapped && KNOWN.has(wrapped as RedisErrorKind)) return wrapped as RedisErrorKind;
  if (KNOWN.has(first as RedisErrorKind)) return first as RedisErrorKind;
  if (
    /Connection is closed|ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|Command timed out|Stream isn't writeable/i.test(
      msg,
    )
  ) {
    return 'CONNECTION';
  }
  return 'OTHER';
}
