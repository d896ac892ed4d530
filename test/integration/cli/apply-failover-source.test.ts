import { describe, it } from 'vitest';
import { FAILOVER_TEST_LIMIT_MS, failoverDuringApply } from '../../harness/failover-scenario.js';

/**
 * A manual failover (CLUSTER FAILOVER on its replica) of a source while apply runs. History: 3 of 3
 * runs failed before adoptUnownedImports (the target stayed down); 11 of 12 passed with it (one
 * lost 5 keys closed inside the old master's failover pause); 20 of 20 since the close waits out its
 * source's pause (awaitSourceFailoverPause, 6f57126), 12 of them on 2026-11-26 while other tests
 * loaded the machine. An automatic failover has no pause to wait on: README, safety rules.
 */
describe('apply while a source master fails over', () => {
  it(
    'moves the rest of its slots from the promoted replica; nothing lost, nothing left open',
    async () => {
      await failoverDuringApply('source');
    },
    FAILOVER_TEST_LIMIT_MS,
  );
});
