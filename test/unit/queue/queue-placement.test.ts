import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keySlot } from '../../../src/cluster/index.js';
import { InvalidOptionError } from '../../../src/errors/index.js';
import { planMoves } from '../../../src/planner/index.js';
import {
  assertQueueSlotPinned,
  nodeLimitKey,
  placeQueue,
  planKeys,
  queueKeySlot,
  slotJobId,
  workerProcessesKey,
} from '../../../src/queue/index.js';
import { evenOwners, makeNode, nodeId, topologyFromOwners } from '../planner/fixtures.js';

/** Keys of the shapes BullMQ and slotshift write for a queue and a plan. */
function queueKeys(name: string, planId: string): string[] {
  return [
    `bull:${name}:wait`,
    `bull:${name}:meta`,
    `bull:${name}:${slotJobId(planId, 1234)}`,
    `bull:${name}:${slotJobId(planId, 1234)}:lock`,
    ...Object.values(planKeys(name, planId)).map((k) => `${k}:1234`),
    nodeLimitKey(name, nodeId(1), 'source'),
    workerProcessesKey(name),
    `${name}:slotshift:current`,
  ];
}

// BullMQ refuses ':' in queue names.
const nameChars = fc.constantFrom(...'abcXYZ019-_.{}'.split(''));
const queueName = fc.array(nameChars, { minLength: 1, maxLength: 16 }).map((a) => a.join(''));

describe('queueKeySlot', () => {
  it('is the one slot every queue key hashes to, or null when they spread', () => {
    fc.assert(
      fc.property(
        queueName,
        fc.string({ unit: fc.constantFrom(...'0123456789abcdef'.split('')), minLength: 1, maxLength: 8 }),
        (name, planId) => {
          const slots = new Set(queueKeys(name, planId).map((k) => keySlot(k)));
          const slot = queueKeySlot(name);
          if (slot !== null) expect([...slots]).toEqual([slot]);
          else expect(slots.size).toBeGreaterThan(1);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('reads the hash tag as Redis does', () => {
    expect(queueKeySlot('{slotshift}')).toBe(keySlot('slotshift'));
    expect(queueKeySlot('rebalance-{a}-{b}')).toBe(keySlot('a'));
    expect(queueKeySlot('slotshift')).toBeNull();
    expect(queueKeySlot('{}slotshift')).toBeNull();
    expect(queueKeySlot('{slotshift')).toBeNull();
  });
});

describe('placeQueue', () => {
  const topology = topologyFromOwners(evenOwners(3), 3, 1);
  const node = (n: number) => topology.nodes.find((x) => x.id === nodeId(n))!;
  const slot = queueKeySlot('{q}')!;
  const owner = topology.owners[slot]!;
  const ownerNode = topology.nodes.find((n) => n.id === owner)!;
  const other = topology.nodes.find((n) => n.role === 'master' && n.id !== owner)!;

  it('lets a queue on a separate Redis be', () => {
    expect(placeQueue('slotshift', '10.0.0.9:6379', undefined, topology)).toBeNull();
  });

  it('refuses an untagged queue on a node, and says which name, slot and node would do', () => {
    const tagSlot = keySlot('slotshift');
    const tagOwner = topology.nodes.find((n) => n.id === topology.owners[tagSlot])!;
    expect(() => placeQueue('slotshift', other.addr, other, topology)).toThrow(InvalidOptionError);
    expect(() => placeQueue('slotshift', other.addr, other, topology)).toThrow(
      `--queue-name '{slotshift}' --pin ${tagSlot} --queue redis://${tagOwner.host}:${tagOwner.port}`,
    );
  });

  it("refuses a node that does not serve the queue's slot, naming the master that does", () => {
    expect(() => placeQueue('{q}', other.addr, other, topology)).toThrow(
      `live in slot ${slot}, which ${other.addr} (node ${other.id.slice(0, 8)}) does not serve; its master is ${ownerNode.host}:${ownerNode.port}`,
    );
    const replica = node(3);
    expect(replica.role).toBe('replica');
    expect(() => placeQueue('{q}', replica.addr, replica, topology)).toThrow(/does not serve/);
  });

  it("refuses the queue's slot while it is open", () => {
    const opened = {
      ...topology,
      nodes: topology.nodes.map((n) => (n.id === owner ? { ...n, migrating: [{ slot, to: other.id }] } : n)),
    };
    const at = opened.nodes.find((n) => n.id === owner)!;
    expect(() => placeQueue('{q}', at.addr, at, opened)).toThrow(`slot ${slot}, which is open (migrating`);
  });

  it("accepts the master of the queue's slot", () => {
    expect(placeQueue('{q}', ownerNode.addr, ownerNode, topology)).toEqual({
      node: ownerNode,
      slot,
      queueName: '{q}',
    });
  });
});

describe('assertQueueSlotPinned', () => {
  // Slots 0-8191 on master 0, the rest on master 1, and an empty master 2 to spread onto.
  const topology = topologyFromOwners(evenOwners(2), 3);
  const unpinned = planMoves(topology, {}, { useEmptyMasters: true });
  // A slot the planner moves when nothing pins it.
  const slot = unpinned.moves[0]!.slot;
  const queue = { node: makeNode(0), slot, queueName: '{q}' };

  it('refuses a plan that does not pin the slot, and one that moves it anyway', () => {
    const plan = unpinned;
    expect(() => assertQueueSlotPinned(queue, plan, 'the plan')).toThrow(
      `and the plan does not pin it; pin it so no plan moves the queue: --pin ${slot}, or pin: [${slot}] in a plan file`,
    );
    const edited = { ...plan, policy: { ...plan.policy, pin: [{ start: slot - 1, end: slot + 1 }] } };
    expect(() => assertQueueSlotPinned(queue, edited, 'plan.yaml')).toThrow('plan.yaml moves that slot');
  });

  it('accepts a plan that pins it; the planner then leaves it', () => {
    const plan = planMoves(topology, {}, { useEmptyMasters: true, pin: [{ start: slot, end: slot }] });
    expect(plan.moves.length).toBeGreaterThan(5000);
    expect(plan.moves.some((m) => m.slot === slot)).toBe(false);
    expect(() => assertQueueSlotPinned(queue, plan, 'the plan')).not.toThrow();
    expect(() => assertQueueSlotPinned(null, unpinned, 'the plan')).not.toThrow();
  });
});
