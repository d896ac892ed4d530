import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keysToMoveCommand, parseKeysToMove } from '../../../src/migrate/keys-to-move.js';
import { inOneCall } from '../../../src/migrate/protocol-batch.js';
import type { Reply } from '../../../src/migrate/redis-reply-error.js';
import { keysInSlot, useCluster, valueFor, type LocalCluster, type LocalNode } from '../../harness/index.js';

async function pipelined(node: Redis, commands: string[][]): Promise<Reply[]> {
  const pipe = node.pipeline();
  for (const [name, ...args] of commands) pipe.call(name!, ...args);
  return (await pipe.exec()) ?? [];
}

/**
 * A group's SETSLOTs and keys-to-move calls run as one script call; each slot must still get the
 * answer it would have got alone, so one slot's failure leaves the others' steps standing.
 */
describe('protocol steps of several slots in one call', () => {
  let cluster: LocalCluster;
  let a: LocalNode, b: LocalNode;
  let ra: Redis, rb: Redis;
  const calls: string[][][] = [];
  const recorded = async (node: Redis, commands: string[][]): Promise<Reply[]> => {
    calls.push(commands);
    return pipelined(node, commands);
  };
  const send = inOneCall(recorded);

  beforeAll(async () => {
    cluster = await useCluster({ masters: 3 });
    [a, b] = cluster.nodes as [LocalNode, LocalNode];
    ra = cluster.connect(a);
    rb = cluster.connect(b);
  });
  afterAll(() => {
    ra.disconnect();
    rb.disconnect();
  });

  it("gives each SETSLOT its own answer: one slot's error leaves the other's step done", async () => {
    calls.length = 0;
    const unknownNode = 'f'.repeat(40);
    const replies = await send(rb, [
      ['CLUSTER', 'SETSLOT', '40', 'IMPORTING', a.id],
      ['CLUSTER', 'SETSLOT', '41', 'IMPORTING', unknownNode],
      ['CLUSTER', 'SETSLOT', '42', 'IMPORTING', a.id],
    ]);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toHaveLength(1);
    expect(replies).toHaveLength(3);
    expect(replies[0]).toEqual([null, 'OK']);
    expect(replies[1]![0]).toBeInstanceOf(Error);
    expect(replies[1]![0]!.message).toMatch(/don't know about node/i);
    expect(replies[2]).toEqual([null, 'OK']);
    const nodes = String(await rb.call('CLUSTER', 'NODES'));
    expect(nodes).toContain(`[40-<-${a.id}]`);
    expect(nodes).toContain(`[42-<-${a.id}]`);
    expect(nodes).not.toContain('[41-<-');
    await rb.call('CLUSTER', 'SETSLOT', '40', 'STABLE');
    await rb.call('CLUSTER', 'SETSLOT', '42', 'STABLE');
  });

  it("sizes every slot's keys, not only the first slot's, and finds the big ones", async () => {
    const bigKeyBytes = 100_000;
    const slots = [50, 51];
    const big = slots.map((s) => keysInSlot(s, 2, `big${s}`));
    for (const [i, s] of slots.entries()) {
      await ra.set(big[i]![0]!, valueFor(big[i]![0]!, 200_000));
      await ra.set(big[i]![1]!, valueFor(big[i]![1]!, 100));
      expect(Number(await ra.call('CLUSTER', 'COUNTKEYSINSLOT', String(s)))).toBe(2);
    }
    calls.length = 0;
    const replies = await send(
      ra,
      slots.map((s) => keysToMoveCommand(s, 10, bigKeyBytes, 4 * 1024 * 1024)),
    );
    expect(calls).toHaveLength(1);
    expect(calls[0]![0]![0]).toBe('EVALSHA');
    for (const [i, reply] of replies.entries()) {
      expect(reply[0]).toBeNull();
      const found = parseKeysToMove(reply[1]);
      expect(found.big.map((k) => k.key)).toEqual([big[i]![0]]);
      expect(found.big[0]!.bytes).toBeGreaterThan(200_000);
      expect(found.keys).toEqual([big[i]![1]]);
      expect(found.bytes).toBeGreaterThan(100);
      expect(found.complete).toBe(true);
    }
  });

  it('sends a step holding a command the script does not run (MIGRATE, PING, ...) as it is', async () => {
    calls.length = 0;
    const commands = [['PING'], ['CLUSTER', 'SETSLOT', '60', 'STABLE']];
    const replies = await send(rb, commands);
    expect(calls).toEqual([commands]);
    expect(replies.map(([err]) => err)).toEqual([null, null]);
  });
});
