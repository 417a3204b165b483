import { compareStrings } from '../../shared/compare.js';
import type { DashboardHostSummary, DashboardProjectChange, DashboardProjectHost } from '../../shared/dashboard-api.js';
import { hostIdSchema, nameSchema } from '../../shared/fleet-spec.js';
import { maskServices } from '../../shared/secret-env.js';
import { revisionRows } from '../desired-history.js';
import type { StoredDesired } from '../fleet-client.js';
import type { RolloutState } from '../rollout/rollout-state.js';

/** GET /api/projects/:project. */
export interface ProjectView {
  readonly schema: 'hostwright.dashboard.project/v1';
  readonly project: string;
  readonly hosts: DashboardProjectHost[];
  readonly history: DashboardProjectChange[];
}

/** Pure: whether the text can be a project name (or a host id): anything else names nothing. */
export function isProjectName(text: string): boolean {
  return nameSchema.safeParse(text).success;
}

export function isHostId(text: string): boolean {
  return hostIdSchema.safeParse(text).success;
}

/**
 * Pure: a project across hosts: each host's desired revision and its author (from the desired
 * bucket's history), what the host applied and its cell state (from the model), and the typed diff
 * of each host's last change (coordinator/desired-history.ts), with secret values masked.
 */
export function projectView(project: string, histories: ReadonlyMap<string, readonly StoredDesired[]>, hostOf: (hostId: string) => DashboardHostSummary | undefined, rollouts: readonly RolloutState[]): ProjectView {
  const byCorrelation = new Map(rollouts.filter((rollout) => rollout.project === project).map((rollout) => [rollout.correlationID, rollout.id]));
  const hosts: DashboardProjectHost[] = [];
  const history: DashboardProjectChange[] = [];
  for (const [hostId, stored] of [...histories].sort(([a], [b]) => compareStrings(a, b))) {
    const masked = stored.map((value): StoredDesired => (value.document ? { ...value, document: maskServices(value.document) } : value));
    const rows = revisionRows(hostId, project, masked, byCorrelation);
    const last = rows.at(-1);
    const good = [...rows].reverse().find((row) => row.revision !== null);
    const cell = hostOf(hostId)?.cells.find((entry) => entry.project === project);
    hosts.push({
      hostId,
      desiredRevision: good?.revision ?? null,
      appliedRevision: cell?.appliedRevision ?? null,
      author: good?.author ?? null,
      state: cell?.state ?? null,
    });
    if (last) history.push({ hostId, revision: last.revision, author: last.author, at: last.storedAt, diff: last.diff });
  }
  return { schema: 'hostwright.dashboard.project/v1', project, hosts, history };
}
