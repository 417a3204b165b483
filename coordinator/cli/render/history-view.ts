import { describeAuthor } from '../../../shared/desired-author.js';
import { describeFieldChange, type DesiredDiff } from '../../../shared/spec-diff.js';
import type { RevisionRow } from '../../desired-history.js';
import { printable } from './printable.js';
import { renderTable } from './table.js';

/** `history`: one row per stored revision, oldest first; every cell shown printable. */
export function renderHistory(project: string, rows: readonly RevisionRow[]): string {
  const table = renderTable(
    ['HOST', 'REV', 'STORED', 'BY', 'CORRELATION', 'ROLLOUT', 'CHANGE'],
    rows.map((row) => [row.hostId, row.revision === null ? '?' : `r${row.revision}`, row.storedAt.replace(/\.\d+Z$/, 'Z'), row.author === null ? '-' : describeAuthor(row.author), row.correlationID?.slice(0, 8) ?? '-', row.rolloutId ?? '-', row.summary]),
  );
  return `History of ${printable(project)} (${rows.length} revision${rows.length === 1 ? '' : 's'}; \`hostwright diff --project ${printable(project)} --host H A B\` shows one change field by field)\n\n${table}`;
}

/** One host's typed diff between two revisions (or a revision and a file), Nomad plan style; every part shown printable. */
export function renderDesiredDiff(heading: string, diff: DesiredDiff): string {
  const lines = [printable(heading)];
  if (diff.services.length === 0 && diff.fields.length === 0) lines.push('  no change');
  for (const service of diff.services) {
    const mark = service.type === 'added' ? '+' : service.type === 'deleted' ? '-' : '~';
    const note = service.type === 'added' ? ' (new containers)' : service.type === 'deleted' ? ' (containers removed)' : service.forces ? ' (forces replacement)' : ' (in place: no container replaced)';
    lines.push(`${mark} service ${printable(service.service)}${note}`);
    for (const change of service.fields) lines.push(`    ${printable(describeFieldChange(service.type === 'edited' ? change : { ...change, forces: false }))}`);
  }
  if (diff.fields.length > 0) {
    lines.push('~ project');
    for (const change of diff.fields) lines.push(`    ${printable(describeFieldChange(change))}`);
  }
  return lines.join('\n');
}
