import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import calculateSlot from 'cluster-key-slot';
import { expect } from 'vitest';
import {
  expectSettled,
  loadStrings,
  manualFailover,
  missingLoadedKeys,
  runCli,
  startTraffic,
  topologyOf,
  waitForPlanProgress,
  withClusterAndQueue,
  type LocalCluster,
} from './index.js';
import type { CliResult } from './cli.js';

/**
 * A manual failover of a target, or of a source, in the middle of a plan. The target case was kept
 * out of `npm test` until 2026-11-26:
 * - Before targets closed slots in turns (CloseTurns), runs lost keys (8 keys of one slot in 1 of 10
 *   runs, 4 in 1 of 6), left a slot redirecting in a loop (1 of 10), or saw Redis undo the failover
 *   (2 of 10). The servers' logs pointed at config-epoch collisions between targets closing slots at
 *   once, settled by Redis in favour of the old target while its replica was being elected (the race
 *   of valkey-io/valkey#974, see README).
 * - Old path, closed: the old target took a slot during the manual failover's write pause (SETSLOT
 *   is not a write) and bumped its epoch. A target's SETSLOT NODE now sits in a MULTI with a keyless
 *   EVAL, which the pause holds (test/integration/migrate/failover-fence.test.ts).
 * - Since close turns: 125 runs (2026-11-25 and 26, the last 20 under the load of other tests), 124
 *   passed, no key lost, no failover undone. The one failure was a CLUSTERDOWN from the checks after
 *   apply, before the test printed each node's view. A node that hears of the old target's demotion
 *   drops its slots until the new master's next ping (up to half the node timeout, 1.5 s here), about
 *   as long as a cluster client's CLUSTERDOWN retries last; the checks now wait until every node says
 *   the cluster is ok (and fail with each node's view if it does not within 15 s).
 * A source (2026-11-26, test/integration/cli/apply-failover-source.test.ts): before
 * adoptUnownedImports (migrate-slot.ts) 3 of 3 runs failed, the target that was importing from the
 * old source left down for good. With it, 11 of 12 runs passed; one lost 5 keys of two slots whose
 * close on the target came in the same milliseconds as the replica's election (its epoch won, Redis
 * gave the slots to the new master and the target dropped their keys). apply now reports such
 * slots (SLOT NOT WHERE PLANNED, exit 1), and a close waits out its source's failover pause: 20 of
 * 20 runs passed since, and the test is in `npm test`.
 * On failure the assertion prints what the servers logged about the lost keys' slots, epochs and the
 * failover, and how each node sees the cluster.
 */
/**
 * For a run that lost keys: apply's log lines and the servers' log lines about the lost keys' slots,
 * plus every server's lines about epochs and failovers, in one message.
 */
function lossStory(missing: readonly string[], applyLog: string, cluster: LocalCluster): string {
  if (missing.length === 0) return '';
  const slots = [...new Set(missing.map((k) => calculateSlot(k)))];
  const aboutSlots = new RegExp(`\\b(${slots.join('|')})\\b`);
  const applyLines = applyLog
    .split('\n')
    .filter((l) => slots.some((s) => l.includes(`"slot":${s},`)) || /failed over|did not stick/.test(l));
  const serverLines = cluster.nodes.map((n) =>
    [
      `--- ${n.kind} ${n.port} ${n.id.slice(0, 8)}${n.masterId ? ` of ${n.masterId.slice(0, 8)}` : ''}`,
      ...readFileSync(join(cluster.dir, `redis-${n.port}.log`), 'utf8')
        .split('\n')
        .filter(
          (l) =>
            aboutSlots.test(l) ||
            /failover|Configuration change|state changed|replica of|collision|configEpoch/i.test(l),
        )
        .slice(-60),
    ].join('\n'),
  );
  return [`lost keys in slots ${slots.join(', ')}`, ...applyLines, ...serverLines].join('\n');
}

/**
 * What apply said, short enough for CI's view of a failed run (its last few kilobytes): exit code,
 * the end of stdout (the summary and any warnings), and stderr without its per-slot info lines,
 * which at 2,700 slots buried the one line that said why (a CI run at 1f5e56d showed only them).
 */
function applyOutcome(result: CliResult): string {
  const notable = result.stderr.split('\n').filter((l) => l.trim() !== '' && !/"level":(10|20|30)\b/.test(l));
  return [
    `--- apply: exit code ${result.code}${result.signal ? `, killed by ${result.signal}` : ''}`,
    `--- apply stdout (end)`,
    result.stdout.slice(-2000),
    `--- apply stderr: ${notable.length} lines above info (the last 30)`,
    ...notable.slice(-30).map((l) => l.slice(0, 600)),
  ].join('\n');
}

/** Each node's own line of CLUSTER NODES (role, epoch, slots) and its cluster state. */
async function clusterPicture(cluster: LocalCluster): Promise<string> {
  const lines = await Promise.all(
    cluster.nodes.map(async (n) => {
      const r = cluster.connect(n);
      try {
        const nodes = String(await r.call('CLUSTER', 'NODES'));
        const state = /cluster_state:(\w+)/.exec(String(await r.call('CLUSTER', 'INFO')))?.[1];
        const mine = nodes.split('\n').find((l) => l.includes('myself')) ?? '?';
        return `${n.kind} ${n.port} state=${state}: ${mine.slice(0, 200)}`;
      } catch (e) {
        return `${n.kind} ${n.port}: ${e instanceof Error ? e.message : String(e)}`;
      } finally {
        r.disconnect();
      }
    }),
  );
  return ['--- cluster as each node sees it', ...lines].join('\n');
}

/** Waits until every node says `cluster_state:ok`; throws with each node's view after `timeoutMs`. */
async function waitForClusterOk(
  cluster: LocalCluster,
  timeoutMs: number,
  dead: ReadonlySet<string> = new Set(),
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(
      cluster.nodes
        .filter((n) => !dead.has(n.id))
        .map(async (n) => {
          const r = cluster.connect(n);
          try {
            return /cluster_state:(\w+)/.exec(String(await r.call('CLUSTER', 'INFO')))?.[1];
          } catch {
            return 'unreachable';
          } finally {
            r.disconnect();
          }
        }),
    );
    if (states.every((s) => s === 'ok')) return;
    if (Date.now() > deadline) {
      throw new Error(`the cluster is not ok ${timeoutMs} ms after apply\n${await clusterPicture(cluster)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * How long apply may run. It takes 30–60 s, with a CPU hog beside it too; the limits are wide
 * because a clean-clone CI run is slower than that by more than anything measured here (in one,
 * on 2026-11-26, a cluster left down by a killed target, since fixed, took another scenario's apply
 * past 140 s with it).
 */
const APPLY_LIMIT_MS = 200_000;
/** For the tests' own timeout: apply's limit plus loading, checks and the failure's story. */
export const FAILOVER_TEST_LIMIT_MS = APPLY_LIMIT_MS + 60_000;

/**
 * The failover test's body: a 3 → 6 scale-out with client traffic, during which the replica of a
 * target (an empty master receiving slots) or of a source takes over: with CLUSTER FAILOVER, or
 * (`how: 'kill'`) elected after its master is killed with SIGKILL.
 */
export async function failoverDuringApply(
  which: 'target' | 'source',
  how: 'failover' | 'kill' = 'failover',
): Promise<void> {
  await withClusterAndQueue(
    {
      masters: 3,
      emptyMasters: 3,
      replicasPerMaster: 1,
      replicateEmptyMasters: true,
      // Redis logs its config-epoch collisions at verbose level only; they are part of the story.
      extraArgs: ['--loglevel', 'verbose'],
    },
    async (cluster, queue) => {
      await loadStrings(cluster, { keys: 40_000, prefix: 'fo' });
      // Every loaded key on the replicas before anything fails over: a write lost by a kill itself
      // (replication is asynchronous) would be Redis's loss, not the move's.
      for (const m of cluster.nodes.filter((n) => n.kind === 'master')) {
        const r = cluster.connect(m);
        expect(await r.call('WAIT', '1', '5000')).toBe(1);
        r.disconnect();
      }
      const seed = cluster.nodes.find((n) => n.kind === 'master')!;
      // The plan, saved, so the test knows where every slot must end. 4,500 of the scale-out's 8,194
      // moves: the failover lands after 300, and the full plan's remainder took half of each test.
      const planFile = join(cluster.dir, 'plan.json');
      const planned = await runCli([
        'plan',
        '--seed',
        cluster.seeds[0]!,
        '--use-empty-masters',
        '--max-moves',
        '4500',
        '-o',
        planFile,
      ]);
      expect(planned.code, planned.stderr).toBe(0);
      const moves = (
        JSON.parse(readFileSync(planFile, 'utf8')) as { moves: Array<{ slot: number; to: string }> }
      ).moves;
      const ownersBefore = (await topologyOf(cluster)).owners;
      const traffic = startTraffic({ host: seed.host, port: seed.port }, 'fotraffic');
      // Small groups and few slots at a time, so the plan is still running when the failover lands:
      // it runs about 15 s after it on an idle machine. (8 slots at a time, in groups of 4, ran 50 s
      // after it, and over the 120 s limit in a CI run alongside other tests.) --nice 0: at the
      // default nice 10, the servers of the tests running alongside starved apply (one CPU-bound
      // process at nice 0 made the scenario 4× slower).
      const apply = runCli(
        [
          ...['apply', '--seed', cluster.seeds[0]!, '-f', planFile, '--queue', queue.url, '--yes'],
          ...['--concurrency', '32', '--per-node', '16', '--group-slots', '8', '--nice', '0'],
        ],
        // info: the per-slot lines are what explains a lost key.
        { SLOTSHIFT_LOG_LEVEL: 'info' },
        // Killed before the test's own timeout, so a run that hangs fails with what apply printed.
        APPLY_LIMIT_MS,
        'SIGKILL',
      );
      await waitForPlanProgress(queue.url, 300);
      // A target (an empty master receiving slots), or a source that is not the traffic's seed.
      const target =
        which === 'target'
          ? cluster.nodes.find((n) => n.kind === 'empty')!
          : cluster.nodes.filter((n) => n.kind === 'master')[1]!;
      const replica = cluster.nodes.find((n) => n.kind === 'replica' && n.masterId === target.id)!;
      if (how === 'kill') {
        cluster.kill(target);
      } else {
        // Redis may refuse it while targets close slots (see manualFailover); an operator would ask
        // again, and so does the test.
        const tries = await manualFailover(cluster, replica);
        if (tries !== 1)
          console.log(`${which} failover: took ${tries ?? 'more than 3'} CLUSTER FAILOVER requests`);
      }

      const result = await apply;
      try {
        expect(result.signal, `apply did not finish within ${APPLY_LIMIT_MS / 1000} s`).toBeNull();
        await waitForClusterOk(cluster, 15_000, new Set(how === 'kill' ? [target.id] : []));
        // A killed master's clients get errors until its replica is elected, and the writes it had
        // not yet replicated are lost by Redis: the traffic's checks apply to a manual failover only.
        const report = how === 'kill' ? null : await traffic.stop();
        if (how === 'kill') await traffic.stop().catch(() => undefined);
        // Read before the assertions on apply: a loss makes apply report mismatches and exit 1, and
        // the story of the loss is what such a run is for.
        const lostEarly = await missingLoadedKeys(cluster, 'fo', 40_000).catch(() => []);
        const loss = lossStory(lostEarly, result.stderr, cluster);
        // The error lines themselves, not the whole log: vitest prints what a failed toMatch received,
        // and apply's 2,700 info lines pushed the one error out of what CI shows of the run.
        const errors = result.stderr.split('\n').filter((l) => /"level":(50|60)/.test(l));
        expect(errors, loss + applyOutcome(result)).toEqual([]);
        expect(result.code, loss + applyOutcome(result)).toBe(0);
        // A failed attempt makes the slots of its node wait for the failover (rereadNode in
        // slot-worker.ts): before, every queued slot of the node failed once (2,619 and 2,644 failed
        // attempts with a source failed over or killed; now 7–43, of about 2,700 slots).
        const failedAttempts = result.stderr.split('\n').filter((l) => l.includes('"msg":"slot move failed'));
        expect(failedAttempts.length, failedAttempts.slice(-5).join('\n')).toBeLessThan(500);
        const t = await expectSettled(cluster);
        const missing = await missingLoadedKeys(cluster, 'fo', 40_000);
        expect(missing, lossStory(missing, result.stderr, cluster)).toEqual([]);
        if (report) {
          expect(report.lost).toEqual([]);
          expect(report.vanished).toEqual([]);
        }

        // The promoted replica owns what the old master had taken or kept plus the rest of its share;
        // the old master owns nothing (Redis makes it a replica of the new master, or leaves it an empty
        // master when it lost its slots before hearing of the failover).
        const promoted = t.nodes.find((n) => n.id === replica.id)!;
        // On failure, what the two nodes logged about epochs and the failover says which path undid it.
        const story = [target, replica]
          .map((n) =>
            [
              `--- ${n.kind} ${n.port} ${n.id.slice(0, 8)}`,
              ...readFileSync(join(cluster.dir, `redis-${n.port}.log`), 'utf8')
                .split('\n')
                .filter((l) => /epoch|failover|configuration change|master|paus/i.test(l))
                .slice(-30),
            ].join('\n'),
          )
          .join('\n');
        if (promoted.role !== 'master') {
          // Undone (the known failure below): apply must at least have told the operator.
          expect(result.stdout, story).toContain(
            `WARNING: replica ${replica.host}:${replica.port} (${replica.id.slice(0, 8)}) ran for master during the plan`,
          );
        }
        expect(promoted.role, story).toBe('master');
        const owned = (id: string): number => t.owners.filter((o) => o === id).length;
        expect(owned(target.id)).toBe(0);
        // Every slot where the plan put it, the failed-over master's share on its replica.
        const expected = [...ownersBefore];
        for (const m of moves) expected[m.slot] = m.to;
        const inPlace = expected.map((o) => (o === target.id ? replica.id : o));
        const misplaced = inPlace.flatMap((o, slot) =>
          t.owners[slot] === o ? [] : [{ slot, planned: o, owner: t.owners[slot] }],
        );
        expect(misplaced.slice(0, 10)).toEqual([]);
        expect(owned(replica.id)).toBeGreaterThan(1000);
        const after = await topologyOf(cluster);
        expect(after.owners).toEqual(t.owners);
      } catch (e) {
        // A cluster left down (CLUSTERDOWN from the checks, 1 of 25 runs on 2026-11-25) says
        // nothing by itself: add how each node sees the cluster and what apply printed.
        // No `cause`: vitest prints it in full after the message, and a cause holding apply's log
        // pushed everything else out of what CI shows of the run (the tail of its output).
        const message = e instanceof Error ? e.message : String(e);
        const outcome = applyOutcome(result);
        throw new Error([message.replace(outcome, ''), await clusterPicture(cluster), outcome].join('\n'));
      }
    },
  );
}
