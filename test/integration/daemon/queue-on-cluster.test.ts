import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { keySlot } from '../../../src/cluster/index.js';
import type { DaemonStatus } from '../../../src/daemon/index.js';
import { expectSettled, loadStrings, missingLoadedKeys, startLocalCluster } from '../../harness/index.js';
import { daemonOn, getJson, tempDir, waitFor, writePlan } from './helpers.js';

describe('slotshift daemon with its queue on the cluster it rebalances', () => {
  it('plans nothing until the plan file pins the queue slot, then leaves that slot where it is', async () => {
    const cluster = await startLocalCluster({ masters: 3, emptyMasters: 1 });
    try {
      await loadStrings(cluster, { keys: 2_000, prefix: 'dq' });
      const before = await expectSettled(cluster);
      const slot = keySlot('dq');
      const owner = before.nodes.find((n) => n.id === before.owners[slot])!;
      const dir = tempDir();
      const file = writePlan(dir, 'scale-out', 'useEmptyMasters: true');
      const daemon = await daemonOn(cluster, `redis://${owner.host}:${owner.port}`, {
        plans: dir,
        queueName: '{dq}',
      });
      try {
        const refused = await waitFor('the unpinned plan refused', async () => {
          const s = await getJson<DaemonStatus>(daemon.httpAddress, '/status');
          return s.lastError?.message.includes(`--pin ${slot}`) ? s : undefined;
        });
        expect(refused.lastError!.message).toContain(`plan file ${file} does not pin it`);
        expect(refused.plan).toBeNull();
        expect((await expectSettled(cluster)).owners).toEqual(before.owners);

        writeFileSync(file, writePlanText(slot));
        const done = await waitFor(
          'the pinned plan finished',
          async () => {
            const s = await getJson<DaemonStatus>(daemon.httpAddress, '/status');
            return s.plan?.finished && s.plan.done === s.plan.total && s.plan.total > 3000 ? s : undefined;
          },
          90_000,
          250,
        );
        expect(done.plan!.failed).toBe(0);
      } finally {
        await daemon.stop();
      }
      const after = await expectSettled(cluster);
      expect(after.owners[slot]).toBe(owner.id);
      expect(after.owners.filter((o) => o === owner.id).length).toBeLessThan(
        before.owners.filter((o) => o === owner.id).length,
      );
      expect(await missingLoadedKeys(cluster, 'dq', 2_000)).toEqual([]);
    } finally {
      await cluster.stop();
    }
  });
});

function writePlanText(slot: number): string {
  return [
    'apiVersion: slotshift/v1',
    'kind: RebalancePlan',
    'metadata:',
    '  name: scale-out',
    'spec:',
    '  useEmptyMasters: true',
    `  pin: [${slot}]`,
    '',
  ].join('\n');
}
