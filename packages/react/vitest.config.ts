import { defineConfig, mergeConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.js';

export default mergeConfig(
  sharedConfig,
  defineConfig({
    test: {
      name: 'react',
      include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
      environment: 'happy-dom',
      testTimeout: 20_000,
      hookTimeout: 30_000,
    },
  }),
);
