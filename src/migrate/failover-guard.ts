import type { Redis } from 'ioredis';
import { parseClusterNodes, type NodeAddress, type NodePool } from '../cluster/index.js';
import { SlotProtocolError } from './errors.js';
import { execTransaction, type Reply } from './redis-reply-error.js';
import type { SlotEndpoint, SlotMoveSpec } from './migrate-slot.js';

const REPLICAS_TTL_MS = 5_000;

/**
 * Runs a target's SETSLOT NODE commands so that the target cannot take a slot while a manual
 * failover pauses it. Redis pauses the master's writes until it hears of its demotion, but SETSLOT is
 * not a write: a target that took a slot in that window bumped its config epoch past the promoted
 * replica's and won its slots back. A keyless EVAL is flagged may-replicate, so a MULTI holding it
 * makes Redis hold the whole EXEC for the pause (checked against 7.0 with CLIENT PAUSE WRITE); when
 * the pause ends on a demoted node, SETSLOT answers "only with masters" and takes nothing, and the
 * retry goes to the new master. The replicas' ROLE check (FailoverGuard) cannot close that window:
 * the promotion can land between the check and the SETSLOT. What this cannot stop is Redis's own
 * epoch bump when the paused target's epoch collides with another target's: CloseTurns keeps
 * targets from colliding in the first place.
 */
export async function execFencedAgainstFailover(
  target: Redis,
  commands: string[][],
  noteInfo?: (clusterInfo: unknown) => void,
): Promise<Reply[]> {
  const tx = target.multi();
  for (const [name, ...args] of commands) tx.call(name!, ...args);
  tx.call(...FAILOVER_PAUSE_FENCE);
  // The epoch the SETSLOTs left, read in the same transaction: the next close's turn waits for it
  // (CloseTurns) without another round trip.
  if (noteInfo) tx.call('CLUSTER', 'INFO');
  const replies = await execTransaction(tx);
  if (noteInfo) noteInfo(replies.at(-1)?.[1]);
  return replies.slice(0, commands.length);
}

const FAILOVER_PAUSE_FENCE = ['EVAL', 'return 0', '0'] as const;

/**
 * Waits out a manual failover of a source before its slot is closed on the target. The source's
 * replica takes every slot the source had in the replica's view, with a new epoch; a target that
 * closed one of them in the same moments with a lower epoch lost it to the new master and dropped
 * its keys (test/integration/cli/apply-failover-source.test.ts: 5 keys, the close ran inside the old
 * master's failover pause). The fence is held by that pause, as on a target (execFencedAgainstFailover),
 * and ROLE, in the same transaction, says whether the source is still a master once it ends: if
 * not, the close is refused (retryable) and the retry moves the slot from the new master. Keyless
 * EVAL succeeds on a replica, hence the ROLE. It narrows the window to the moments between this
 * check and the close; it cannot close it: an automatic failover has no pause to wait on.
 */
export async function awaitSourceFailoverPause(source: Redis, move: SlotMoveSpec): Promise<void> {
  const tx = source.multi();
  tx.call(...FAILOVER_PAUSE_FENCE);
  tx.call('ROLE');
  const [, role] = await execTransaction(tx);
  const first = Array.isArray(role?.[1]) ? (role[1] as unknown[])[0] : undefined;
  if (first !== undefined && first !== 'master') {
    throw new SlotProtocolError(
      move.slot,
      'close',
      move.from.id,
      'the source was demoted by a failover before the slot was closed; the retry moves it from the new master',
      true,
    );
  }
}

/**
 * Refuses to close a slot on a target whose replica has just been promoted. A master that has not
 * yet heard of its own failover still accepts SETSLOT NODE for a slot it imports, and taking the slot
 * bumps its config epoch past the new master's: it then wins its old slots back and the new master,
 * with the writes it accepted meanwhile, loses them. The promoted replica knows at once, so it is
 * asked directly (ROLE) rather than the target. The refusal is retryable: the job's next attempt
 * moves the slot to the new master, which holds the keys moved so far (a manual failover waits for
 * the replica to catch up before promoting it).
 */
export class FailoverGuard {
  private readonly replicas = new Map<string, { at: number; nodes: Promise<NodeAddress[]> }>();

  constructor(private readonly pool: NodePool) {}

  /** Whether `owner` is the master that `target` now replicates: the target was failed over. */
  async isNewMasterOf(target: SlotEndpoint, owner: SlotEndpoint): Promise<boolean> {
    try {
      const role = (await (await this.pool.get(target)).call('ROLE')) as unknown[];
      return (
        role[0] === 'slave' && Number(role[2]) === owner.port && (role[1] === owner.host || owner.host === '')
      );
    } catch {
      return false;
    }
  }

  async assertTargetIsMaster(target: Redis, move: SlotMoveSpec): Promise<void> {
    const replicas = await this.replicasOf(target, move.to.id);
    const roles = await Promise.all(
      replicas.map(async (r) => {
        try {
          return (await (await this.pool.get(r)).call('ROLE')) as unknown[];
        } catch {
          // An unreachable replica is not being promoted by a manual failover.
          return null;
        }
      }),
    );
    const promoted = roles.findIndex((role) => Array.isArray(role) && role[0] === 'master');
    if (promoted >= 0) {
      const r = replicas[promoted]!;
      throw new SlotProtocolError(
        move.slot,
        'failover check before SETSLOT NODE',
        move.to.id,
        `its replica ${r.host}:${r.port} has been promoted to master; the slot goes to the new master on retry`,
        true,
      );
    }
  }

  private replicasOf(target: Redis, targetId: string): Promise<NodeAddress[]> {
    const cached = this.replicas.get(targetId);
    if (cached && performance.now() - cached.at < REPLICAS_TTL_MS) return cached.nodes;
    const nodes = target.call('CLUSTER', 'REPLICAS', targetId).then((reply) => {
      const lines = reply as string[];
      if (lines.length === 0) return [];
      return parseClusterNodes(lines.join('\n')).map((l) => ({ host: l.host, port: l.port }));
    });
    // A failed lookup is not cached: the next slot asks again.
    nodes.catch(() => this.replicas.delete(targetId));
    this.replicas.set(targetId, { at: performance.now(), nodes });
    return nodes;
  }
}
