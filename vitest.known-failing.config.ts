import { defineConfig } from 'vitest/config';

/** The tests `npm test` leaves out because what they check does not work reliably yet. */
export default defineConfig({
  test: {
    include: ['test/known-failing/**/*.test.ts'],
    maxWorkers: 1,
    testTimeout: 180_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Empty when everything that was failing has been fixed.
    passWithNoTests: true,
  },
});
