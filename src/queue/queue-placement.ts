import { Redis } from 'ioredis';
import {
  connectFailureDetail,
  errorSafeSockets,
  isAuthFailure,
  openSlots,
  keySlot,
  type ClusterNode,
  type SlotRange,
  type Topology,
} from '../cluster/index.js';
import { InvalidOptionError, QueueUnreachableError } from '../errors/index.js';
import { DEFAULT_QUEUE_NAME } from './slot-job.js';

/** host:port of a queue URL, for messages (never its credentials). */
export function queueAddress(queueUrl: string): string {
  const u = new URL(queueUrl);
  return `${u.hostname.replace(/^\[|\]$/g, '')}:${u.port || '6379'}`;
}

/**
 * The database a queue URL names: `/N` after the address, or `?db=N`; 0 when it names none. ioredis
 * reads the same places, but takes `/abc` as database 0 and `/3x` as 3, so anything but digits is
 * refused here.
 */
export function queueDatabase(queueUrl: string): number {
  const u = new URL(queueUrl);
  const given = [u.pathname.replace(/^\//, ''), u.searchParams.get('db') ?? ''].filter((d) => d !== '');
  for (const d of given) {
    if (!/^\d+$/.test(d)) {
      throw new InvalidOptionError(
        '--queue',
        `"${d}" in ${printableUrl(u)} is not a database number; write redis://HOST:PORT/N with N a database index (0 when left out)`,
      );
    }
  }
  if (given.length === 2 && Number(given[0]) !== Number(given[1])) {
    throw new InvalidOptionError(
      '--queue',
      `${printableUrl(u)} names two databases, /${given[0]} and ?db=${given[1]}; keep one`,
    );
  }
  return given.length ? Number(given[0]) : 0;
}

/** The URL for a message, without its credentials. */
function printableUrl(u: URL): string {
  const shown = new URL(u.toString());
  shown.username = '';
  shown.password = '';
  return shown.toString();
}

/**
 * Selects `db` on the probe connection. A database the server does not have (or any but 0 on a
 * cluster node) fails only the SELECT that ioredis sends after connecting: it logs the error and
 * goes on in database 0, so a queue asked for in /99 silently landed in 0.
 */
async function assertDatabase(r: Redis, db: number, address: string): Promise<void> {
  if (db === 0) return;
  try {
    await r.call('SELECT', String(db));
  } catch (e) {
    const reply = (e instanceof Error ? e.message : String(e)).replace(/^ERR /, '');
    let databases: number | null = null;
    try {
      const [, n] = (await r.call('CONFIG', 'GET', 'databases')) as [string, string];
      databases = Number(n) || null;
    } catch {
      // CONFIG may be renamed or forbidden by ACL: the message then goes without the count.
    }
    const clusterMode = /cluster mode/i.test(reply);
    throw new InvalidOptionError(
      '--queue',
      clusterMode
        ? `database ${db} cannot be used on ${address}, a cluster node (${reply}); leave /${db} off the queue URL`
        : `database ${db} does not exist on ${address} (${reply}` +
            (databases ? `; it has databases 0 to ${databases - 1}` : '') +
            `); use a database index the server has, or leave /${db} off the queue URL for database 0`,
    );
  }
}

/**
 * Asks the queue Redis once, without retries, who it is. The queue connections themselves retry
 * forever (a worker outlives a queue restart), so without this a wrong `--queue` hung `apply`,
 * `progress` and the others with no word. The URL's database must exist there. Returns its cluster
 * node id, or null when it is not in cluster mode.
 */
export async function probeQueue(queueUrl: string): Promise<{ clusterNodeId: string | null }> {
  const db = queueDatabase(queueUrl);
  const r = new Redis(queueUrl, {
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    ...errorSafeSockets,
  });
  let lastError: unknown = null;
  r.on('error', (e: unknown) => (lastError = e));
  try {
    await r.connect();
    await r.ping();
  } catch (e) {
    const err = lastError ?? e;
    const message = err instanceof Error ? err.message : String(err);
    const authFailed = isAuthFailure(message);
    const detail = authFailed
      ? `authentication failed (${message.split('\n')[0]}): give the credentials in the URL, redis://USER:PASSWORD@HOST:PORT`
      : connectFailureDetail(err);
    r.disconnect();
    // Refused credentials stay refused: the daemon, which waits for an unreachable queue, stops.
    throw new QueueUnreachableError(queueAddress(queueUrl), detail, !authFailed);
  }
  try {
    // ioredis selects it too, but a failure there only emits an error: this one ends the probe.
    await assertDatabase(r, db, queueAddress(queueUrl));
    try {
      return { clusterNodeId: String(await r.call('CLUSTER', 'MYID')) };
    } catch {
      return { clusterNodeId: null };
    }
  } finally {
    r.disconnect();
  }
}

/**
 * The slot every key of a queue hashes to, or null when they spread over many. BullMQ's keys are
 * `bull:<name>:...` and slotshift's own `<name>:slotshift:...`; neither part around the name holds
 * a brace, so the name's hash tag (the text between its first `{` and the next `}`, when not empty)
 * is the first of every key, and Redis hashes that alone.
 */
export function queueKeySlot(queueName: string): number | null {
  const open = queueName.indexOf('{');
  if (open < 0) return null;
  const close = queueName.indexOf('}', open + 1);
  if (close < 0 || close === open + 1) return null;
  return keySlot(queueName.slice(open + 1, close));
}

/** A queue kept on the cluster it rebalances: every key in `slot`, served by `node`. */
export interface QueueOnCluster {
  readonly node: ClusterNode;
  readonly slot: number;
  readonly queueName: string;
}

function ownerOf(topology: Topology, slot: number): ClusterNode | undefined {
  return topology.nodes.find(
    (n) => n.role === 'master' && n.slots.some((r) => r.start <= slot && slot <= r.end),
  );
}

/**
 * Whether the queue may live where it is. A queue on a separate Redis (null) always may. On a node
 * of the cluster being rebalanced a plan would otherwise move the queue's own keys mid-plan, so it
 * may only when all its keys share one slot (a hash tag in the queue name), that node is the slot's
 * master, and the slot is not open. The plan must also pin the slot: see assertQueueSlotPinned.
 */
export function placeQueue(
  queueName: string,
  queueAddr: string,
  queueNode: ClusterNode | undefined,
  topology: Topology,
): QueueOnCluster | null {
  if (!queueNode) return null;
  const where = `${queueAddr} (node ${queueNode.id.slice(0, 8)})`;
  const slot = queueKeySlot(queueName);
  if (slot === null) {
    const tagged = `{${queueName.replace(/[{}]/g, '') || DEFAULT_QUEUE_NAME}}`;
    const tagSlot = queueKeySlot(tagged)!;
    const owner = ownerOf(topology, tagSlot);
    throw new InvalidOptionError(
      '--queue',
      `${where} is a node of the cluster being rebalanced, and queue name "${queueName}" has no hash tag, ` +
        `so the queue's keys would spread over the cluster's slots and move with them. Keep the queue on a ` +
        `separate Redis (e.g. a small standalone instance), or keep every queue key in one pinned slot: ` +
        `--queue-name '${tagged}' --pin ${tagSlot}` +
        (owner ? ` --queue redis://${owner.host}:${owner.port} (that slot's master)` : ''),
    );
  }
  const owner = ownerOf(topology, slot);
  if (owner?.id !== queueNode.id) {
    throw new InvalidOptionError(
      '--queue',
      `the keys of queue "${queueName}" live in slot ${slot}, which ${where} does not serve` +
        (owner
          ? `; its master is ${owner.host}:${owner.port} (node ${owner.id.slice(0, 8)}): point --queue there`
          : ': no master serves it; run slotshift fix first'),
    );
  }
  const open = openSlots(topology).find((o) => o.slot === slot);
  if (open) {
    throw new InvalidOptionError(
      '--queue',
      `the keys of queue "${queueName}" live in slot ${slot}, which is open (${open.state} on node ${open.nodeId.slice(0, 8)}); run slotshift fix first`,
    );
  }
  return { node: queueNode, slot, queueName };
}

/**
 * Finds where the queue is: a separate Redis (null), or a node of the cluster being rebalanced,
 * by address first and then by asking it (`CLUSTER MYID`, which also catches another name for a
 * node: `localhost`, a DNS name, a NAT address). An unreachable queue is refused here too, before
 * anything is planned; so is a queue on the cluster that placeQueue refuses.
 */
export async function locateQueue(
  queueUrl: string,
  queueName: string,
  topology: Topology,
): Promise<QueueOnCluster | null> {
  const addr = queueAddress(queueUrl);
  const { clusterNodeId } = await probeQueue(queueUrl);
  const node =
    topology.nodes.find((n) => n.id === clusterNodeId) ??
    topology.nodes.find((n) => `${n.host}:${n.port}` === addr);
  return placeQueue(queueName, addr, node, topology);
}

/**
 * A plan run with its queue on the cluster must leave the queue's slot where it is: the policy
 * pins it. Checked against the plan's moves too, as a saved plan file may have been edited.
 * `origin` says where the policy came from, for the fix in the message.
 */
export function assertQueueSlotPinned(
  queue: QueueOnCluster | null,
  plan: {
    readonly policy: { readonly pin: readonly SlotRange[] };
    readonly moves: readonly { slot: number }[];
  },
  origin: string,
): void {
  if (!queue) return;
  const { slot } = queue;
  const pinned = plan.policy.pin.some((r) => r.start <= slot && slot <= r.end);
  if (pinned && !plan.moves.some((m) => m.slot === slot)) return;
  throw new InvalidOptionError(
    '--pin',
    `the queue "${queue.queueName}" lives on this cluster, in slot ${slot} of ${queue.node.host}:${queue.node.port}, ` +
      `and ${origin} ${pinned ? 'moves that slot' : 'does not pin it'}; pin it so no plan moves the queue: ` +
      `--pin ${slot}, or pin: [${slot}] in a plan file`,
  );
}

/**
 * Where the queue went when a queue command met `MOVED <slot> <host:port>`: its node, a cluster
 * master holding the queue's pinned slot, failed over. The URL is the queue URL (scheme,
 * credentials, database) with the new address; null for any other error.
 */
export function queueMovedTo(
  error: unknown,
  queueUrl: string,
): { slot: number; address: string; url: string } | null {
  const m = /^MOVED (\d+) (\S+):(\d+)$/.exec(error instanceof Error ? error.message : '');
  if (!m) return null;
  const url = new URL(queueUrl);
  url.hostname = m[2]!.includes(':') ? `[${m[2]!}]` : m[2]!;
  url.port = m[3]!;
  return { slot: Number(m[1]), address: `${m[2]!}:${m[3]!}`, url: url.toString() };
}
