import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import {
  startLocalCluster,
  startLocalRedis,
  type LocalCluster,
  type LocalClusterOptions,
  type LocalRedis,
  type LocalTlsFiles,
} from '../../src/localcluster/index.js';
import { createTestCertificates, testCertificateFiles } from './tls.js';

export * from '../../src/localcluster/index.js';

// useCluster and useRedis are called from beforeAll, and a hook registered inside another hook never
// runs (vitest 4): their servers lived on until the worker exited, loading the cores under later
// files. One file-level hook, registered when a test file loads the harness, stops them instead.
const stopAfterFile: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(stopAfterFile.splice(0).map((stop) => stop()));
});

/** Starts a cluster for the current test file and stops it after the file's tests, pass or fail. */
export async function useCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const cluster = await startLocalCluster(options);
  stopAfterFile.push(() => cluster.stop());
  return cluster;
}

/** Starts a standalone Redis (e.g. for BullMQ) stopped after the file's tests. */
export async function useRedis(): Promise<LocalRedis> {
  const redis = await startLocalRedis();
  stopAfterFile.push(() => redis.stop());
  return redis;
}

/** A standalone Redis for the current test file and an auto-pipelined client of it, both gone after the file. */
export async function useRedisClient(): Promise<Redis> {
  const client = new Redis((await useRedis()).url, { enableAutoPipelining: true });
  stopAfterFile.push(() => Promise.resolve(client.disconnect()));
  return client;
}

/**
 * A fresh CA, server and client certificate for a TLS cluster: written by a `beforeAll` (so call this
 * in a describe body, before the hook that starts the cluster) and deleted after the suite's tests.
 * Hooks registered inside another hook or a test never run, hence no call from a `beforeAll`.
 */
export function useTlsCertificates(): LocalTlsFiles {
  const dir = mkdtempSync(join(tmpdir(), 'slotshift-tls-'));
  beforeAll(() => void createTestCertificates(dir));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return testCertificateFiles(dir);
}
export * from './cli.js';
export * from './traffic.js';
export * from './cluster-checks.js';
export * from './scenario.js';
export * from './manual-failover.js';
export * from './slot-keys.js';
export * from './tls.js';
export * from './wait-for.js';
export * from './tcp-forward.js';
