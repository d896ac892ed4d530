import type { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Reply } from '../../../src/migrate/redis-reply-error.js';
import { SourceRounds, type RoundSize } from '../../../src/migrate/source-rounds.js';
import { useRedisClient } from '../../harness/index.js';

/**
 * The rounds of several groups on one source: one pipeline in flight, and the rounds waiting when
 * it returns go together while they fit one round's budget. Real pipelines on a real Redis; the
 * sender is wrapped only to see which commands went together.
 */
describe('SourceRounds', () => {
  let redis: Redis;
  beforeAll(async () => {
    redis = await useRedisClient();
    await redis.set('rounds:string', 'x');
  });

  const recorder = (): {
    pipelines: string[][][];
    maxInFlight: () => number;
    send: (node: Redis, commands: string[][]) => Promise<Reply[]>;
  } => {
    const pipelines: string[][][] = [];
    let inFlight = 0;
    let most = 0;
    return {
      pipelines,
      maxInFlight: () => most,
      send: async (node, commands) => {
        pipelines.push(commands);
        most = Math.max(most, ++inFlight);
        try {
          const pipe = node.pipeline();
          for (const [name, ...args] of commands) pipe.call(name!, ...args);
          return (await pipe.exec()) ?? [];
        } finally {
          inFlight--;
        }
      },
    };
  };
  const size = (keys: number, bytes = keys * 100): RoundSize => ({ keys, bytes });
  const echo = (s: string): string[] => ['ECHO', s];

  it('sends rounds queued together as one pipeline and gives each its own replies', async () => {
    const r = recorder();
    const rounds = new SourceRounds(redis, () => size(100), r.send);
    const [first, second, third] = await Promise.all([
      rounds.send([echo('a1'), echo('a2')], size(30)),
      // An error reply stays with the round that sent the command.
      rounds.send([['LPUSH', 'rounds:string', 'y'], echo('b')], size(30)),
      rounds.send([echo('c')], size(40)),
    ]);
    expect(r.pipelines).toHaveLength(1);
    expect(first.map(([, v]) => v)).toEqual(['a1', 'a2']);
    expect(second[0]?.[0]?.message).toMatch(/WRONGTYPE/);
    expect(second[1]).toEqual([null, 'b']);
    expect(third).toEqual([[null, 'c']]);
  });

  it("never carries more than one round's budget in a pipeline, except a round that alone exceeds it", async () => {
    const r = recorder();
    const sent: RoundSize[] = [];
    const rounds = new SourceRounds(
      redis,
      () => size(100, 10_000),
      r.send,
      (s) => sent.push(s),
    );
    await Promise.all([
      rounds.send([echo('big')], size(150)),
      rounds.send([echo('x1')], size(60)),
      rounds.send([echo('x2')], size(40)),
      rounds.send([echo('x3')], size(10)),
      // Few keys, but too many bytes to go beside x3.
      rounds.send([echo('y')], size(10, 9_500)),
    ]);
    expect(r.pipelines.map((p) => p.map(([, s]) => s))).toEqual([['big'], ['x1', 'x2'], ['x3'], ['y']]);
    expect(sent).toEqual([size(150), size(100), size(10), size(10, 9_500)]);
  });

  it('keeps one pipeline in flight: rounds that arrive meanwhile go together after it', async () => {
    const r = recorder();
    const rounds = new SourceRounds(redis, () => size(100), r.send);
    // BLPOP on an empty list holds this pipeline on the server for 100 ms.
    const slow = rounds.send([['BLPOP', 'rounds:empty', '0.1'], echo('slow')], size(10));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const later = await Promise.all([rounds.send([echo('d')], size(10)), rounds.send([echo('e')], size(10))]);
    await slow;
    expect(r.maxInFlight()).toBe(1);
    expect(r.pipelines.map((p) => p.map(([name, arg]) => (name === 'ECHO' ? arg : name)))).toEqual([
      ['BLPOP', 'slow'],
      ['d', 'e'],
    ]);
    expect(later).toEqual([[[null, 'd']], [[null, 'e']]]);
  });

  it('rejects the rounds of a pipeline that could not be sent, and goes on with the next', async () => {
    let fail = true;
    const rounds = new SourceRounds(
      redis,
      () => size(100),
      async (node, commands) => {
        if (fail) {
          fail = false;
          throw new Error('connection lost');
        }
        return recorder().send(node, commands);
      },
    );
    const lost = Promise.all([rounds.send([echo('f')], size(10)), rounds.send([echo('g')], size(10))]);
    await expect(lost).rejects.toThrow('connection lost');
    expect(await rounds.send([echo('h')], size(10))).toEqual([[null, 'h']]);
  });
});
