import Table from 'cli-table3';

/** A borderless, aligned table: readable in a terminal and in a log file. */
export function renderTable(head: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
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
