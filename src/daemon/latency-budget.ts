/** Which latency budget the slots of a plan file move with, and where it came from (for the log). */
export interface LatencyBudgetChoice {
  readonly latencyBudgetMs: number;
  readonly from: 'plan file' | 'config';
}

/**
 * A plan file's `spec.limits.latencyBudgetMs` when it sets one, else the daemon config's
 * `moves.latencyBudgetMs`: the rule of `apply -f`, where the flag plays the config's part (the flag
 * wins there because it is given for that one run; the config is the daemon's default for every
 * plan). Pure.
 */
export function latencyBudgetFor(
  planFile: { readonly limits: { readonly latencyBudgetMs: number | null } },
  configMs: number,
): LatencyBudgetChoice {
  const fromFile = planFile.limits.latencyBudgetMs;
  return fromFile === null
    ? { latencyBudgetMs: configMs, from: 'config' }
    : { latencyBudgetMs: fromFile, from: 'plan file' };
}
