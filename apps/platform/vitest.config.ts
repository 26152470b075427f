import { defineConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.js';

export default defineConfig({
  ...sharedConfig,
  // As in packages/cqrs: not the shared `import` condition (mergeConfig would
  // keep it), since `pg` require()s `pg-pool`, whose `import` entry is an ES module.
  ssr: { resolve: { conditions: ['@albatross/source', 'node', 'default'] } },
  test: {
    name: 'platform',
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // PGlite takes seconds to start on a busy machine; one per test file.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
