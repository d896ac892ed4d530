import { SlotshiftError } from '../errors/index.js';

export class RedisServerMissingError extends SlotshiftError {
  readonly code = 'REDIS_SERVER_MISSING';
  constructor() {
    super(
      'redis-server was not found on PATH (nor REDIS_SERVER); install it with `sudo apt-get install redis-server` (Debian/Ubuntu), `brew install redis` (macOS), or set REDIS_SERVER=/path/to/redis-server',
    );
  }
}

export class LocalClusterStartError extends SlotshiftError {
  readonly code = 'LOCAL_CLUSTER_START_FAILED';
  constructor(detail: string) {
    super(`could not start the local cluster: ${detail}; see the redis-*.log files in the cluster directory`);
  }
}
