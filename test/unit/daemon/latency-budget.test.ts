import { describe, expect, it } from 'vitest';
import { latencyBudgetFor } from '../../../src/daemon/latency-budget.js';

describe("the daemon's latency budget for a plan file's slots", () => {
  it("takes the plan file's spec.limits.latencyBudgetMs, else the config's moves.latencyBudgetMs", () => {
    expect(latencyBudgetFor({ limits: { latencyBudgetMs: 12 } }, 5)).toEqual({
      latencyBudgetMs: 12,
      from: 'plan file',
    });
    expect(latencyBudgetFor({ limits: { latencyBudgetMs: null } }, 5)).toEqual({
      latencyBudgetMs: 5,
      from: 'config',
    });
  });
});
