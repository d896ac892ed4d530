import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../../src/errors/index.js';
import {
  assertNoPolicyFlagsWithFile,
  givenPolicyFlags,
  policyDifferences,
  policyFromFlags,
  resolveFlagPolicy,
  withPlanOptions,
} from '../../../src/cli/plan-flags.js';
import { moveSettingsFrom, withMoveOptions, type MoveFlags } from '../../../src/cli/move-options.js';
import { planMoves, resolvePlanPolicy } from '../../../src/planner/index.js';
import { evenOwners, nodeId, topologyFromOwners } from '../planner/fixtures.js';

/** The policy flags a user typed on `plan`, as the command sees them after parsing `argv`. */
function typed(argv: string[]): string[] {
  const cmd = withPlanOptions(new Command('plan').exitOverride());
  cmd.parse(argv, { from: 'user' });
  return givenPolicyFlags(cmd);
}

describe('policy flags next to -f FILE', () => {
  it('sees the flags typed, not the ones left at their defaults', () => {
    expect(typed([])).toEqual([]);
    expect(typed(['--sample-keys', '0'])).toEqual([]);
    // Typed equal to its default is still typed: the file may say otherwise.
    expect(typed(['--threshold', '2', '--drain', 'abcd', '--max-per-node', '1'])).toEqual([
      '--drain',
      '--threshold',
      '--max-per-node',
    ]);
  });

  it('refuses them with -f, naming each and saying where they go', () => {
    expect(() => assertNoPolicyFlagsWithFile(undefined, ['--drain'])).not.toThrow();
    expect(() => assertNoPolicyFlagsWithFile('p.yaml', [])).not.toThrow();
    const refuse = (): void => assertNoPolicyFlagsWithFile('p.yaml', ['--drain', '--threshold']);
    expect(refuse).toThrow(InvalidOptionError);
    expect(refuse).toThrow(
      /--drain, --threshold cannot be combined with -f p\.yaml.*put them in the file.*drop -f/i,
    );
  });
});

describe('whether flags make the unfinished plan on the queue', () => {
  // 3 masters and an empty one.
  const before = topologyFromOwners(evenOwners(3), 4);

  it('the same flags make the same plan; other flags name the policy fields that differ', () => {
    const plan = planMoves(before, {}, { useEmptyMasters: true });
    expect(policyDifferences(plan.policy, { useEmptyMasters: true }, before)).toEqual([]);
    expect(policyDifferences(plan.policy, { useEmptyMasters: true, threshold: 0 }, before)).toEqual([
      'threshold',
    ]);
    expect(policyDifferences(plan.policy, { weights: { [nodeId(0)]: 2 } }, before)).toEqual([
      'weights',
      'useEmptyMasters',
    ]);
  });

  it('compares on the topology the plan was made for, not the half-moved cluster', () => {
    const plan = planMoves(before, {}, { drain: [nodeId(0)] });
    // Every slot of the drained master moved, but a job failed elsewhere: the plan is unfinished and
    // on the live cluster the drained master, now empty, would no longer take part.
    const drained = topologyFromOwners(
      evenOwners(3).map((m) => (m === 0 ? 1 : m)),
      4,
    );
    expect(resolvePlanPolicy(drained, { drain: [nodeId(0)] }).weights).not.toEqual(plan.policy.weights);
    expect(policyDifferences(plan.policy, { drain: [nodeId(0)] }, before)).toEqual([]);
  });
});

describe('the latency budget of apply -f', () => {
  const flags = (argv: string[]): MoveFlags => {
    const cmd = withMoveOptions(new Command('apply').exitOverride());
    cmd.parse(argv, { from: 'user' });
    return cmd.opts<MoveFlags>();
  };
  const file = (latencyBudgetMs: number | null) => ({ limits: { latencyBudgetMs } });

  it("takes the plan file's limits.latencyBudgetMs unless --latency-budget-ms is given", () => {
    expect(moveSettingsFrom(flags([]), 32).latencyBudgetMs).toBe(5);
    expect(moveSettingsFrom(flags([]), 32, file(null)).latencyBudgetMs).toBe(5);
    expect(moveSettingsFrom(flags([]), 32, file(12)).latencyBudgetMs).toBe(12);
    expect(moveSettingsFrom(flags(['--latency-budget-ms', '3']), 32, file(12)).latencyBudgetMs).toBe(3);
    // Given equal to the default, the flag still wins over the file.
    expect(moveSettingsFrom(flags(['--latency-budget-ms', '5']), 32, file(12)).latencyBudgetMs).toBe(5);
  });

  it('says in --help what --max-per-node does and does not do', () => {
    const help = withPlanOptions(new Command('apply')).helpInformation();
    expect(help.replace(/\s+/g, ' ')).toMatch(
      /--max-per-node <n> +wave width.*does not limit how many move at once: that is apply's and worker's --per-node/,
    );
  });
});

describe('errors of the policy flags name the flag the user typed', () => {
  const topology = topologyFromOwners(evenOwners(3), 3);
  const refused = (flags: Parameters<typeof policyFromFlags>[0]): string => {
    try {
      resolveFlagPolicy(topology, policyFromFlags(flags));
    } catch (e) {
      expect((e as { exitCode?: number }).exitCode).toBe(2);
      return (e as Error).message;
    }
    throw new Error('expected the flags to be refused');
  };

  it('says --weight NODE for a weight, not the plan-file field weights.NODE', () => {
    const message = refused({ weight: ['e880=2'] });
    expect(message).toMatch(/^--weight e880: no node matches "e880"/);
    expect(message).not.toContain('weights.');
    expect(refused({ weight: [`${nodeId(1).slice(0, 6)}=-1`] })).toMatch(
      /^--weight \w{6}: must be at least 0/,
    );
  });

  it('says --drain and --exclude for theirs', () => {
    expect(refused({ drain: ['zzzz'] })).toMatch(/^--drain: no node matches "zzzz"/);
    expect(refused({ exclude: ['127.0.0.1:1'] })).toMatch(/^--exclude: no node matches "127\.0\.0\.1:1"/);
    const both = nodeId(0).slice(0, 8);
    expect(refused({ exclude: [both], drain: [both] })).toMatch(/^--drain: ".*" is also excluded/);
  });
});
