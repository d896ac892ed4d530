import Table from 'cli-table3';
import type { Command } from 'commander';
import { NodePool, countOpenSlots } from '../../cluster/index.js';
import {
  DEFAULT_THRESHOLD_PCT,
  NOTHING_MOVING,
  readClusterStatus,
  type StatusReport,
} from '../../status/index.js';
import {
  connectionFrom,
  seedsFrom,
  withConnectionOptions,
  type ConnectionFlags,
} from '../connection-options.js';
import { formatBytes, formatCount, shortId } from '../format.js';
import { parseThreshold } from '../parse-flags.js';

interface StatusFlags extends ConnectionFlags {
  json?: boolean;
  threshold: string;
}

export function statusCommand(program: Command): void {
  withConnectionOptions(
    program
      .command('status')
      .description('Show masters, slot shares, keys, memory, replicas, open slots and a balance verdict.')
      .option('--json', 'print the status as a JSON document (see README: "status --json")')
      .option(
        '--threshold <pct>',
        'balance threshold in percent of an even share',
        String(DEFAULT_THRESHOLD_PCT),
      ),
  ).action(async (flags: StatusFlags) => {
    const seeds = seedsFrom(flags);
    const threshold = parseThreshold(flags.threshold);
    const pool = new NodePool(connectionFrom(flags));
    try {
      const { report } = await readClusterStatus(pool, seeds, threshold);
      process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : renderStatus(report));
    } finally {
      await pool.close();
    }
  });
}

export function renderStatus(report: StatusReport): string {
  const table = new Table({
    head: ['master', 'id', 'slots', 'share', 'keys', 'memory', 'replicas', 'state'],
    colAligns: ['left', 'left', 'right', 'right', 'right', 'right', 'left', 'left'],
    style: { head: [], border: [], compact: true },
  });
  for (const m of report.masters) {
    table.push([
      m.addr,
      shortId(m.id),
      formatCount(m.slots),
      `${m.sharePct.toFixed(2)}%`,
      formatCount(m.keys),
      formatBytes(m.usedMemoryBytes),
      m.replicas.map((r) => `${r.addr}${r.failing ? ' (failing)' : ''}`).join(', ') || '-',
      !m.reachable ? 'unreachable' : m.failing ? 'failing' : 'ok',
    ]);
  }
  const lines = [`cluster_state: ${report.clusterState}`, table.toString()];
  if (report.openSlots.length) {
    // A move under way (apply, a worker, the daemon) opens slots too: fix is for what a stopped move
    // left open, and run during a move it would race it.
    // Counted as slots, as the verdict counts them: a half-moved slot is listed on both its nodes.
    const open = countOpenSlots(report.openSlots);
    lines.push(
      `open slots (${open}; a move under way shows its slots here: if ${NOTHING_MOVING}, close them with slotshift fix):`,
    );
    for (const o of report.openSlots) {
      lines.push(
        `  slot ${o.slot}: ${shortId(o.nodeId)} ${o.state} ${o.state === 'migrating' ? 'to' : 'from'} ${shortId(o.peerId)}`,
      );
    }
  } else {
    lines.push('open slots: none');
  }
  if (report.deadOwnerSlots)
    lines.push(
      `slots owned by a dead master no replica replaces: ${report.deadOwnerSlots} (the cluster is down for them; run slotshift fix)`,
    );
  if (report.uncoveredSlots)
    lines.push(`uncovered slots: ${report.uncoveredSlots} (no master serves them; run slotshift fix)`);
  if (!report.agreed) {
    // Masters learn a moved slot's owner by gossip, a moment after the move: normal during a rebalance.
    lines.push(
      `nodes disagree on the slot map (${report.disagreements.length} shown; normal for a moment after a slot moves: if it lasts and ${NOTHING_MOVING}, run slotshift fix):`,
    );
    for (const d of report.disagreements.slice(0, 10)) {
      lines.push(
        `  slot ${d.slot}: ${shortId(d.nodeId)} sees ${d.seen ? shortId(d.seen) : 'no owner'}, others ${d.expected ? shortId(d.expected) : 'no owner'}`,
      );
    }
  } else {
    lines.push('slot map: every node agrees');
  }
  lines.push(`verdict: ${report.balance.verdict}`);
  return `${lines.join('\n')}\n`;
}
