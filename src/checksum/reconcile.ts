import type { Digest } from './fold.js';

export interface Reconciliation {
  /** Expected but absent. */
  readonly missing: string[];
  /** Present on both sides with a different digest. */
  readonly changed: string[];
  /** Present but not expected. */
  readonly extra: string[];
}

/** Names every key that differs between two digest maps; each list is sorted so reports are stable. */
export function reconcile(
  expected: ReadonlyMap<string, Digest>,
  actual: ReadonlyMap<string, Digest>,
): Reconciliation {
  const missing: string[] = [];
  const changed: string[] = [];
  const extra: string[] = [];
  for (const [key, digest] of expected) {
    const seen = actual.get(key);
    if (seen === undefined) missing.push(key);
    else if (seen !== digest) changed.push(key);
  }
  for (const key of actual.keys()) if (!expected.has(key)) extra.push(key);
  return { missing: missing.sort(), changed: changed.sort(), extra: extra.sort() };
}

export function isReconciled(r: Reconciliation): boolean {
  return r.missing.length === 0 && r.changed.length === 0 && r.extra.length === 0;
}
