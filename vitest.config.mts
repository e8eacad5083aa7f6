import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: suites that start redis-server or Chromium must not all run at once.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
