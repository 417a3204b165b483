import { createRequire } from 'node:module';
import { printable } from './printable.js';

// string-width (the width cli-table3 used) is required on the first cell that is not plain ASCII:
// most tables never load it. It is an ES module: require() returns its namespace.
const requireOnDemand = createRequire(import.meta.url);
const PLAIN_ASCII = /^[\x20-\x7e]*$/;
const COLUMN_GAP = '  ';

/**
 * A borderless table, left-aligned, two spaces between columns, no trailing whitespace: readable in a
 * terminal and in a log file. Each cell is shown printable, so a value can never break the layout.
 * Linear in the number of cells (cli-table3's layout was quadratic in the number of rows).
 */
export function renderTable(head: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const lines = [head, ...rows].map((row) => row.map((cell) => printable(String(cell))));
  const widths: number[] = [];
  const cellWidths = lines.map((cells) =>
    cells.map((cell, column) => {
      const width = displayWidth(cell);
      widths[column] = Math.max(widths[column] ?? 0, width);
      return width;
    }),
  );
  return lines
    .map((cells, line) => cells.map((cell, column) => cell + ' '.repeat((widths[column] as number) - (cellWidths[line]?.[column] as number))).join(COLUMN_GAP).trimEnd())
    .join('\n');
}

/** Terminal columns: CJK and emoji take two. */
function displayWidth(text: string): number {
  if (PLAIN_ASCII.test(text)) return text.length;
  const stringWidth = requireOnDemand('string-width') as { default: (text: string) => number };
  return stringWidth.default(text);
}

export function shortId(id: string | undefined): string {
  return id ? id.slice(0, 12) : '-';
}
