import { loadConfig, resolveValue } from '../config/index.js';
import type { ConnectionFlags } from './connection-options.js';
import type { QueueFlags } from './queue-options.js';

/** `-c, --config FILE` on the commands that use a queue (apply, worker, pause/resume/cancel/progress). */
export interface ConfigFileFlag {
  config?: string;
}

/**
 * The flags with what they leave out taken from a slotshift config file (the daemon's, see
 * config/slotshift.yaml): the queue URL, and the cluster's seeds, user, password and TLS files. A
 * flag or its environment variable (SLOTSHIFT_QUEUE_URL, SLOTSHIFT_SEED, SLOTSHIFT_PASSWORD) wins.
 * The file is checked whole, as the daemon checks it, so a mistake in it is reported with its line.
 */
export function withConfigFile<T extends ConfigFileFlag & QueueFlags & ConnectionFlags>(
  flags: T,
  env: Readonly<Record<string, string | undefined>> = process.env,
): T {
  if (!flags.config) return flags;
  const config = loadConfig(flags.config);
  const c = config.cluster;
  const tlsFlagged = Boolean(flags.tls || flags.tlsCa || flags.tlsCert || flags.tlsKey || flags.tlsInsecure);
  return {
    ...flags,
    queue: flags.queue ?? resolveValue(config.queue.url, 'queue.url', env),
    seed: flags.seed?.length ? flags.seed : [...c.seeds],
    user: flags.user ?? c.user ?? undefined,
    password: flags.password ?? (c.password ? resolveValue(c.password, 'cluster.password', env) : undefined),
    ...(!tlsFlagged && c.tls
      ? {
          tls: true,
          tlsCa: c.tls.caFile ?? undefined,
          tlsCert: c.tls.certFile ?? undefined,
          tlsKey: c.tls.keyFile ?? undefined,
          tlsInsecure: c.tls.insecure,
        }
      : {}),
  };
}
