// Regenerates the settings table in docs/operations.md from the server's settings list.
import { readFileSync, writeFileSync } from 'node:fs';
import { withSettingsTable } from '../packages/server/src/config/settings-doc.js';

const path = new URL('../docs/operations.md', import.meta.url);
writeFileSync(path, withSettingsTable(readFileSync(path, 'utf8')));
