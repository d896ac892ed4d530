/**
 * Largest-remainder apportionment of `total` units by `weights`, never giving a member less than its
 * `minimums` entry (pinned slots). The result sums to `total` exactly, which is what redis-cli's
 * truncating division got wrong (redis/redis#4941, #3001). Ties between equal remainders go to the
 * lower index, never to whoever holds more today, so the targets of a cluster do not shift after a
 * plan has been applied and re-planning finds nothing to do.
 *
 * Members of weight 0 get exactly their minimum. Callers guarantee that the positive weights can
 * absorb `total - sum(minimums of weight 0)`.
 */
export function apportion(total: number, weights: readonly number[], minimums: readonly number[]): number[] {
  const targets = weights.map(() => 0);
  const fixed = weights.map((w) => w === 0);
  weights.forEach((w, i) => {
    if (w === 0) targets[i] = minimums[i] ?? 0;
  });
  for (;;) {
    let remaining = total;
    let activeWeight = 0;
    weights.forEach((w, i) => {
      if (fixed[i]) remaining -= targets[i] ?? 0;
      else activeWeight += w;
    });
    if (activeWeight === 0) return targets;
    // A member whose pinned slots exceed its share keeps exactly those; the others share the rest.
    let changed = false;
    weights.forEach((w, i) => {
      const minimum = minimums[i] ?? 0;
      if (!fixed[i] && minimum > (remaining * w) / activeWeight) {
        fixed[i] = true;
        targets[i] = minimum;
        changed = true;
      }
    });
    if (changed) continue;

    const remainders: { index: number; fraction: number }[] = [];
    let assigned = 0;
    weights.forEach((w, i) => {
      if (fixed[i]) return;
      const quota = (remaining * w) / activeWeight;
      const whole = Math.floor(quota);
      targets[i] = whole;
      assigned += whole;
      remainders.push({ index: i, fraction: quota - whole });
    });
    remainders.sort((a, b) => b.fraction - a.fraction || a.index - b.index);
    for (let k = 0; k < remaining - assigned; k++) {
      const r = remainders[k % remainders.length];
      if (r) targets[r.index] = (targets[r.index] ?? 0) + 1;
    }
    return targets;
  }
}

/** The threshold rule: `|have - want| / want * 100 <= threshold`; a want of 0 tolerates nothing. */
export function withinThreshold(have: number, want: number, threshold: number): boolean {
  if (want === 0) return have === 0;
  return Math.abs(have - want) * 100 <= threshold * want;
}

/** The integer slot counts `[low, high]` that `withinThreshold` accepts for an integer `want`. */
export function thresholdBand(want: number, threshold: number): { low: number; high: number } {
  const slack = Math.floor((threshold * want) / 100);
  let low = Math.max(0, want - slack);
  let high = want + slack;
  // Float rounding may put the estimate one off; the predicate is the authority.
  while (low < want && !withinThreshold(low, want, threshold)) low++;
  while (low > 0 && withinThreshold(low - 1, want, threshold)) low--;
  while (high > want && !withinThreshold(high, want, threshold)) high--;
  while (withinThreshold(high + 1, want, threshold)) high++;
  return { low, high };
}
