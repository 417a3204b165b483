import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CLI } from './cli.js';

// Writes every command's --help (the hidden `hostwright __reference`) into docs/cli.md between its
// markers: `node dist/test/lib/print-cli-reference.js` after a command or an option changed.
export const CLI_REFERENCE_START = '<!-- cli-reference:start -->';
export const CLI_REFERENCE_END = '<!-- cli-reference:end -->';
export const CLI_PAGE = fileURLToPath(new URL('../../../docs/cli.md', import.meta.url));

/** The reference as the built CLI prints it. */
export function cliReferenceText(): string {
  const printed = spawnSync(process.execPath, [CLI, '__reference'], { encoding: 'utf8' });
  if (printed.status !== 0) throw new Error(`hostwright __reference: ${printed.stderr}`);
  return printed.stdout.trim();
}

/** What docs/cli.md holds between its markers. */
export function cliReferenceInPage(text: string): string | undefined {
  const from = text.indexOf(CLI_REFERENCE_START);
  const to = text.indexOf(CLI_REFERENCE_END);
  return from < 0 || to < from ? undefined : text.slice(from + CLI_REFERENCE_START.length, to).trim();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = readFileSync(CLI_PAGE, 'utf8');
  const from = text.indexOf(CLI_REFERENCE_START);
  const to = text.indexOf(CLI_REFERENCE_END);
  if (from < 0 || to < from) throw new Error(`docs/cli.md has no ${CLI_REFERENCE_START} … ${CLI_REFERENCE_END} markers`);
  writeFileSync(CLI_PAGE, `${text.slice(0, from + CLI_REFERENCE_START.length)}\n${cliReferenceText()}\n${text.slice(to)}`);
}
