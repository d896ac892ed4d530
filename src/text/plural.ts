/**
 * A count with its noun in agreement: `plural(1, 'slot')` → "1 slot", `plural(16384, 'slot')` →
 * "16,384 slots". `many` is for nouns whose plural is not noun + "s".
 */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count.toLocaleString('en-US')} ${count === 1 ? one : many}`;
}
