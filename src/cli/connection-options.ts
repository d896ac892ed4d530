import { Option, type Command } from 'commander';
import { parseAddress, type ConnectionOptions, type NodeAddress } from '../cluster/index.js';
import { InvalidOptionError } from '../errors/index.js';

export interface ConnectionFlags {
  seed?: string[];
  user?: string;
  password?: string;
  tls?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsInsecure?: boolean;
  connectTimeout?: string;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Adds the options every command that talks to the cluster takes. */
export function withConnectionOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '-s, --seed <host:port>',
        'a cluster node to start from (repeat for more; the first that answers is used)',
      )
        .argParser(collect)
        .env('SLOTSHIFT_SEED'),
    )
    .option('--user <name>', 'ACL user name (default: legacy AUTH with --password only)')
    .addOption(
      new Option('--password <password>', 'password; prefer the SLOTSHIFT_PASSWORD environment variable').env(
        'SLOTSHIFT_PASSWORD',
      ),
    )
    .option('--tls', 'connect with TLS')
    .option('--tls-ca <file>', 'CA certificate file (PEM) to verify the servers with')
    .option('--tls-cert <file>', 'client certificate file (PEM) for mutual TLS')
    .option('--tls-key <file>', 'client private key file (PEM) for mutual TLS')
    .option('--tls-insecure', 'do not verify server certificates (test clusters only)')
    .option('--connect-timeout <ms>', 'connect timeout per node in milliseconds', '5000');
}

export function seedsFrom(flags: ConnectionFlags): NodeAddress[] {
  const raw = flags.seed ?? [];
  // The environment variable holds a comma-separated list; flags may be repeated.
  const seeds = raw
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  if (seeds.length === 0) {
    throw new InvalidOptionError('--seed', 'at least one seed is required, e.g. --seed 127.0.0.1:7000');
  }
  return seeds.map(parseAddress);
}

export function connectionFrom(flags: ConnectionFlags): ConnectionOptions {
  const timeout = Number(flags.connectTimeout ?? 5000);
  if (!Number.isFinite(timeout) || timeout <= 0) {
    throw new InvalidOptionError(
      '--connect-timeout',
      `"${flags.connectTimeout}" is not a positive number of milliseconds`,
    );
  }
  const tlsWanted = Boolean(flags.tls || flags.tlsCa || flags.tlsCert || flags.tlsKey);
  return {
    user: flags.user,
    password: flags.password,
    connectTimeoutMs: timeout,
    tls: tlsWanted
      ? {
          caFile: flags.tlsCa,
          certFile: flags.tlsCert,
          keyFile: flags.tlsKey,
          insecure: Boolean(flags.tlsInsecure),
        }
      : null,
  };
}
