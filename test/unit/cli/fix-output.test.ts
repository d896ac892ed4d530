import { describe, expect, it } from 'vitest';
import { renderOutcome } from '../../../src/cli/commands/fix.js';
import { SlotProtocolError, type FixAction } from '../../../src/migrate/index.js';

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

  it("names the slot once, and gives fix's advice, not apply's, for a protocol step that failed", () => {
    const action: FixAction = {
      kind: 'finish-move',
      slot: 100,
      from: 'b'.repeat(40),
      to: 'a'.repeat(40),
      reason: 'open migrating/importing pair: finish the move',
    };
    const error = new SlotProtocolError(100, 'SETSLOT NODE', 'b'.repeat(40), 'ERR still hold keys', false);
    expect(renderOutcome([action], [{ action, error }], [], 1000).split('\n')[1]).toBe(
      `  slot 100: SETSLOT NODE on ${'b'.repeat(40)} failed: ERR still hold keys; run slotshift fix again`,
    );
  });
});
