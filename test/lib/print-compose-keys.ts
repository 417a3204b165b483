import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { composeKeysMarkdown } from '../../coordinator/compose/compose-keys.js';

// Writes the table of compose keys (generated from coordinator/compose/compose-keys.ts) into
// docs/fleet-file.md between its markers: `node dist/test/lib/print-compose-keys.js`.
const readme = fileURLToPath(new URL('../../../docs/fleet-file.md', import.meta.url));
const text = readFileSync(readme, 'utf8');
const start = '<!-- compose-keys:start -->';
const end = '<!-- compose-keys:end -->';
const from = text.indexOf(start);
const to = text.indexOf(end);
if (from < 0 || to < from) throw new Error(`docs/fleet-file.md has no ${start} … ${end} markers`);
writeFileSync(readme, `${text.slice(0, from + start.length)}\n${composeKeysMarkdown()}\n${text.slice(to)}`);
