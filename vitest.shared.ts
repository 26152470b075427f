import type { ViteUserConfig } from 'vitest/config';

/**
 * Settings every workspace's vitest project shares: resolve workspace
 * packages to their TypeScript sources (the `@albatross/source` export
 * condition), so tests never need a build first.
 */
export const sharedConfig: ViteUserConfig = {
  resolve: { conditions: ['@albatross/source', 'module', 'node', 'import', 'default'] },
  ssr: { resolve: { conditions: ['@albatross/source', 'node', 'import', 'default'] } },
};
