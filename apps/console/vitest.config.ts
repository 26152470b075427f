import react from '@vitejs/plugin-react';
import { defineConfig, mergeConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.js';

export default mergeConfig(
  sharedConfig,
  defineConfig({
    plugins: [react()],
    test: {
      name: 'console',
      include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
      environment: 'happy-dom',
      setupFiles: ['test/setup.ts'],
      testTimeout: 20_000,
      hookTimeout: 60_000,
    },
  }),
);
