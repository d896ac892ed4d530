import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests of behaviour that does not work reliably yet (see their header); `npm run test:known-failing`.
    exclude: [...configDefaults.exclude, 'test/known-failing/**'],
    // Integration tests each start real redis-server clusters; two cores cannot run many at once.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
