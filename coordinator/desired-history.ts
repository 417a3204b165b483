import type { DesiredAuthor } from '../shared/desired-author.js';
import type { HostDesired } from '../shared/host-desired.js';
import { diffDesired, summarizeDiff, type DesiredDiff } from '../shared/spec-diff.js';
import { InvalidInputError } from '../shared/errors.js';
import type { StoredDesired } from './fleet-client.js';

/** One revision of a host's project as `history` lists it. */
export interface RevisionRow {
  readonly hostId: string;
  readonly project: string;
  /** The desired revision; null for a value its agent would refuse (damaged, unsigned, another host's). */
  readonly revision: number | null;
  readonly kvRevision: number;
  readonly storedAt: string;
  readonly signedAt: string | null;
  readonly author: DesiredAuthor | null;
  readonly correlationID: string | null;
  /** The rollout that wrote it (by its correlation id), if any. */
  readonly rolloutId: string | null;
  /** Services added, deleted, edited since the revision before it, in one line. */
  readonly summary: string;
  readonly diff: DesiredDiff | null;
}

/**
 * Pure: each stored value of a host's project as a row, with its change from the last good
 * revision before it. `rollouts` maps a rollout's correlation id to its id.
 */
export function revisionRows(hostId: string, project: string, history: readonly StoredDesired[], rollouts: ReadonlyMap<string, string>): RevisionRow[] {
  let previous: HostDesired | undefined;
  return history.map((stored): RevisionRow => {
    const document = stored.document;
    if (document === undefined) {
      return { hostId, project, revision: null, kvRevision: stored.kvRevision, storedAt: stored.storedAt, signedAt: null, author: null, correlationID: null, rolloutId: null, summary: 'refused: not a document its agent accepts', diff: null };
    }
    const diff = diffDesired(previous, document);
    previous = document;
    const correlationID = document.correlationID ?? null;
    return {
      hostId,
      project,
      revision: document.revision,
      kvRevision: stored.kvRevision,
      storedAt: stored.storedAt,
      signedAt: document.signedAt ?? null,
      author: document.author ?? null,
      correlationID,
      rolloutId: correlationID === null ? null : (rollouts.get(correlationID) ?? null),
      summary: Object.keys(document.services).length === 0 ? `removed (${summarizeDiff(diff)})` : summarizeDiff(diff),
      diff,
    };
  });
}

/** A revision as given on the command line: a number, with or without its "r". */
export function parseRevision(text: string, what: string): number {
  const match = /^r?([1-9][0-9]{0,9})$/.exec(text.trim());
  if (!match) throw new InvalidInputError(`${what} ${JSON.stringify(text)}: expected a revision number such as 12 or r12 (see \`hostwright history\`)`);
  return Number(match[1]);
}

/** The last document of a host's history with that revision; the error says which revisions are kept. */
export function revisionOf(hostId: string, project: string, history: readonly StoredDesired[], revision: number): HostDesired {
  const found = [...history].reverse().find((stored) => stored.document?.revision === revision)?.document;
  if (found) return found;
  const kept = history.flatMap((stored) => (stored.document === undefined ? [] : [stored.document.revision]));
  throw new InvalidInputError(`${hostId}.${project} has no revision ${revision} in its history (kept: ${kept.length === 0 ? 'none' : `r${Math.min(...kept)}–r${Math.max(...kept)}`}); see \`hostwright history --project ${project} --host ${hostId}\``);
}

/** The latest good document of a host's history, if any. */
export function latestOf(history: readonly StoredDesired[]): HostDesired | undefined {
  return [...history].reverse().find((stored) => stored.document !== undefined)?.document;
}
