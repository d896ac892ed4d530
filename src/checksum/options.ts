import { InvalidOptionError } from '../errors/index.js';

/** How keys are digested. Both sides of a comparison must use the same `includeTtl`. */
export interface DigestOptions {
  /**
   * Make TTL presence part of the digest. The expiry itself never is: MIGRATE sends the remaining
   * TTL, so the absolute expiry moves by the transfer time.
   * @defaultValue false
   */
  includeTtl?: boolean;
  /** Keys per script call. @defaultValue 1000 */
  batchKeys?: number;
  /**
   * Collections with more elements (and strings over 1 MiB) are digested in chunks across calls
   * instead of inside the batch call.
   * @defaultValue 1000
   */
  inlineMaxElements?: number;
  /**
   * Work one batch call may do, in cost units: 1 + elements per key, or 1 + KiB for strings.
   * A call stops after the key that reaches the budget; the rest go in the next call.
   * @defaultValue 20000
   */
  callBudget?: number;
  /** Elements per chunk call for large collections (a COUNT hint for HSCAN/SSCAN). @defaultValue 1000 */
  chunkElements?: number;
  /** Bytes of a large string per chunk call, rounded down to whole 1 MiB pieces (at least one). @defaultValue 8 MiB */
  chunkBytes?: number;
  /** Script calls in flight per connection. @defaultValue 4 */
  concurrency?: number;
  /** Fresh starts of a chunked digest after the key was replaced under it. @defaultValue 3 */
  maxRestarts?: number;
  /**
   * The keys are expected to hold small strings (keys a MIGRATE has just carried): string values
   * are read in one MGET per batch, ~40% cheaper on the server, but a string over 1 MiB is then
   * read whole once. @defaultValue false
   */
  expectSmallStrings?: boolean;
}

export type CompiledDigestOptions = Readonly<Required<DigestOptions>>;

export const DEFAULT_DIGEST_OPTIONS: CompiledDigestOptions = {
  includeTtl: false,
  batchKeys: 1000,
  inlineMaxElements: 1000,
  callBudget: 20_000,
  chunkElements: 1000,
  chunkBytes: 8 * 1024 * 1024,
  concurrency: 4,
  maxRestarts: 3,
  expectSmallStrings: false,
};

/** Fills defaults and checks every number once, so the I/O code never re-validates. */
export function compileDigestOptions(options: DigestOptions = {}): CompiledDigestOptions {
  const o = { ...DEFAULT_DIGEST_OPTIONS, ...stripUndefined(options) };
  for (const name of [
    'batchKeys',
    'inlineMaxElements',
    'callBudget',
    'chunkElements',
    'chunkBytes',
    'concurrency',
  ] as const) {
    const v = o[name];
    if (!Number.isInteger(v) || v < 1)
      throw new InvalidOptionError(name, `must be a positive integer, got ${v}`);
  }
  if (!Number.isInteger(o.maxRestarts) || o.maxRestarts < 0) {
    throw new InvalidOptionError('maxRestarts', `must be a non-negative integer, got ${o.maxRestarts}`);
  }
  return o;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
