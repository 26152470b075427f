import { defineConfig, mergeConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.js';

export default mergeConfig(
  sharedConfig,
  defineConfig({
    test: {
      name: 'platform',
      include: ['test/**/*.test.ts'],
      environment: 'node',
      // PGlite takes seconds to start on a busy machine; one per test file.
      testTimeout: 30_000,
      hookTimeout: 60_000,
    },
  }),
);
