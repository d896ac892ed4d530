import { afterAll } from 'vitest';
import {
  startLocalCluster,
  startLocalRedis,
  type LocalCluster,
  type LocalClusterOptions,
  type LocalRedis,
} from '../../src/localcluster/index.js';

export * from '../../src/localcluster/index.js';

/** Starts a cluster for the current test file and stops it after the file's tests, pass or fail. */
export async function useCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const cluster = await startLocalCluster(options);
  afterAll(() => cluster.stop());
  return cluster;
}

/** Starts a standalone Redis (e.g. for BullMQ) stopped after the file's tests. */
export async function useRedis(): Promise<LocalRedis> {
  const redis = await startLocalRedis();
  afterAll(() => redis.stop());
  return redis;
}
export * from './cli.js';
export * from './traffic.js';
export * from './cluster-checks.js';
export * from './scenario.js';
export * from './slot-keys.js';
