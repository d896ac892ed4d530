import { readFileSync } from 'node:fs';
import { assertWritable, writeOutputFile } from '../output-file.js';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import type { Redis } from 'ioredis';
import {
  clusterChecksums,
  compareWithSnapshot,
  SlotsMovingError,
  foldDigests,
  parseSnapshot,
  takeSnapshot,
  type SlotDifference,
} from '../../checksum/index.js';
import { NodePool, masters, readTopology, slotsChangedBetween, type Topology } from '../../cluster/index.js';
import { InvalidOptionError } from '../../errors/index.js';
import {
  connectionFrom,
  seedsFrom,
  withConnectionOptions,
  type ConnectionFlags,
} from '../connection-options.js';
import { formatCount } from '../format.js';
import { parseSlotList } from '../plan-flags.js';
import { noun, plural } from '../../text/index.js';

interface VerifyFlags extends ConnectionFlags {
  slots?: string;
  save?: string;
  against?: string;
  includeTtl?: boolean;
  json?: boolean;
}

export function verifyCommand(program: Command): void {
  withConnectionOptions(
    program
      .command('verify')
      .summary('Checksum slots; save them and compare with a later run.')
      .description(
        'Checksum slots: per slot, the XOR of content digests of its keys (independent of encoding and order) plus the key count. Save them and compare with a later run, e.g. before and after maintenance.\n\n' +
          'Exit code 1 when --against finds a difference.',
      )
      .option('--slots <ranges>', 'only these slots, e.g. 0-100,204 (default: all)')
      .option('--save <file>', 'write the checksums as a JSON snapshot')
      .option('--against <file>', 'compare with a snapshot saved earlier and list the slots that differ')
      .option('--include-ttl', 'make whether a key has a TTL part of its digest')
      .option('--json', 'print a JSON summary'),
  ).action(async (flags: VerifyFlags) => {
    const seeds = seedsFrom(flags);
    const earlier = flags.against ? readSnapshot(flags.against) : null;
    if (flags.save) assertWritable('--save', flags.save);
    const slots = flags.slots
      ? parseSlotList('--slots', flags.slots).flatMap((r) => range(r.start, r.end))
      : undefined;
    const pool = new NodePool(connectionFrom(flags));
    try {
      const topology = await readTopology(pool, seeds);
      const nodes = await Promise.all(
        masters(topology)
          .filter((m) => m.slots.length > 0)
          .map(async (m) => ({ id: m.id, redis: await pool.get(m), slots: m.slots })),
      );
      const total =
        slots?.length ?? nodes.reduce((a, n) => a + n.slots.reduce((s, r) => s + r.end - r.start + 1, 0), 0);
      const bar =
        process.stderr.isTTY && !flags.json
          ? new SingleBar(
              {
                format: 'slots {bar} {value}/{total} | {keys} keys | ETA {eta_formatted}',
                stream: process.stderr,
              },
              Presets.shades_classic,
            )
          : null;
      bar?.start(total, 0, { keys: 0 });
      const started = Date.now();
      const checksums = await clusterChecksums(nodes, {
        slots,
        importers: await importersOfOpenSlots(topology, pool, slots),
        includeTtl: Boolean(flags.includeTtl),
        onProgress: (p) => bar?.update(p.slotsDone, { keys: formatCount(p.keysDone) }),
      });
      bar?.stop();
      // A slot that moved while the others were read would make the result a mix of before and
      // after the move; refuse that rather than report a difference that is only the move.
      const moved = slotsChangedBetween(topology, await readTopology(pool, seeds), slots);
      if (moved.length > 0) {
        throw new SlotsMovingError(moved, 'their owner or open state changed during the run');
      }
      const seconds = (Date.now() - started) / 1000;
      const snapshot = takeSnapshot(checksums, {
        takenAt: new Date(),
        includeTtl: Boolean(flags.includeTtl),
      });
      if (flags.save) writeOutputFile('--save', flags.save, `${JSON.stringify(snapshot)}\n`);
      const keys = checksums.reduce((a, c) => a + c.keys, 0);
      const whole = foldDigests(checksums.map((c) => c.xor));
      const comparison = earlier
        ? compareWithSnapshot(earlier, snapshot, slots ? new Set(slots) : null)
        : { differences: [] as SlotDifference[], notInEarlier: [] };
      const { differences, notInEarlier } = comparison;
      if (flags.json) {
        const against = earlier
          ? { file: flags.against, takenAt: earlier.takenAt, notInSnapshot: notInEarlier.length }
          : null;
        process.stdout.write(
          `${JSON.stringify({ slots: checksums.length, keys, checksum: whole.xor, seconds, saved: flags.save ?? null, against, differences }, null, 2)}\n`,
        );
      } else {
        process.stdout.write(
          `${formatCount(checksums.length)} ${noun(checksums.length, 'slot')}, ${formatCount(keys)} ${noun(keys, 'key')} checksummed in ${seconds.toFixed(1)} s; cluster checksum ${whole.xor}\n`,
        );
        if (flags.save) process.stdout.write(`snapshot written to ${flags.save}\n`);
        if (earlier && notInEarlier.length > 0) {
          process.stdout.write(
            `${formatCount(notInEarlier.length)} ${noun(notInEarlier.length, 'slot')} checked now ${notInEarlier.length === 1 ? 'is' : 'are'} not in the snapshot and ${notInEarlier.length === 1 ? 'was' : 'were'} not compared\n`,
          );
        }
        if (earlier) {
          process.stdout.write(
            differences.length === 0
              ? `matches the snapshot taken ${earlier.takenAt}\n`
              : `${plural(differences.length, 'slot')} ${differences.length === 1 ? 'differs' : 'differ'} from the snapshot taken ${earlier.takenAt}:\n` +
                  differences
                    .slice(0, 50)
                    .map(
                      (d) =>
                        `  slot ${d.slot}: ${d.a ? `${plural(d.a.keys, 'key')} ${d.a.xor}` : 'absent'} -> ${d.b ? `${plural(d.b.keys, 'key')} ${d.b.xor}` : 'absent'}`,
                    )
                    .join('\n') +
                  '\n',
          );
        }
      }
      if (differences.length) process.exitCode = 1;
    } finally {
      await pool.close();
    }
  });
}

/**
 * Every open slot (among `slots`, default all) → connections to the masters importing it (none
 * when only its owner has it open): its keys may lie on any of them.
 */
async function importersOfOpenSlots(
  topology: Topology,
  pool: NodePool,
  slots: readonly number[] | undefined,
): Promise<Map<number, Redis[]>> {
  const wanted = slots ? new Set(slots) : null;
  const chosen = ({ slot }: { slot: number }): boolean => wanted === null || wanted.has(slot);
  const out = new Map<number, Redis[]>();
  for (const m of masters(topology)) {
    for (const { slot } of m.migrating.filter(chosen)) if (!out.has(slot)) out.set(slot, []);
    for (const { slot } of m.importing.filter(chosen)) {
      const list = out.get(slot) ?? [];
      list.push(await pool.get(m));
      out.set(slot, list);
    }
  }
  return out;
}

function readSnapshot(path: string) {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new InvalidOptionError('--against', `cannot read snapshot ${path}: ${(e as Error).message}`);
  }
  try {
    return parseSnapshot(json);
  } catch (e) {
    throw new InvalidOptionError('--against', `${path}: ${(e as Error).message}`);
  }
}

function range(start: number, end: number): number[] {
  return Array.from({ length: end - start + 1 }, (_, i) => start + i);
}
