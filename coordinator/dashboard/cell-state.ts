import type { CellState, DashboardCell } from '../../shared/dashboard-api.js';
import type { ProjectStatus } from '../../shared/host-status.js';
import { conditionSummary } from '../../shared/instance-condition.js';

/** Longest detail a cell carries: the host view shows the whole status. */
const MAX_DETAIL = 200;

/**
 * Pure: what one project's cell on a host shows, the worst that holds first: rejected > crash-loop
 * > failed > blocked > backing-off > unhealthy > drift > removing > applying > converged; with a
 * short plain-text reason.
 */
export function classifyCell(project: ProjectStatus): DashboardCell {
  const { state, detail } = stateOf(project);
  return {
    project: project.project,
    state,
    revision: project.desiredRevision,
    ...(project.appliedRevision === undefined ? {} : { appliedRevision: project.appliedRevision }),
    ...(detail === undefined ? {} : { detail: detail.length > MAX_DETAIL ? `${detail.slice(0, MAX_DETAIL - 1)}…` : detail }),
  };
}

function stateOf(project: ProjectStatus): { state: CellState; detail?: string } {
  if (project.rejected) return { state: 'rejected', detail: `revision ${project.rejected.revision} rejected: ${project.rejected.reason}` };
  const conditions = (kind: 'crashloop' | 'failed') => project.instances.flatMap((instance) => (instance.condition?.kind === kind ? [`${instance.name} ${conditionSummary(instance.condition)}`] : []));
  const crashing = conditions('crashloop');
  if (crashing.length > 0) return { state: 'crash-loop', detail: crashing.join('; ') };
  const failed = conditions('failed');
  if (failed.length > 0) return { state: 'failed', detail: failed.join('; ') };
  if (project.blocked.length > 0) return { state: 'blocked', detail: project.blocked.map((block) => block.message).join('; ') };
  if (project.backoff) return { state: 'backing-off', detail: `attempt ${project.backoff.attempts} failed (${project.backoff.reason}); next at ${project.backoff.retryAt}` };
  const unhealthy = project.instances.filter((instance) => instance.health === 'unhealthy').map((instance) => instance.name);
  if (unhealthy.length > 0) return { state: 'unhealthy', detail: `${unhealthy.join(', ')} unhealthy` };
  const drifting = project.instances.flatMap((instance) => (instance.drift.length > 0 ? [`${instance.name}: ${instance.drift.join(', ')}`] : []));
  if (drifting.length > 0) return { state: 'drift', detail: drifting.join('; ') };
  if (project.removed === true) return { state: 'removing', ...(project.converged ? {} : { detail: `${project.instances.length} instance(s) left` }) };
  if (!project.converged || project.pendingActions > 0 || project.appliedRevision !== project.desiredRevision) {
    return { state: 'applying', detail: project.pendingActions > 0 ? `${project.pendingActions} action(s) pending` : `revision ${project.desiredRevision} not applied yet` };
  }
  return { state: 'converged' };
}

/** Pure: the number of drifting instances of a host's projects. */
export function driftingInstances(projects: readonly ProjectStatus[]): number {
  return projects.reduce((count, project) => count + project.instances.filter((instance) => instance.drift.length > 0).length, 0);
}

/** A drift event the agent sent (`drift_detected`): when, and what it said. */
export interface DriftSeen {
  readonly at: string;
  readonly message: string;
}

/**
 * How long a drift event shows at least. An agent repairs a removed container within the cycle that
 * saw it and reports its status after the repair: without this the page would never see the drift.
 */
export const DRIFT_SHOWN_MS = 5_000;

/** Pure: the cell with drift the agent told of; a worse state stays. */
export function withDriftSeen(cell: DashboardCell, drift: DriftSeen | undefined): DashboardCell {
  if (drift === undefined || (cell.state !== 'converged' && cell.state !== 'applying')) return cell;
  return { ...cell, state: 'drift', detail: drift.message.slice(0, MAX_DETAIL) };
}

/** Pure: a drift event is shown until DRIFT_SHOWN_MS passed and a status observed after it came. */
export function driftStillShown(drift: DriftSeen, observedAt: string | undefined, now: number): boolean {
  const at = Date.parse(drift.at);
  return now - at < DRIFT_SHOWN_MS || observedAt === undefined || Date.parse(observedAt) < at;
}
