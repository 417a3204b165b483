/**
 * The dashboard's wire shapes as its page reads them (the contract of `hostwright dashboard`).
 * Declared here rather than imported from shared/: the page is type-checked without Node's types
 * and bundled without zod. test/unit/dashboard-page.test.ts proves the shared types assignable to
 * these, so a field renamed there fails the build. The server's JSON may hold more fields.
 */

export type DriftKindView = 'missing' | 'stopped' | 'modified' | 'unhealthy';

export interface InstanceConditionView {
  readonly kind: 'crashloop' | 'failed';
  readonly exitCode?: number | undefined;
  readonly oomKilled: boolean;
  readonly restartCount: number;
  readonly lastLines: readonly string[];
  readonly since: string;
}

/** An instance as shared/host-status.ts reports it. */
export interface InstanceView {
  readonly name: string;
  readonly service: string;
  readonly instance: number;
  readonly state: string;
  readonly health: string;
  readonly restartCount?: number | undefined;
  readonly imageId?: string | undefined;
  readonly imageDigest?: string | undefined;
  readonly drift: readonly DriftKindView[];
  readonly condition?: InstanceConditionView | undefined;
}

/** A project of a host's status (shared/host-status.ts). */
export interface ProjectStatusView {
  readonly project: string;
  readonly desiredRevision: number;
  readonly appliedRevision?: number | undefined;
  readonly converged: boolean;
  readonly instances: readonly InstanceView[];
  readonly blocked: readonly { readonly gate: string; readonly message: string }[];
  readonly rejected?: { readonly revision: number; readonly reason: string; readonly lift?: string | undefined } | undefined;
}

export interface HostStatusView {
  readonly projects: readonly ProjectStatusView[];
}

/** A fleet event as `hostwright events --json` prints it (shared/events.ts). */
export interface EventView {
  readonly id: string;
  readonly type: string;
  readonly severity: 'info' | 'warning' | 'error';
  readonly hostId: string;
  readonly project: string;
  readonly service?: string | undefined;
  readonly instance?: number | undefined;
  readonly message: string;
  readonly timestamp: string;
  readonly correlationID: string;
}

/** What a host × project cell shows, in the server's order of precedence (rejected first). */
export const CELL_STATES = ['rejected', 'crash-loop', 'failed', 'blocked', 'backing-off', 'unhealthy', 'drift', 'removing', 'applying', 'converged'] as const;
export type CellState = (typeof CELL_STATES)[number];

export interface DashboardCell {
  readonly project: string;
  readonly state: CellState;
  readonly revision: number;
  readonly appliedRevision?: number;
  readonly detail?: string;
}

/** One reconcile cycle of a host: what its sparkline draws. */
export interface HostCycle {
  readonly at: string;
  readonly durationMs: number;
  /** Drifting instances the cycle found. */
  readonly drift: number;
}

/** One host as `status --json` prints it, plus its cordon, drain, cells and last cycles. */
export interface DashboardHost {
  readonly hostId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly heartbeatAt: string | null;
  readonly stale: boolean;
  readonly reportedAt: string | null;
  readonly status: HostStatusView | null;
  readonly trust: 'verified' | 'unverified' | 'refused';
  readonly refused: readonly { readonly report: string; readonly reason: string }[];
  readonly registered?: boolean;
  readonly cordoned: boolean;
  readonly draining: boolean;
  readonly cells: readonly DashboardCell[];
  readonly cycles: readonly HostCycle[];
}

/** A cycle in the fleet view: [start as epoch ms, duration ms, drifting instances]. */
export type HostCycleTuple = readonly [at: number, durationMs: number, drift: number];

/** One host in the fleet view: no instances; GET /api/hosts/:id has the whole host. */
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
  readonly cycles: readonly HostCycleTuple[];
}

export type RolloutHostState = 'pending' | 'applying' | 'healthy' | 'failed' | 'skipped' | 'rolling-back' | 'rolled-back';

export interface RolloutHostView {
  readonly hostId: string;
  readonly wave: number;
  readonly state: RolloutHostState;
  readonly writtenRevision?: number;
  readonly startedAt?: string;
  readonly healthySince?: string;
  readonly finishedAt?: string;
  readonly message?: string;
}

/** A rollout as `rollout status --json` prints it, plus what each host of the current wave waits on. */
export interface RolloutView {
  readonly id: string;
  readonly project: string;
  readonly correlationID: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly waves: readonly (readonly string[])[];
  readonly currentWave: number;
  readonly status: 'running' | 'paused' | 'rolling-back' | 'succeeded' | 'failed' | 'rolled-back' | 'aborted';
  readonly reason?: string;
  readonly hosts: readonly RolloutHostView[];
  readonly gate: readonly { readonly hostId: string; readonly waitingFor: string }[];
}

export interface FleetSnapshot {
  readonly schema: string;
  readonly at: string;
  readonly staleAfterMs: number;
  readonly hosts: readonly DashboardHostSummary[];
  readonly rollouts: readonly RolloutView[];
}

/** `event: hosts` of /api/live: hosts changed or added, and the ids of hosts gone. */
export interface HostsChange {
  readonly hosts: readonly DashboardHostSummary[];
  readonly removed: readonly string[];
}

export interface DashboardSession {
  readonly user: string;
  readonly role: 'reader' | 'deployer' | 'admin' | 'unknown';
  readonly actionsAllowed: boolean;
  readonly version: string;
}

/** The last `planned` event of each of a host's projects. */
export interface LastPlanEntry {
  readonly at: string;
  readonly project: string;
  readonly message: string;
  readonly correlationID: string;
}

export interface HostDetail {
  readonly host: DashboardHost;
  readonly events: readonly EventView[];
  readonly lastPlan: readonly LastPlanEntry[] | null;
}

/** Who wrote a revision (shared/desired-author.ts). */
export interface AuthorView {
  readonly key: string;
  readonly natsUser?: string | undefined;
  readonly name?: string | undefined;
}

/** A project on one host; null: not known (no desired state or no status of it there). */
export interface ProjectHostRevision {
  readonly hostId: string;
  readonly desiredRevision: number | null;
  readonly appliedRevision: number | null;
  readonly author: AuthorView | null;
  readonly state: string | null;
}

export interface FieldChangeView {
  readonly field: string;
  readonly type: 'added' | 'deleted' | 'edited';
  readonly old: unknown;
  readonly new: unknown;
  readonly forces: boolean;
}

export interface DesiredDiffView {
  readonly services: readonly { readonly service: string; readonly type: 'added' | 'deleted' | 'edited'; readonly forces: boolean; readonly fields: readonly FieldChangeView[] }[];
  readonly fields: readonly FieldChangeView[];
}

export interface ProjectDetail {
  readonly project: string;
  readonly hosts: readonly ProjectHostRevision[];
  readonly history: readonly { readonly hostId: string; readonly revision: number | null; readonly author: AuthorView | null; readonly at: string; readonly diff: DesiredDiffView | null }[];
}

/** `event: line` of /api/logs. */
export interface LogLine {
  readonly at: string;
  readonly stream: string;
  readonly text: string;
  readonly instance: string | number;
}
