import { describe, expect, it } from 'vitest';
import { balanceVerdict } from '../../../src/status/index.js';
import { evenOwners, topologyFromOwners } from '../planner/fixtures.js';

describe('the balance verdict reads as English for any count', () => {
  it('says "1 master holds no slots", and "2 masters hold no slots"', () => {
    const one = balanceVerdict(topologyFromOwners(evenOwners(3), 4), 2).verdict;
    expect(one).toContain('balanced: 3 masters within 2%');
    expect(one).toContain(
      '; 1 master holds no slots (slotshift plan --use-empty-masters spreads slots onto it)',
    );
    const two = balanceVerdict(topologyFromOwners(evenOwners(3), 5), 2).verdict;
    expect(two).toContain(
      '; 2 masters hold no slots (slotshift plan --use-empty-masters spreads slots onto them)',
    );
  });

  it('says "1 master" when one master holds every slot', () => {
    expect(balanceVerdict(topologyFromOwners(evenOwners(1), 1), 2).verdict).toMatch(
      /^balanced: 1 master within/,
    );
  });
});

describe('the verdict does not send a user to slotshift plan when plan would refuse', () => {
  // Master 0 holds 10,000 slots, master 1 the rest: unbalanced.
  const skewed = Array.from({ length: 16384 }, (_, s) => (s < 10000 ? 0 : 1));

  it('with an open slot: a move may be under way; if nothing runs, fix, then plan', () => {
    const t = topologyFromOwners(skewed, 3);
    const [first] = t.nodes;
    const open = {
      ...t,
      nodes: [{ ...first!, migrating: [{ slot: 7, to: t.nodes[1]!.id }] }, ...t.nodes.slice(1)],
    };
    const { verdict } = balanceVerdict(open, 2);
    expect(verdict).toMatch(/^unbalanced: a master is [\d.]+% off an even share \(threshold 2%\);/);
    expect(verdict).not.toContain('; run slotshift plan');
    expect(verdict).not.toContain('--use-empty-masters spreads');
    expect(verdict).toContain('1 master holds no slots');
    expect(verdict).toContain(
      '1 slot is open, so slotshift plan refuses for now: a move may be under way (let it finish); if no slotshift apply, worker or daemon (nor redis-cli --cluster) is running, run slotshift fix, then slotshift plan',
    );
    // Without the open slot, plan is the advice.
    expect(balanceVerdict(t, 2).verdict).toMatch(/; run slotshift plan;/);
  });

  it('with a slot no master owns: fix, then plan', () => {
    const t = topologyFromOwners(skewed, 2);
    const owners = [...t.owners];
    owners[20] = null;
    const { verdict } = balanceVerdict({ ...t, owners }, 2);
    expect(verdict).not.toContain('; run slotshift plan');
    expect(verdict).toContain(
      '1 slot has no owner, so slotshift plan refuses for now: run slotshift fix, then slotshift plan',
    );
  });
});
