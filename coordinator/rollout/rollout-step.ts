import { compareStrings } from '../../shared/compare.js';
import { isStaleHost, type Heartbeat } from '../heartbeat-age.js';
import { hasHealthcheck } from '../../shared/fleet-spec.js';
import { runsOnce } from '../../shared/restart-policy.js';
import type { HostDesired } from '../../shared/host-desired.js';
import type { InstanceStatus } from '../../shared/host-status.js';
import type { StatusReport } from '../../shared/wire.js';
import { conditionsDetail } from '../../shared/instance-condition.js';
import { TERMINAL_HOST_STATES, type RolloutHost, type RolloutOptions, type RolloutState } from './rollout-state.js';

/** What the driver knows about a host right now. */
export interface HostObservation {
  /** undefined when the host has no report, or its report was refused. */
  readonly report: StatusReport | undefined;
  /** Why the host's status report was refused (shared/host-report.ts); it counts for nothing. */
  readonly refusedReport?: string | undefined;
  /** undefined when the host never registered. */
  readonly heartbeat: Heartbeat | undefined;
}

/** A document the driver must write (with compare-and-set, at the next revision) for a host. */
export interface RolloutWrite {
  readonly hostId: string;
  readonly document: HostDesired;
}

export interface RolloutStep {
  readonly state: RolloutState;
  readonly writes: readonly RolloutWrite[];
}

/**
 * Canaries first, then batches of maxParallel, in host order; the hosts in `last` (those that give
 * instances of moved services) in waves after every other host's, so that they go once the others are healthy.
 */
export function planWaves(hostIds: readonly string[], canary: number, maxParallel: number, last: ReadonlySet<string> = new Set()): string[][] {
  const sorted = [...hostIds].filter((hostId) => !last.has(hostId)).sort();
  const giving = [...hostIds].filter((hostId) => last.has(hostId)).sort();
  const waves: string[][] = [];
  if (canary > 0 && sorted.length > 0) waves.push(sorted.splice(0, canary));
  while (sorted.length > 0) waves.push(sorted.splice(0, maxParallel));
  if (canary > 0 && waves.length === 0 && giving.length > 0) waves.push(giving.splice(0, canary));
  while (giving.length > 0) waves.push(giving.splice(0, maxParallel));
  return waves;
}

export interface RolloutStart {
  readonly id: string;
  readonly project: string;
  readonly correlationID: string;
  readonly now: Date;
  readonly options: RolloutOptions;
  readonly targets: readonly { readonly hostId: string; readonly target: HostDesired; readonly previous: HostDesired | null; readonly after?: readonly string[] }[];
}

export function startRollout(start: RolloutStart): RolloutState {
  const giving = new Set(start.targets.flatMap((t) => (t.after !== undefined && t.after.length > 0 ? [t.hostId] : [])));
  const waves = planWaves(start.targets.map((t) => t.hostId), start.options.canary, start.options.maxParallel, giving);
  const waveOf = new Map(waves.flatMap((wave, index) => wave.map((hostId): [string, number] => [hostId, index])));
  const at = start.now.toISOString();
  return {
    schema: 'hostwright.rollout/v1',
    id: start.id,
    project: start.project,
    correlationID: start.correlationID,
    createdAt: at,
    updatedAt: at,
    options: start.options,
    waves,
    currentWave: 0,
    status: waves.length === 0 ? 'succeeded' : 'running',
    ...(waves.length === 0 ? { reason: 'no host needs a change' } : {}),
    hosts: [...start.targets].sort((a, b) => compareStrings(a.hostId, b.hostId)).map((t) => ({ hostId: t.hostId, wave: waveOf.get(t.hostId) ?? 0, state: 'pending' as const, previous: t.previous, target: t.target, ...(giving.has(t.hostId) ? { after: [...(t.after ?? [])].sort(compareStrings) } : {}) })),
  };
}

/**
 * Pure: one step of the rollout state machine. Moves hosts of the current wave forward from their
 * observed status, gates the wave on convergence plus health held for minHealthy, counts failures,
 * and pauses or rolls back past maxFailures. Returns the documents the driver must write.
 */
export function advanceRollout(state: RolloutState, observe: (hostId: string) => HostObservation, now: Date): RolloutStep {
  if (state.status !== 'running' && state.status !== 'rolling-back') return { state, writes: [] };
  const at = now.toISOString();
  const writes: RolloutWrite[] = [];
  const hosts = state.hosts.map((host): RolloutHost => {
    if (state.status === 'running' && host.state === 'failed' && missedOnlyItsDeadline(host)) return lateArrival(host, observe(host.hostId), state.options, now);
    const inPlay = state.status === 'rolling-back' ? host.state === 'rolling-back' : host.wave === state.currentWave;
    if (!inPlay) return host;
    const observation = observe(host.hostId);
    if (host.state === 'pending') {
      // Make before break: a giving host whose receiving host did not get healthy keeps its instances.
      const notTaken = state.hosts.filter((other) => host.after?.includes(other.hostId) === true && other.state !== 'healthy');
      if (notTaken.length > 0) return { ...host, state: 'skipped', finishedAt: at, message: `not written, it keeps its instances of the moved services: ${notTaken.map((other) => `${other.hostId} is ${other.state}${other.message === undefined ? '' : ` (${other.message})`}`).join('; ')}` };
      if (isOffline(observation, now)) {
        if (state.options.skipOffline) return { ...host, state: 'skipped', finishedAt: at, message: 'offline when its wave came (--skip-offline)' };
        // Nothing is written to an offline host: should it never come back in time, it keeps what it ran.
        const since = host.startedAt ?? at;
        if (now.getTime() - Date.parse(since) > state.options.healthyDeadlineMs) return { ...host, state: 'failed', startedAt: since, finishedAt: at, message: 'offline: no heartbeat until the deadline (nothing was written to it)' };
        return { ...host, startedAt: since, message: 'waiting for the host to come online' };
      }
      writes.push({ hostId: host.hostId, document: host.target });
      // The deadline runs from the wave's start, also for a host that came online late.
      return { ...host, state: 'applying', startedAt: host.startedAt ?? at, writtenRevision: undefined, healthySince: undefined, message: undefined };
    }
    if (host.state !== 'applying' && host.state !== 'rolling-back') return host;
    const document = host.state === 'applying' ? host.target : rollbackDocument(host);
    if (host.writtenRevision === undefined) {
      // Written by a driver that stopped before recording it, or not yet: (re)write; the driver is idempotent by content.
      writes.push({ hostId: host.hostId, document });
      return host;
    }
    return judge(host, document, observation, state.options, now);
  });

  let next: RolloutState = { ...state, hosts, updatedAt: at };
  if (state.status === 'rolling-back') {
    if (hosts.every((host) => host.state !== 'rolling-back')) {
      const stuck = hosts.filter((host) => host.message?.startsWith('rollback failed'));
      next = { ...next, status: stuck.length > 0 ? 'failed' : 'rolled-back', reason: stuck.length > 0 ? `rollback did not converge on ${stuck.map((h) => h.hostId).join(', ')}` : next.reason };
    }
    return { state: next, writes };
  }

  const wave = hosts.filter((host) => host.wave === state.currentWave);
  if (!wave.every((host) => TERMINAL_HOST_STATES.includes(host.state))) return { state: next, writes };
  const failed = hosts.filter((host) => host.state === 'failed');
  if (failed.length > state.options.maxFailures) {
    const reason = `${failed.length} host(s) failed (${failed.map((h) => `${h.hostId}: ${h.message ?? 'failed'}`).join('; ')}); more than --max-failures ${state.options.maxFailures}`;
    if (state.options.onFailure === 'pause') return { state: { ...next, status: 'paused', reason }, writes };
    return startRollback({ ...next, reason }, now, writes);
  }
  const currentWave = state.currentWave + 1;
  if (currentWave >= state.waves.length) {
    const skipped = hosts.filter((host) => host.state === 'skipped').length;
    return { state: { ...next, currentWave, status: failed.length > 0 || skipped > 0 ? 'failed' : 'succeeded', reason: failed.length > 0 || skipped > 0 ? `${failed.length} failed and ${skipped} skipped host(s) are not on the new revision` : 'every host is on the new revision' }, writes };
  }
  // The next wave starts on the next step: its hosts are observed fresh.
  return { state: { ...next, currentWave }, writes };
}

/** Rolls every host the rollout touched back to what it ran before, all at once (no canary gating). */
export function startRollback(state: RolloutState, now: Date, writes: RolloutWrite[] = []): RolloutStep {
  const at = now.toISOString();
  const hosts = state.hosts.map((host): RolloutHost => {
    if (host.state === 'pending' || host.state === 'skipped' || host.state === 'rolled-back') return host;
    writes.push({ hostId: host.hostId, document: rollbackDocument(host) });
    return { ...host, state: 'rolling-back', startedAt: at, writtenRevision: undefined, healthySince: undefined, message: undefined };
  });
  const touched = hosts.some((host) => host.state === 'rolling-back');
  return { state: { ...state, hosts, status: touched ? 'rolling-back' : 'rolled-back', updatedAt: at }, writes };
}

/** What a host goes back to: its previous document, or an explicit empty one where the project was new. */
export function rollbackDocument(host: RolloutHost): HostDesired {
  return host.previous ?? { ...host.target, services: {}, allowEmpty: true };
}

function judge(host: RolloutHost, document: HostDesired, observation: HostObservation, options: RolloutOptions, now: Date): RolloutHost {
  const at = now.toISOString();
  const rollingBack = host.state === 'rolling-back';
  const fail = (message: string): RolloutHost => ({ ...host, state: 'failed', finishedAt: at, message: rollingBack ? `rollback failed: ${message}` : message });
  const project = observation.report?.status.projects.find((p) => p.project === document.project);
  const revision = host.writtenRevision;
  if (project?.rejected && project.rejected.revision === revision) return fail(`revision ${revision} rejected: ${project.rejected.reason}`);
  if (project && project.desiredRevision === revision && project.blocked.length > 0) return fail(`blocked: ${project.blocked.map((b) => b.message).join('; ')}`);
  // A crash loop or a failed one-shot of the applied revision fails the host at once: waiting for the deadline would only hide why.
  const failing = project && project.desiredRevision === revision && project.appliedRevision === revision ? conditionsDetail(project) : undefined;
  if (failing !== undefined) return fail(failing);
  const unhealthy = project && project.desiredRevision === revision ? project.instances.filter((i) => i.health === 'unhealthy') : [];
  if (unhealthy.length > 0 && !rollingBack) return fail(`unhealthy: ${unhealthy.map((i) => i.name).join(', ')}`);

  if (revision !== undefined && healthyOn(document, revision, observation)) {
    const since = host.healthySince ?? at;
    if (now.getTime() - Date.parse(since) >= options.minHealthyMs) return { ...host, state: rollingBack ? 'rolled-back' : 'healthy', healthySince: since, finishedAt: at, message: rollingBack ? 'back on its previous revision' : 'converged and healthy' };
    return { ...host, healthySince: since };
  }
  if (now.getTime() - Date.parse(host.startedAt ?? at) > options.healthyDeadlineMs) {
    if (observation.refusedReport !== undefined) return fail(`its status report was refused until the deadline: ${observation.refusedReport}`);
    return fail(isOffline(observation, now) ? OFFLINE_AT_DEADLINE : `${NOT_HEALTHY_BY_DEADLINE} ${Math.round(options.healthyDeadlineMs / 1000)}s`);
  }
  return { ...host, healthySince: undefined, ...(observation.refusedReport !== undefined ? { message: `its status report is refused: ${observation.refusedReport}` } : {}) };
}

const OFFLINE_AT_DEADLINE = 'offline: no heartbeat until the deadline';
const NOT_HEALTHY_BY_DEADLINE = 'not converged and healthy within';

/**
 * The host reports the document's revision applied, converged, every instance running and healthy
 * (or without a check), or a one-shot that completed.
 */
function healthyOn(document: HostDesired, revision: number, observation: HostObservation): boolean {
  const project = observation.report?.status.projects.find((p) => p.project === document.project);
  return (
    project !== undefined &&
    project.desiredRevision === revision &&
    project.appliedRevision === revision &&
    project.converged &&
    project.instances.every(
      (instance) =>
        completedOneShot(document, instance) ||
        (instance.state === 'running' && (instance.health === 'healthy' || (instance.health === 'none' && !hasHealthcheck(document.services[instance.service]?.healthcheck)))),
    )
  );
}

/** A one-shot (restart "no" or "on-failure") that exited 0: the agent reports it exited without stopped drift or a failure. */
export function completedOneShot(document: HostDesired, instance: InstanceStatus): boolean {
  const restart = document.services[instance.service]?.restart;
  return instance.state === 'exited' && restart !== undefined && runsOnce(restart) && !instance.drift.includes('stopped') && instance.condition?.kind !== 'failed';
}

/** Failed only for time: it was written, and neither rejected, blocked nor unhealthy (those stay failed). */
function missedOnlyItsDeadline(host: RolloutHost): boolean {
  return host.writtenRevision !== undefined && (host.message === OFFLINE_AT_DEADLINE || host.message?.startsWith(NOT_HEALTHY_BY_DEADLINE) === true);
}

/**
 * A host that failed only on its deadline and has since reached the new revision, converged and
 * healthy for minHealthy, passes after all: a slow host (or a slow NATS after a node's death) must
 * not leave a rollout saying a host is not on the new revision when it is.
 */
function lateArrival(host: RolloutHost, observation: HostObservation, options: RolloutOptions, now: Date): RolloutHost {
  if (!healthyOn(host.target, host.writtenRevision as number, observation)) return host.healthySince === undefined ? host : { ...host, healthySince: undefined };
  const at = now.toISOString();
  const since = host.healthySince ?? at;
  if (now.getTime() - Date.parse(since) < options.minHealthyMs) return { ...host, healthySince: since };
  return { ...host, state: 'healthy', healthySince: since, finishedAt: at, message: `converged and healthy after its deadline (it had failed: ${host.message})` };
}

function isOffline(observation: HostObservation, now: Date): boolean {
  return isStaleHost(observation.heartbeat, now.getTime());
}
