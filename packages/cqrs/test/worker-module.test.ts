import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { projectionsModuleUrl } from '../src/index.js';

describe('--projections module resolution', () => {
  it('imports package specifiers as packages and everything else as files', () => {
    expect(projectionsModuleUrl('@albatross/platform/projections')).toBe('@albatross/platform/projections');
    expect(projectionsModuleUrl('some-package')).toBe('some-package');
    expect(projectionsModuleUrl('./fixtures/projections.ts')).toMatch(/^file:\/\/.*\/fixtures\/projections\.ts$/);
    const absolute = fileURLToPath(new URL('./fixtures/projections.ts', import.meta.url));
    expect(projectionsModuleUrl(absolute)).toBe(new URL('./fixtures/projections.ts', import.meta.url).href);
  });

  it('prefers an existing file over a package of the same name', () => {
    // `package.json` exists in the working directory: a file path, not a package.
    expect(projectionsModuleUrl('package.json')).toMatch(/^file:\/\/.*\/package\.json$/);
  });
});
