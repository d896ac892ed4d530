import { describe, expect, it } from 'vitest';
import { ImpossiblePolicyError } from '../../../src/planner/index.js';
import { assertStatsServePolicy } from '../../../src/stats/plan-from-cluster.js';

describe('stats for a policy', () => {
  it('refuses to balance by memory without sampling any key, and allows every other combination', () => {
    expect(() => assertStatsServePolicy({ balanceBy: 'memory' }, 0)).toThrow(ImpossiblePolicyError);
    expect(() => assertStatsServePolicy({ balanceBy: 'memory' }, 0)).toThrow(/--sample-keys 0/);
    expect(() => assertStatsServePolicy({ balanceBy: 'memory' }, 1)).not.toThrow();
    expect(() => assertStatsServePolicy({ balanceBy: 'keys' }, 0)).not.toThrow();
    expect(() => assertStatsServePolicy({}, 0)).not.toThrow();
  });
});
