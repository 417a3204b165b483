import { CELL_STATES, type CellState, type DashboardHostSummary, type HostsChange } from './dashboard-types.js';
import { compareStrings } from '../../../shared/compare.js';

/**
 * A host with what the fleet grid filters and counts on, derived once when the host changes: a
 * filter over 10,000 rows then compares strings and looks up sets, nothing more.
 */
export interface HostRow {
  readonly host: DashboardHostSummary;
  readonly hostId: string;
  /** The host id in lower case, for the substring filter. */
  readonly searchId: string;
  /** "key=value" of every label. */
  readonly labelPairs: ReadonlySet<string>;
  readonly labelKeys: ReadonlySet<string>;
  /** Each project's cell state. */
  readonly stateByProject: ReadonlyMap<string, CellState>;
  /** Every state the host shows: its cells' states plus stale, cordoned, draining, refused. */
  readonly states: ReadonlySet<string>;
}

/** Host-level markers the state filter offers beside the cell states. */
export const HOST_MARKERS = ['stale', 'cordoned', 'draining', 'refused'] as const;

export function hostRow(host: DashboardHostSummary): HostRow {
  const stateByProject = new Map(host.cells.map((cell) => [cell.project, cell.state]));
  const states = new Set<string>(stateByProject.values());
  if (host.stale) states.add('stale');
  if (host.cordoned) states.add('cordoned');
  if (host.draining) states.add('draining');
  if (host.trust === 'refused') states.add('refused');
  const labels = Object.entries(host.labels);
  return {
    host,
    hostId: host.hostId,
    searchId: host.hostId.toLowerCase(),
    labelPairs: new Set(labels.map(([key, value]) => `${key}=${value}`)),
    labelKeys: new Set(labels.map(([key]) => key)),
    stateByProject,
    states,
  };
}

/** The rows of a snapshot's hosts, sorted by host id. */
export function fleetRows(hosts: readonly DashboardHostSummary[]): HostRow[] {
  return hosts.map(hostRow).sort((a, b) => compareStrings(a.hostId, b.hostId));
}

/**
 * The rows after one `hosts` message of /api/live: changed hosts replaced, new ones added in
 * order, removed ones dropped. Rows of unchanged hosts are kept as they are (not derived again).
 */
export function applyHostsChange(rows: readonly HostRow[], change: HostsChange): HostRow[] {
  const changed = new Map(change.hosts.map((host) => [host.hostId, host]));
  const removed = new Set(change.removed);
  const next: HostRow[] = [];
  for (const row of rows) {
    if (removed.has(row.hostId)) continue;
    const host = changed.get(row.hostId);
    next.push(host ? hostRow(host) : row);
    changed.delete(row.hostId);
  }
  if (changed.size === 0) return next;
  for (const host of changed.values()) if (!removed.has(host.hostId)) next.push(hostRow(host));
  return next.sort((a, b) => compareStrings(a.hostId, b.hostId));
}

export type CountKey = CellState | 'stale' | 'cordoned' | 'hosts';
export const COUNT_KEYS: readonly CountKey[] = [...CELL_STATES, 'stale', 'cordoned', 'hosts'];

/**
 * Cells in each state (hosts × projects) and hosts stale, cordoned and in all. A stale host's cells
 * are only what it last said: they count under stale hosts, not as converged or any other state.
 */
export function fleetCounts(rows: readonly HostRow[]): Record<CountKey, number> {
  const counts = Object.fromEntries(COUNT_KEYS.map((key) => [key, 0])) as Record<CountKey, number>;
  for (const row of rows) {
    counts.hosts += 1;
    if (row.host.cordoned) counts.cordoned += 1;
    if (row.host.stale) {
      counts.stale += 1;
      continue;
    }
    for (const state of row.stateByProject.values()) counts[state] += 1;
  }
  return counts;
}

/** Every project some host has a cell of, sorted: the project filter's choices. */
export function fleetProjects(rows: readonly HostRow[]): string[] {
  const projects = new Set<string>();
  for (const row of rows) for (const project of row.stateByProject.keys()) projects.add(project);
  return [...projects].sort(compareStrings);
}
