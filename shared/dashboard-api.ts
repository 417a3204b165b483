// The dashboard's HTTP API (docs/dashboard.md): what the server sends and the page reads. Types
// only, no zod: the page's bundle imports them, and everything here is built by the server itself
// from values it has already checked (reports, rollouts, events).
import type { DesiredAuthor } from './desired-author.js';
import type { HostwrightEvent } from './events.js';
import type { DesiredDiff } from './spec-diff.js';
import type { HostStatus } from './host-status.js';

/** What a project's cell on a host shows, worst first in CELL_STATES. */
export const CELL_STATES = ['rejected', 'crash-loop', 'failed', 'blocked', 'backing-off', 'unhealthy', 'drift', 'removing', 'applying', 'converged'] as const;
export type CellState = (typeof CELL_STATES)[number];

export interface DashboardCell {
  readonly project: string;
  readonly state: CellState;
  readonly revision: number;
  readonly appliedRevision?: number;
  /** A short plain-text reason (what blocks it, which instance drifts, the exit code). */
  readonly detail?: string;
}

/** One reconcile cycle of a host, from its events: when it began, how long its events spanned, how many instances drifted. */
export interface DashboardCycle {
  readonly at: string;
  readonly durationMs: number;
  readonly drift: number;
}

/** One host as `status --json` prints it, with its cordon, drain, cells and recent cycles. */
export interface DashboardHost {
  readonly hostId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly heartbeatAt: string | null;
  readonly stale: boolean;
  readonly reportedAt: string | null;
  readonly outboxDepth: number | null;
  readonly status: HostStatus | null;
  readonly trust: 'verified' | 'unverified' | 'refused';
  readonly refused: readonly { readonly report: 'registration' | 'status'; readonly reason: string }[];
  readonly registered?: boolean;
  /** The agent's labels with the coordinator's (`hosts label`) over them, as placement sees them. */
  readonly effectiveLabels: Readonly<Record<string, string>>;
  readonly cordoned: boolean;
  readonly draining: boolean;
  readonly cells: readonly DashboardCell[];
  readonly cycles: readonly DashboardCycle[];
}

/** A cycle in the fleet view: [start as epoch ms, duration ms, drifting instances]; an array, not an object, to keep 10,000 hosts' worth small. */
export type DashboardCycleTuple = readonly [at: number, durationMs: number, drift: number];

/**
 * One host in the fleet view (GET /api/fleet, /api/live `snapshot` and `hosts`): what the grid,
 * its counts, filters and sparkline need, and nothing of its instances. The whole host is GET
 * /api/hosts/:id.
 */
export interface DashboardHostSummary {
  readonly hostId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly effectiveLabels: Readonly<Record<string, string>>;
  readonly heartbeatAt: string | null;
  readonly stale: boolean;
  readonly trust: 'verified' | 'unverified' | 'refused';
  readonly registered: boolean;
  readonly cordoned: boolean;
  readonly draining: boolean;
  readonly cells: readonly DashboardCell[];
  readonly cycles: readonly DashboardCycleTuple[];
}

/** What one host of a rollout's current wave waits on. */
export interface RolloutGate {
  readonly hostId: string;
  readonly waitingFor: string;
}

export type DashboardRole = 'reader' | 'deployer' | 'admin' | 'unknown';

export interface DashboardSession {
  readonly schema: 'hostwright.dashboard.session/v1';
  /** Who the dashboard reads NATS as: the credential's user name, else the operator's name. */
  readonly user: string;
  readonly role: DashboardRole;
  readonly actionsAllowed: boolean;
  readonly version: string;
}

/** A fleet event as `events --json` prints one. */
export type DashboardEvent = HostwrightEvent & { readonly schema: 'hostwright.event/v1'; readonly trust: 'verified' | 'unverified' };

export interface DashboardProjectHost {
  readonly hostId: string;
  readonly desiredRevision: number | null;
  readonly appliedRevision: number | null;
  readonly author: DesiredAuthor | null;
  readonly state: CellState | null;
}

export interface DashboardProjectChange {
  readonly hostId: string;
  readonly revision: number | null;
  readonly author: DesiredAuthor | null;
  readonly at: string;
  readonly diff: DesiredDiff | null;
}

/** A log line of GET /api/logs (`event: line`). */
export interface DashboardLogLine {
  readonly at: string;
  readonly stream: 'stdout' | 'stderr' | 'marker';
  readonly text: string;
  readonly instance: number;
}
