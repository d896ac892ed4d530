import { configDefaults, defineConfig } from 'vitest/config';
import SlowFirstSequencer from './test/slow-first-sequencer.js';

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
    // The long scenarios first, so the short files fill in around them (see the sequencer).
    sequence: { sequencer: SlowFirstSequencer },
  },
});
