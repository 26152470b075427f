import { defineConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.js';

export default defineConfig({
  ...sharedConfig,
  // Not the shared `import` condition: vitest hands the conditions to Node,
  // and `pg` require()s `pg-pool`, whose `import` entry is an ES module.
  ssr: { resolve: { conditions: ['@albatross/source', 'node', 'default'] } },
  test: {
    name: 'cqrs',
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // The bounded-memory test collects garbage before it measures the heap.
    execArgv: ['--expose-gc'],
    // Embedded PostgreSQL (PGlite) takes seconds to start on a busy machine.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
