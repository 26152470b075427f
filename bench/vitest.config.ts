import { defineConfig, mergeConfig } from 'vitest/config';
import { sharedConfig } from '../vitest.shared.js';

// Unit tests of the load generator's scanner, the statistics and the
// saturation search. The benchmark itself never runs under vitest.
export default mergeConfig(
  sharedConfig,
  defineConfig({
    test: {
      name: 'bench',
      include: ['src/**/*.test.ts'],
      environment: 'node',
      testTimeout: 20_000,
      hookTimeout: 30_000,
    },
  }),
);
