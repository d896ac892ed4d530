import { afterEach, describe, expect, it } from 'vitest';
import {
  expectSettled,
  forwardPort,
  freePorts,
  loadStrings,
  missingLoadedKeys,
  runCli,
  slotsDone,
  startCli,
  startLocalRedis,
  waitFor,
  waitForPlanProgress,
  withClusterAndQueue,
  type LocalCluster,
  type StartedCli,
} from '../../harness/index.js';

/**
 * The queue Redis goes away in the middle of an apply (a restart, a network cut), seen through a
 * TCP forwarder that is closed and opened again, so the queue keeps its data as a restarted Redis
 * with persistence would. Before, apply waited silently, the slots in flight stayed open (their
 * close waited for the queue), and Ctrl-C ended only after --stop-timeout with exit 1 and open slots.
 */
/** Each test's own limit: a loaded CI run took the first one past vitest's default 60 s. */
const TEST_LIMIT_MS = 180_000;

describe('apply while the queue Redis goes away', () => {
  // A test that fails or times out must not leave its apply running, moving slots of a cluster
  // being stopped and taking the CPU from the tests after it.
  const running: StartedCli[] = [];
  const started = (cli: StartedCli): StartedCli => {
    running.push(cli);
    return cli;
  };
  afterEach(() => {
    for (const cli of running.splice(0)) cli.child.kill('SIGKILL');
  });

  it(
    'says so, goes on once it is back; Ctrl-C while it is away leaves no slot open; apply again finishes',
    async () => {
      await withClusterAndQueue({ masters: 2, emptyMasters: 1 }, async (cluster, queue) => {
        await loadStrings(cluster, { keys: 20_000, prefix: 'qa' });
        const [port] = await freePorts(1);
        let proxy = await forwardPort(port!, queue.port);
        try {
          const args = applyThrough(cluster, port!);
          const apply = started(startCli(args, { SLOTSHIFT_LOG_LEVEL: 'warn' }));
          const away = (): number => apply.stderr().split('is not answering').length - 1;
          await waitForPlanProgress(queue.url, 100);

          await proxy.close();
          await waitFor('apply to say the queue is away', 20_000, () => Promise.resolve(away() === 1));
          proxy = await forwardPort(port!, queue.port);
          await waitFor('apply to say it is back', 20_000, () =>
            Promise.resolve(apply.stderr().includes('the queue Redis answers again')),
          );
          // It goes on: more slots move after the queue is back.
          const before = await slotsDone(queue.url);
          await waitFor('more slots moved', 30_000, async () => (await slotsDone(queue.url)) > before + 20);

          await proxy.close();
          await waitFor('apply to say the queue is away again', 20_000, () => Promise.resolve(away() === 2));
          apply.child.kill('SIGINT');
          const stopped = await apply.done;
          expect(stopped.signal).toBeNull();
          expect(stopped.code, stopped.stdout + stopped.stderr).toBe(1);
          expect(stopped.stdout).toContain(
            `stopped with the plan unfinished: the queue Redis at 127.0.0.1:${port} did not answer`,
          );
          expect(stopped.stdout).toContain(
            'No slot is left open. Once the queue Redis answers, run the same slotshift apply command to resume.',
          );
          expect(stopped.stderr).not.toContain('stopping took longer than --stop-timeout');
          // Nothing open while the queue is still away: the slots in flight closed without it.
          await expectSettled(cluster);

          proxy = await forwardPort(port!, queue.port);
          await expectApplyAgainFinishes(args, cluster, 'qa', 'resumes');
        } finally {
          await proxy.close();
        }
      });
    },
    TEST_LIMIT_MS,
  );

  it(
    'a queue Redis back without its data (no persistence): apply stops by itself with no slot open; apply again plans the rest',
    async () => {
      await withClusterAndQueue({ masters: 2, emptyMasters: 1 }, async (cluster, queue) => {
        await loadStrings(cluster, { keys: 20_000, prefix: 'ql' });
        const blank = await startLocalRedis();
        const [port] = await freePorts(1);
        let proxy = await forwardPort(port!, queue.port);
        try {
          const args = applyThrough(cluster, port!);
          const apply = started(startCli(args, { SLOTSHIFT_LOG_LEVEL: 'warn' }));
          await waitForPlanProgress(queue.url, 100);
          // The address now leads to an empty Redis, as after a restart without persistence. Before,
          // apply followed the vanished plan for good.
          await proxy.close();
          proxy = await forwardPort(port!, blank.port);
          const stopped = await apply.done;
          expect(stopped.signal).toBeNull();
          expect(stopped.code, stopped.stdout + stopped.stderr).toBe(1);
          expect(stopped.stdout).toContain(
            `stopped with the plan unfinished: the queue Redis at 127.0.0.1:${port} no longer holds the plan`,
          );
          expect(stopped.stdout).toContain(
            'No slot is left open. Run the same slotshift apply command to plan the rest from the cluster as it is now.',
          );
          await expectSettled(cluster);

          await expectApplyAgainFinishes(args, cluster, 'ql', 'plans anew');
        } finally {
          await proxy.close();
          await blank.stop();
        }
      });
    },
    TEST_LIMIT_MS,
  );
});

/**
 * The apply of these tests, its queue behind the forwarder at `port`: 2 slots at a time, so it is
 * caught mid-plan. At most 2,000 of the 5,462 slots: the outages come within the first few hundred,
 * and the apply again that moved the rest took 20-30 s of each test.
 */
function applyThrough(cluster: LocalCluster, port: number): string[] {
  return [
    ...['apply', '--seed', cluster.seeds[0]!, '--use-empty-masters', '--yes', '--max-moves', '2000'],
    ...['--queue', `redis://127.0.0.1:${port}`, '--concurrency', '2', '--group-slots', '1'],
  ];
}

/** Runs the same apply again: it resumes the plan or makes a new one, moves the rest, and loses nothing. */
async function expectApplyAgainFinishes(
  args: readonly string[],
  cluster: LocalCluster,
  prefix: string,
  how: 'resumes' | 'plans anew',
): Promise<void> {
  const again = await runCli(args, { SLOTSHIFT_LOG_LEVEL: 'warn' });
  if (how === 'resumes') expect(again.stdout).toContain('resuming unfinished plan');
  else expect(again.stdout).not.toContain('resuming unfinished plan');
  expect(again.code, again.stdout + again.stderr).toBe(0);
  expect(again.stdout).toMatch(/([\d,]+) of \1 slots moved .*, 0 mismatches/);
  await expectSettled(cluster);
  expect(await missingLoadedKeys(cluster, prefix, 20_000)).toEqual([]);
}
