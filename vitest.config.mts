import { defineConfig } from 'vitest/config';

export default defineConfig({
  // graphql ships CommonJS and ESM copies; mercurius and graphql-ws load the CommonJS one, so ours must too
  // (a schema built by one copy is refused by the other). Node and the built app resolve it so already.
  resolve: { alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }] },
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
