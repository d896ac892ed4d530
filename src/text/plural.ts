/**
 * A count with its noun in agreement: `plural(1, 'slot')` → "1 slot", `plural(2, 'slot')` →
 * "2 slots". `many` is for nouns whose plural is not noun + "s". The number is printed as given;
 * where a count is shown with thousands separators, use `noun` beside the formatted number.
 */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${noun(count, one, many)}`;
}

/** The noun alone, agreeing with `count`: `noun(1, 'key')` → "key". */
export function noun(count: number, one: string, many = `${one}s`): string {
  return count === 1 ? one : many;
}
