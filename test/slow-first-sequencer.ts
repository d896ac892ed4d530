import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The test files that take longest, longest first, from CI's vitest reports (2026-11-27: 50–230 s
 * each; most of the suite's files take under 20 s).
 *
 * Why a list: on a clean clone vitest has no timing cache and runs larger files first, and the
 * failover and kill scenarios are 13–22-line files around a shared harness function, so they ran
 * last. With two workers, two 90 s files started at minute 11 left the other worker idle for a
 * minute at the end of a suite that has to stay under 15. Started first, the short files fill in
 * around them. A file missing from the list only runs in vitest's own order.
 */
const SLOWEST_FIRST = [
  'test/integration/cli/apply.test.ts',
  'test/integration/cli/apply-control.test.ts',
  'test/integration/cli/apply-target-killed.test.ts',
  'test/integration/cli/apply-source-killed.test.ts',
  'test/integration/cli/apply-failover.test.ts',
  'test/integration/cli/apply-failover-source.test.ts',
  'test/integration/cli/verify.test.ts',
  'test/integration/cli/plan-sources.test.ts',
  'test/integration/cli/fix-during-apply.test.ts',
  'test/integration/cli/queue-moved.test.ts',
];

export default class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const base = await super.sort(files);
    const rank = (f: TestSpecification): number => {
      const i = SLOWEST_FIRST.findIndex((p) => f.moduleId.endsWith(p));
      return i < 0 ? SLOWEST_FIRST.length : i;
    };
    // Array.prototype.sort is stable: files off the list keep vitest's order among themselves.
    return [...base].sort((a, b) => rank(a) - rank(b));
  }
}
