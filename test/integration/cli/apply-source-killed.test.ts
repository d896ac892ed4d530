import { describe, it } from 'vitest';
import { FAILOVER_TEST_LIMIT_MS, failoverDuringApply } from '../../harness/failover-scenario.js';

/**
 * A source master killed with SIGKILL while apply runs. Its replica is elected after the node timeout
 * (3 s here), with no failover pause for a close to wait on, and the dead master stays in its peers'
 * tables as a failed master, not a replica of the new one. On 2026-11-26, before slotshift followed a
 * failed source to the slot's new owner, every retry dialled the dead node: 2,576 slots failed, and
 * in other runs the target, still importing from the dead node, answered CLUSTERDOWN for good and
 * apply hung. With currentEndpoints, adoptUnownedImports and connect errors of a dying node
 * retryable: 12 of 12 runs passed (10 of a standalone version of this test, same steps).
 */
describe('apply while a source master is killed', () => {
  it(
    'moves the rest of its slots from the elected replica; nothing lost, nothing left open',
    async () => {
      await failoverDuringApply('source', 'kill');
    },
    FAILOVER_TEST_LIMIT_MS,
  );
});
