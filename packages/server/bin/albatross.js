#!/usr/bin/env node
// Thin launcher so `npx albatross` works once the package is built (`npm run build`).
import('../dist/cli/main.js').catch((error) => {
  process.stderr.write(`albatross: cannot start (did you run \`npm run build\`?): ${error?.message ?? error}\n`);
  process.exit(1);
});
