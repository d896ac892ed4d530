import { describe, expect, it } from 'vitest';
import type { DaemonStatus } from '../../../src/daemon/index.js';
import {
  expectSettled,
  loadStrings,
  missingLoadedKeys,
  startLocalCluster,
  startLocalRedis,
} from '../../harness/index.js';
import { daemonOn, getJson, queueName, tempDir, waitFor, writePlan } from './helpers.js';

const KEYS = 20_000;
const TOKEN = 'test-token-0123456789';

/** Every sample line is `name{labels} value`; comments are # HELP / # TYPE. */
function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.eE+-]+|NaN|[+-]Inf)$/.exec(line);
    if (!m) throw new Error(`not Prometheus text: ${JSON.stringify(line)}`);
    samples.set(m[1]!, Number(m[2]));
  }
  return samples;
}

const post = (address: string, path: string, token?: string): Promise<Response> =>
  fetch(`http://${address}${path}`, {
    method: 'POST',
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });

describe('slotshift daemon: lease and HTTP API', () => {
  it('plans in one daemon of two, serves status/metrics/queues, and guards pause/cancel with the token', async () => {
    const cluster = await startLocalCluster({ masters: 3, emptyMasters: 1 });
    const queue = await startLocalRedis();
    try {
      await loadStrings(cluster, { keys: KEYS, prefix: 'api' });
      const dir = tempDir();
      const empty = cluster.nodes.find((n) => n.kind === 'empty')!;
      writePlan(
        dir,
        'scale-out',
        `useEmptyMasters: true\nweights: { '${empty.addr}': 0.3 }\nlimits: { maxPerNode: 1 }`,
      );
      const name = queueName();
      const options = {
        plans: dir,
        queueName: name,
        token: TOKEN,
        workers: { concurrency: 1, perNodeLimit: 1 },
      };
      const a = await daemonOn(cluster, queue.url, options);
      const b = await daemonOn(cluster, queue.url, options);
      try {
        // Exactly one plans; both see the same lease holder.
        const [sa, sb] = await waitFor('a plan enqueued by one daemon', async () => {
          const s = await Promise.all([a, b].map((d) => getJson<DaemonStatus>(d.httpAddress, '/status')));
          return s.some((x) => x.state === 'enqueued') ? s : undefined;
        });
        expect([sa!.role, sb!.role].sort()).toEqual(['leader', 'standby']);
        const leader = sa!.role === 'leader' ? sa! : sb!;
        expect(sa!.leaseHolder).toBe(leader.leaseToken);
        expect(sb!.leaseHolder).toBe(leader.leaseToken);
        const standby = sa!.role === 'leader' ? b : a;
        expect((await standby.metrics.plansEnqueued.get()).values[0]?.value ?? 0).toBe(0);
        expect(leader.cluster!.masters).toHaveLength(4);
        expect(leader.windows).toEqual([expect.objectContaining({ plan: 'scale-out', open: true })]);

        expect((await fetch(`http://${a.httpAddress}/healthz`)).status).toBe(200);
        expect((await fetch(`http://${a.httpAddress}/readyz`)).status).toBe(200);
        const board = await fetch(`http://${a.httpAddress}/queues`);
        expect(board.status).toBe(200);
        expect(await board.text()).toContain('<html');

        // Pause: 401 without or with a wrong token, 200 with it, and the queue is paused.
        expect((await post(a.httpAddress, '/pause')).status).toBe(401);
        expect((await post(a.httpAddress, '/pause', 'wrong')).status).toBe(401);
        expect((await post(a.httpAddress, '/pause', TOKEN)).status).toBe(200);
        const paused = await getJson<DaemonStatus>(b.httpAddress, '/status');
        expect(paused.plan!.paused).toBe(true);
        expect(paused.plan!.finished).toBe(false);

        // Cancel: the same guard; the plan is marked cancelled and planning held.
        expect((await post(b.httpAddress, '/cancel')).status).toBe(401);
        expect((await post(b.httpAddress, '/cancel', `${TOKEN}x`)).status).toBe(401);
        const cancel = await post(b.httpAddress, '/cancel', TOKEN);
        expect(cancel.status).toBe(200);
        expect(((await cancel.json()) as { cancelled: string }).cancelled).toBe(leader.plan!.planId);
        const cancelled = await getJson<DaemonStatus>(a.httpAddress, '/status');
        expect(cancelled.plan!.cancelling).toBe(true);
        expect(cancelled.held).toBe(true);
        expect((await post(a.httpAddress, '/resume')).status).toBe(401);

        // Metrics parse as Prometheus text and count the slots moved so far.
        const res = await fetch(`http://${a.httpAddress}/metrics`);
        expect(res.headers.get('content-type')).toContain('text/plain');
        const samples = parsePrometheus(await res.text());
        const moved = [a, b].map(async (d) => (await d.metrics.slotsMoved.get()).values[0]?.value ?? 0);
        expect((await Promise.all(moved)).reduce((x, y) => x + y)).toBeGreaterThan(0);
        expect(samples.get('slotshift_lease_held')).toBeDefined();
        expect(samples.get('slotshift_window_open{plan="scale-out"}')).toBe(1);
        expect(samples.has('slotshift_slot_move_duration_seconds_bucket{le="+Inf"}')).toBe(true);
        expect(samples.has('slotshift_keys_moved_total')).toBe(true);

        // Resume lifts the hold: the cancelled plan drains and a fresh plan finishes the job.
        expect((await post(a.httpAddress, '/resume', TOKEN)).status).toBe(200);
        await waitFor(
          'the cluster to be balanced',
          async () => {
            const s = await getJson<DaemonStatus>(leader === sa ? a.httpAddress : b.httpAddress, '/status');
            return s.state === 'idle' && s.plan?.finished && s.plan.cancelled === 0 && !s.held;
          },
          90_000,
          250,
        );
      } finally {
        await Promise.all([a.stop(), b.stop()]);
      }
      await expectSettled(cluster);
      expect(await missingLoadedKeys(cluster, 'api', KEYS)).toEqual([]);
    } finally {
      await cluster.stop();
      await queue.stop();
    }
  }, 120_000);
});
