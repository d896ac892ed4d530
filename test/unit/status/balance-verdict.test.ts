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
