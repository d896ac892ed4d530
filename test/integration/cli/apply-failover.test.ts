import { describe, it } from 'vitest';
import { FAILOVER_TEST_LIMIT_MS, failoverDuringApply } from '../../harness/failover-scenario.js';

// History and known limits: test/harness/failover-scenario.ts and the README (safety rules).
describe('apply while a target master fails over', () => {
  it(
    'moves the rest of its slots to the promoted replica; nothing lost, nothing left open',
    async () => {
      await failoverDuringApply('target');
    },
    FAILOVER_TEST_LIMIT_MS,
  );
});
