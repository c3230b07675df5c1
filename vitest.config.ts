import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    globalSetup: ['./vitest.global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Tests spawn real node processes; two cores do not fit more than two files at once.
    maxWorkers: 2,
    pool: 'forks',
  },
});
