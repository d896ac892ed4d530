import { describe, expect, it } from 'vitest';
import { renderOutcome } from '../../../src/cli/commands/fix.js';
import type { FixAction } from '../../../src/migrate/index.js';

describe("fix's tally of repairs left", () => {
  it('puts consecutive slots that failed the same way on one line', () => {
    const announce = (slot: number): FixAction => ({
      kind: 'announce',
      slot,
      owner: 'a'.repeat(40),
      node: 'b'.repeat(40),
      reason: 'node sees no owner; tell it the owner',
    });
    const actions = [0, 1, 2, 3, 9].map(announce);
    const unknown = new Error(`ERR Unknown node ${'a'.repeat(40)}`);
    const failed = [0, 1, 2, 9].map((slot) => ({ action: announce(slot), error: unknown }));
    expect(renderOutcome(actions, failed, [], 1000).split('\n')).toEqual([
      '1 of 5 slots repaired, 4 left:',
      `  slots 0-2: ERR Unknown node ${'a'.repeat(40)}; run slotshift fix again`,
      `  slot 9: ERR Unknown node ${'a'.repeat(40)}; run slotshift fix again`,
      '',
    ]);
  });
});
