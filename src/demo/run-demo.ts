import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadStrings, startLocalCluster, startLocalRedis } from '../localcluster/index.js';

/**
 * `npm run demo`: a throwaway cluster on loopback (3 masters with data, 3 empty masters joined) and
 * a queue Redis, then slotshift run on it exactly as a user would type it: status, plan, apply
 * (verified, with a progress bar on a terminal), verify against the checksums taken before, status.
 * `--keep` leaves it all running.
 */
const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'slotshift.js');
const keys = Number(process.env['DEMO_KEYS'] ?? 200_000);
const keep = process.argv.includes('--keep');

function run(args: string[]): number {
  process.stdout.write(`\n$ slotshift ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [BIN, ...args], { stdio: 'inherit' });
  return r.status ?? 1;
}

const cluster = await startLocalCluster({ masters: 3, emptyMasters: 3 });
const queue = await startLocalRedis();
let exit = 0;
try {
  process.stdout.write(`started a 6-node cluster in ${cluster.dir}: ${cluster.seeds.join(' ')}\n`);
  process.stdout.write(`and a queue Redis at ${queue.url}\n`);
  process.stdout.write(`loading ${keys.toLocaleString('en-US')} keys of 100 bytes onto the 3 masters...\n`);
  await loadStrings(cluster, { keys, valueBytes: 100 });
  const seed = cluster.seeds[0]!;
  const steps = [
    ['status', '--seed', seed],
    ['verify', '--seed', seed, '--save', `${cluster.dir}/before.json`],
    ['apply', '--seed', seed, '--use-empty-masters', '--queue', queue.url, '--yes'],
    // Every slot's checksum (key count and content digests) against the one taken before: any key
    // lost or changed by the move makes this step list the slot and fail.
    ['verify', '--seed', seed, '--against', `${cluster.dir}/before.json`],
    ['status', '--seed', seed],
  ];
  for (const args of steps) {
    exit = run(args);
    if (exit !== 0) break;
  }
  if (keep) {
    process.stdout.write(
      `\ncluster left running (--keep): slotshift status --seed ${seed}; stop it with Ctrl-C\n`,
    );
    await new Promise(() => undefined);
  }
} finally {
  if (!keep) {
    await cluster.stop();
    await queue.stop();
  }
}
process.exitCode = exit;
