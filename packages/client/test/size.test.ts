import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { expect, it } from 'vitest';

it('stays under 8 KB minified and gzipped, with no dependency beyond @albatross/protocol', async () => {
  const result = await build({
    entryPoints: [new URL('../src/index.ts', import.meta.url).pathname],
    bundle: true,
    minify: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    conditions: ['@albatross/source'],
    metafile: true,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]?.contents ?? new Uint8Array();
  expect(gzipSync(code, { level: 9 }).length).toBeLessThan(8 * 1024);
  const inputs = Object.keys(result.metafile.inputs);
  expect(inputs.every((input) => /(^|\/)(client|protocol)\/src\/|^src\//.test(input))).toBe(true);
  expect(inputs.some((input) => input.includes('validate'))).toBe(false); // never the zod validator
});
