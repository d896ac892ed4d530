import { z } from 'zod';

const BYTE_UNITS: Readonly<Record<string, number>> = {
  B: 1,
  kB: 1e3,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
};

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * Bytes from `20GiB`, `512MB`, `1.5 GiB` or a plain number of bytes. SI units are powers of 1000 and
 * IEC units powers of 1024, exactly as written: unlike redis.conf, `1GB` is 10^9 bytes, not 2^30.
 * Returns an explanation instead of a number when the text is not a size.
 */
export function parseByteSize(input: number | string): number | string {
  if (typeof input === 'number') {
    return Number.isSafeInteger(input) && input >= 0 ? input : `${input} is not a whole number of bytes >= 0`;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(input);
  const unit = m?.[2] || 'B';
  const factor = BYTE_UNITS[unit];
  if (!m || factor === undefined) {
    return `"${input}" is not a byte size; write a number with one of ${Object.keys(BYTE_UNITS).join(', ')}, e.g. 20GiB or 512MB`;
  }
  const bytes = Math.floor(Number(m[1]) * factor);
  return Number.isSafeInteger(bytes) ? bytes : `"${input}" is too large`;
}

/**
 * Milliseconds from `4h`, `30m`, `90s`, `1h30m`, `250ms` or `1d`. A bare number is refused: whether
 * `4` means seconds or hours is exactly the mistake a unit prevents.
 */
export function parseDuration(input: number | string): number | string {
  const text = String(input).trim();
  const parts = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/.test(text)
    ? text.match(/\d+(?:\.\d+)?(?:ms|s|m|h|d)/g)
    : null;
  if (!parts) {
    return `"${text}" is not a duration; write a number with a unit (ms, s, m, h, d), e.g. 4h, 30m, 90s or 1h30m`;
  }
  let total = 0;
  for (const part of parts) {
    const [, value, unit] = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(part) ?? [];
    total += Number(value) * (DURATION_UNITS[unit ?? ''] ?? Number.NaN);
  }
  return Math.round(total);
}

/** A zod field for a byte size in the file, a number of bytes after parsing. */
export const byteSize = (): z.ZodType<number, number | string> =>
  z.union([z.number(), z.string()]).transform((value, ctx) => {
    const parsed = parseByteSize(value);
    if (typeof parsed === 'number') return parsed;
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  });

/** A zod field for a positive duration in the file, milliseconds after parsing. */
export const duration = (): z.ZodType<number, number | string> =>
  z.union([z.number(), z.string()]).transform((value, ctx) => {
    const parsed = parseDuration(value);
    if (typeof parsed === 'number' && parsed > 0) return parsed;
    ctx.addIssue({ code: 'custom', message: typeof parsed === 'string' ? parsed : 'must be longer than 0' });
    return z.NEVER;
  });

/**
 * A strict object: an unknown field is an error that lists the allowed ones. `forbidden` names fields
 * that people write by habit (an inline `password`) with the message that says what to do instead.
 */
export function strictObject<T extends z.ZodRawShape>(
  shape: T,
  forbidden: Readonly<Record<string, string>> = {},
) {
  const allowed = Object.keys(shape).join(', ');
  const forbiddenShape = Object.fromEntries(
    Object.entries(forbidden).map(([key, message]) => [key, z.never({ error: message }).optional()]),
  );
  // The explicit type argument keeps the forbidden fields out of the output type: they only ever fail.
  return z.strictObject<T>(
    { ...forbiddenShape, ...shape },
    {
      error: (iss) => (iss.code === 'unrecognized_keys' ? `allowed fields: ${allowed}` : undefined),
    },
  );
}
