import type { Command } from 'commander';
import { parseByteSize } from '../config/index.js';
import { InvalidOptionError } from '../errors/index.js';
import { DEFAULT_MOVE_SETTINGS, type MoveSettings } from '../migrate/index.js';
import { parsePositiveInt } from './parse-flags.js';

/** How a process moves slots: `apply` and `worker` take the same flags, so extra workers obey them too. */
export interface MoveFlags {
  migrateTimeout: string;
  /** No commander default: unset, a plan file's `spec.limits.latencyBudgetMs` may give it. */
  latencyBudgetMs?: string;
  maxBatchBytes: string;
  verify: boolean;
}

export function withMoveOptions(cmd: Command): Command {
  return cmd
    .option('--no-verify', 'skip the content check of every moved key (faster; see README: verified moves)')
    .option('--migrate-timeout <ms>', 'server-side timeout of one MIGRATE call', '10000')
    .option(
      '--latency-budget-ms <ms>',
      `latency budget: aim for each MIGRATE to block the servers about this long (default: ${DEFAULT_MOVE_SETTINGS.latencyBudgetMs}, or apply -f FILE's spec.limits.latencyBudgetMs)`,
    )
    .option(
      '--max-batch-bytes <size>',
      'most bytes (MEMORY USAGE) of keys one MIGRATE carries, e.g. 4MiB or 512KB; keys of 1 MB or more always move alone',
      '4MiB', // DEFAULT_MAX_BATCH_BYTES, written as an operator would
    );
}

/**
 * The move settings the flags ask for, checked. `planFile` is the RebalancePlan file apply runs, if
 * any: its `spec.limits.latencyBudgetMs` applies where --latency-budget-ms is not given (the flag
 * wins, as flags win over the config file elsewhere).
 */
export function moveSettingsFrom(
  flags: MoveFlags,
  groupSlots: number,
  planFile: { readonly limits: { readonly latencyBudgetMs: number | null } } | null = null,
): MoveSettings {
  const maxBatchBytes = parseByteSize(flags.maxBatchBytes);
  if (typeof maxBatchBytes === 'string' || maxBatchBytes <= 0) {
    throw new InvalidOptionError(
      '--max-batch-bytes',
      typeof maxBatchBytes === 'string'
        ? maxBatchBytes
        : `"${flags.maxBatchBytes}" must be more than 0 bytes`,
    );
  }
  return {
    verify: flags.verify,
    latencyBudgetMs:
      flags.latencyBudgetMs !== undefined
        ? parsePositiveInt('--latency-budget-ms', flags.latencyBudgetMs)
        : (planFile?.limits.latencyBudgetMs ?? DEFAULT_MOVE_SETTINGS.latencyBudgetMs),
    maxBatchBytes,
    migrateTimeoutMs: parsePositiveInt('--migrate-timeout', flags.migrateTimeout),
    groupSlots,
  };
}
