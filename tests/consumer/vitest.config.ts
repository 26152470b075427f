import { defineConfig } from 'vitest/config';

// The consumer smoke test: the packages as a user gets them (packed, installed
// from tarballs into a fresh app outside the workspace), not their sources.
export default defineConfig({
  test: {
    name: 'consumer',
    include: ['*.test.ts'],
    environment: 'node',
    // Packing builds every package and the app installs from the registry:
    // generous bounds, so a busy machine or a slow mirror does not fail it.
    testTimeout: 8 * 60_000,
    hookTimeout: 10 * 60_000,
  },
});
