import { describe, it } from 'vitest';
import { failoverDuringApply } from '../harness/failover-scenario.js';

/**
 * KNOWN FAILING, kept out of `npm test` (run it with `npm run test:known-failing`).
 * A manual failover of a source while apply runs. Runs of 2026-11-26, all with adoptUnownedImports:
 * 11 of 12 passed. The failing run lost 5 keys of slots 5957 and 5958. Their MIGRATE and the close on
 * the target ran at 03:11:47.62, between the replica's MFSTART (.592) and the old master's "Failover auth
 * denied ... reqEpoch (226) < curEpoch (231)" (.635). The new master took both slots back with a higher
 * epoch, and the target dropped their keys. Verification had passed at the close, so apply exited 0.
 * It now reads every moved slot's owner at the end, and would exit 1 naming them (SLOT NOT WHERE
 * PLANNED). Since 6f57126 a close also waits out its source's manual-failover pause
 * (awaitSourceFailoverPause), which that close ran inside; runs since: 8 of 8 passed (2026-11-26).
 */
describe('apply while a source master fails over', () => {
  it('moves the rest of its slots from the promoted replica; nothing lost, nothing left open', async () => {
    await failoverDuringApply('source');
  }, 180_000);
});
