import { InvalidInputError } from '../../../../shared/errors.js';
import type { HostDesired } from '../../../../shared/host-desired.js';
import { diffDesired, type DesiredDiff } from '../../../../shared/spec-diff.js';
import { latestOf, parseRevision, revisionOf } from '../../../desired-history.js';
import type { StoredDesired } from '../../../fleet-client.js';
import { requireKnownHost } from '../../../known-hosts.js';
import { targetsFor, withFleet } from '../../../fleet-session.js';
import { hasFile, modeOf } from '../../options.js';
import { projectOf } from '../../project-option.js';
import { renderDesiredDiff } from '../../render/history-view.js';
import { printableJson } from '../../render/printable.js';
import { readWorkload } from '../../workload.js';
import type { DiffOptions } from './options.js';

/** One host's side of a diff: a stored revision, the file's document, or nothing (no such document). */
type Side = { readonly revision: number } | { readonly file: true } | { readonly none: true };

interface HostDiffRow {
  readonly hostId: string;
  readonly from: Side;
  readonly to: Side;
  readonly diff: DesiredDiff;
}

/** `diff`: the typed change between two revisions of each host's project, or a revision and a file. */
export async function runDiff(revA: string | undefined, revB: string | undefined, options: DiffOptions): Promise<void> {
  const mode = modeOf(options, 'diff');
  if (mode.kind !== 'fleet') return;
  const withFile = hasFile(options);
  if (withFile && revB !== undefined) throw new InvalidInputError('diff: pass REV_B or -f FILE, not both (the file is the newer side)');
  const from = revA === undefined ? undefined : parseRevision(revA, 'REV_A');
  const to = revB === undefined ? undefined : parseRevision(revB, 'REV_B');
  const fleet = withFile ? (await readWorkload(options)).fleet : undefined;
  if (fleet !== undefined && options.project !== undefined && options.project !== fleet.project) throw new InvalidInputError(`diff: --project ${options.project} is not the project of -f (${fleet.project})`);
  const project = fleet?.project ?? ((await projectOf('diff', options, true)) as string);
  await withFleet(mode, async (client) => {
    if (options.host !== undefined) requireKnownHost('--host', options.host, await client.knownHostIds());
    const histories = await client.desiredHistory(project, options.host);
    const rows: HostDiffRow[] = [];
    if (fleet !== undefined) {
      // The documents this file would write: the same placement as plan and apply.
      const { targets } = await targetsFor(client, fleet, client.newCorrelationID());
      for (const target of targets) {
        if (options.host !== undefined && target.hostId !== options.host) continue;
        const history = histories.get(target.hostId) ?? [];
        const before = from === undefined ? latestOf(history) : revisionOf(target.hostId, project, history, from);
        rows.push({ hostId: target.hostId, from: sideOf(before), to: { file: true }, diff: diffDesired(before, target.document) });
      }
    } else {
      for (const [hostId, history] of histories) rows.push(revisionDiff(hostId, project, history, from, to));
    }
    if (rows.length === 0) throw new InvalidInputError(`no desired state of project ${project}${options.host === undefined ? '' : ` on host ${options.host}`} (see \`hostwright status\`)`);
    process.stdout.write(options.json ? `${printableJson({ schema: 'hostwright.diff/v1', project, hosts: rows }, 2)}\n` : `${rows.map((row) => renderDesiredDiff(`${row.hostId} ${project}: ${sideText(row.from)} -> ${sideText(row.to)}`, row.diff)).join('\n\n')}\n`);
  });
}

/** Between two stored revisions of one host: by default the one before the current, and the current. */
function revisionDiff(hostId: string, project: string, history: readonly StoredDesired[], from: number | undefined, to: number | undefined): HostDiffRow {
  const after = to === undefined ? latestOf(history) : revisionOf(hostId, project, history, to);
  if (after === undefined) throw new InvalidInputError(`${hostId}.${project} holds no document its agent accepts`);
  const before = from === undefined ? previousOf(history, after.revision) : revisionOf(hostId, project, history, from);
  return { hostId, from: sideOf(before), to: sideOf(after), diff: diffDesired(before, after) };
}

function previousOf(history: readonly StoredDesired[], revision: number): HostDesired | undefined {
  return [...history].reverse().find((stored) => stored.document !== undefined && stored.document.revision < revision)?.document;
}

function sideOf(document: HostDesired | undefined): Side {
  return document === undefined ? { none: true } : { revision: document.revision };
}

function sideText(side: Side): string {
  return 'revision' in side ? `r${side.revision}` : 'file' in side ? '-f' : 'nothing';
}
