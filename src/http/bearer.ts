import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Whether an `Authorization` header carries `Bearer <expected>`. Both sides are hashed first so
 * the comparison takes the same time whatever the length or content of the guess: neither the
 * token's length nor a matching prefix leaks through timing.
 */
export function bearerMatches(header: string | undefined, expected: string): boolean {
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
  const given = m?.[1] ?? '';
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  // Evaluate both so a missing header costs the same as a wrong one.
  const equal = timingSafeEqual(a, b);
  return equal && given.length > 0 && expected.length > 0;
}
