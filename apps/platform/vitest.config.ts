import { defineConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.js';

export default defineConfig({
  ...sharedConfig,
  // Not the shared `import` condition: vitest hands the conditions to Node,
  // and `pg` require()s `pg-pool`, whose `import` entry is an ES module.
  ssr: { resolve: { conditions: ['@albatross/source', 'node', 'default'] } },
  test: {
    name: 'platform',
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Embedded PostgreSQL (PGlite) takes seconds to start on a busy machine; one per test file.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
