import type TableConstructor from 'cli-table3';
import { createRequire } from 'node:module';

// cli-table3 costs ~30 ms to load: it is required on the first table, so that commands which print
// none (an unchanged `apply --local`, `--json`) never load it.
const requireOnDemand = createRequire(import.meta.url);

/** A borderless, aligned table: readable in a terminal and in a log file. */
export function renderTable(head: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const Table = requireOnDemand('cli-table3') as typeof TableConstructor;
  const table = new Table({
    head: [...head],
    chars: { top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ' },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  for (const row of rows) table.push(row.map(String));
  return table.toString().split('\n').map((line) => line.trimEnd()).join('\n');
}

export function shortId(id: string | undefined): string {
  return id ? id.slice(0, 12) : '-';
}
