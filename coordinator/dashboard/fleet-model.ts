import { compareStrings } from '../../shared/compare.js';
import type { DashboardHost } from '../../shared/dashboard-api.js';
import type { HostwrightEvent } from '../../shared/events.js';
import { effectiveLabels, type HostControl } from '../../shared/host-control.js';
import type { HostReport } from '../../shared/host-report.js';
import type { HostRegistration, StatusReport } from '../../shared/wire.js';
import { fleetStatus } from '../cli/fleet/fleet-status.js';
import { isStaleHeartbeat } from '../heartbeat-age.js';
import type { RolloutState } from '../rollout/rollout-state.js';
import { classifyCell, driftStillShown, withDriftSeen, type DriftSeen } from './cell-state.js';
import { CycleLog } from './cycle-log.js';
import { rolloutView, type RolloutView } from './rollout-view.js';

/** GET /api/fleet and the live stream's first message. */
export interface FleetSnapshot {
  readonly schema: 'hostwright.dashboard.fleet/v1';
  readonly at: string;
  readonly staleAfterMs: number;
  readonly hosts: DashboardHost[];
  readonly rollouts: RolloutView[];
}

/** What changed since the last take: hosts to send again, hosts gone. */
export interface HostChanges {
  readonly hosts: DashboardHost[];
  readonly removed: string[];
}

/** Everything the model holds of one host: its latest values as read from KV, nothing derived. */
interface HostEntry {
  registration?: HostReport<HostRegistration>;
  status?: HostReport<StatusReport>;
  control?: HostControl;
  /** Stale when last sent: a host that turns stale is sent again. */
  sentStale?: boolean;
}

/**
 * The fleet as the dashboard knows it: one entry per host (its registration, status and control as
 * the KV watches deliver them) and its last cycles (from the events stream); the hosts' views are
 * built on demand. Changed hosts are collected until the live hub takes them.
 */
export class FleetModel {
  readonly #hosts = new Map<string, HostEntry>();
  readonly #rollouts = new Map<string, RolloutState>();
  readonly #cycles = new CycleLog();
  readonly #changed = new Set<string>();
  readonly #removed = new Set<string>();
  /** The last drift event of each host's projects: shown until a later status (cell-state.ts withDriftSeen). */
  readonly #driftSeen = new Map<string, Map<string, DriftSeen>>();
  /** Controls of hosts with neither a registration nor a status yet. */
  readonly #pendingControls = new Map<string, HostControl>();

  constructor(readonly staleAfterMs: number) {}

  /** A heartbeat alone changes nothing the page shows but the time: the host is not sent again for it (its turning stale is). */
  setRegistration(hostId: string, report: HostReport<HostRegistration> | undefined): void {
    const before = this.#hosts.get(hostId)?.registration;
    const quiet = report !== undefined && before !== undefined && sameReport(before, report, (value) => ({ ...value, heartbeatAt: '' }));
    this.#update(hostId, (entry) => (report ? (entry.registration = report) : delete entry.registration), quiet);
  }

  /** A status that differs only in its times is kept without sending the host again. */
  setStatus(hostId: string, report: HostReport<StatusReport> | undefined): void {
    const before = this.#hosts.get(hostId)?.status;
    const quiet = report !== undefined && before !== undefined && sameReport(before, report, (value) => ({ ...value, reportedAt: '', status: { ...value.status, observedAt: '' } }));
    this.#update(hostId, (entry) => (report ? (entry.status = report) : delete entry.status), quiet);
  }

  setControl(hostId: string, control: HostControl | undefined): void {
    this.#update(hostId, (entry) => (control ? (entry.control = control) : delete entry.control));
  }

  /** Returns whether the rollout changed. */
  setRollout(id: string, state: RolloutState | undefined): boolean {
    const before = this.#rollouts.get(id);
    if (state) this.#rollouts.set(id, state);
    else this.#rollouts.delete(id);
    return before?.updatedAt !== state?.updatedAt || before?.status !== state?.status;
  }

  addEvent(event: HostwrightEvent): void {
    if (event.type === 'drift_detected') {
      const projects = this.#driftSeen.get(event.hostId) ?? new Map<string, DriftSeen>();
      projects.set(event.project, { at: event.timestamp, message: event.message });
      this.#driftSeen.set(event.hostId, projects);
    }
    if (this.#cycles.add(event) && this.#hosts.has(event.hostId)) this.#changed.add(event.hostId);
  }

  has(hostId: string): boolean {
    return this.#hosts.has(hostId);
  }

  host(hostId: string, now: number): DashboardHost | undefined {
    const entry = this.#hosts.get(hostId);
    return entry && this.#view(hostId, entry, now);
  }

  hosts(now: number): DashboardHost[] {
    return [...this.#hosts.keys()].sort(compareStrings).map((hostId) => this.#view(hostId, this.#hosts.get(hostId) as HostEntry, now));
  }

  rollout(id: string, now: number): RolloutView | undefined {
    const state = this.#rollouts.get(id);
    return state && rolloutView(state, now);
  }

  rollouts(now: number): RolloutView[] {
    return [...this.#rollouts.values()].sort((a, b) => compareStrings(a.createdAt, b.createdAt)).map((state) => rolloutView(state, now));
  }

  rolloutStates(): RolloutState[] {
    return [...this.#rollouts.values()];
  }

  snapshot(now: number): FleetSnapshot {
    const hosts = this.hosts(now);
    return { schema: 'hostwright.dashboard.fleet/v1', at: new Date(now).toISOString(), staleAfterMs: this.staleAfterMs, hosts, rollouts: this.rollouts(now) };
  }

  /** The hosts changed since the last take, with those that turned stale (or fresh) since they were last sent. */
  takeChanges(now: number): HostChanges {
    for (const [hostId, projects] of this.#driftSeen) {
      const observedAt = this.#hosts.get(hostId)?.status?.value?.status.observedAt;
      for (const [project, drift] of projects) {
        if (driftStillShown(drift, observedAt, now)) continue;
        projects.delete(project);
        if (this.#hosts.has(hostId)) this.#changed.add(hostId);
      }
      if (projects.size === 0) this.#driftSeen.delete(hostId);
    }
    for (const [hostId, entry] of this.#hosts) {
      if (entry.sentStale !== undefined && entry.sentStale !== isStaleHeartbeat(entry.registration?.value?.heartbeatAt, now, this.staleAfterMs)) this.#changed.add(hostId);
    }
    const hosts = [...this.#changed].sort(compareStrings).flatMap((hostId) => {
      const entry = this.#hosts.get(hostId);
      if (!entry) return [];
      const view = this.#view(hostId, entry, now);
      entry.sentStale = view.stale;
      return [view];
    });
    const removed = [...this.#removed].sort(compareStrings);
    this.#changed.clear();
    this.#removed.clear();
    return { hosts, removed };
  }

  #update(hostId: string, change: (entry: HostEntry) => unknown, quiet = false): void {
    const entry = this.#hosts.get(hostId) ?? {};
    change(entry);
    if (entry.registration === undefined && entry.status === undefined) {
      // A control alone is no host: `hosts cordon` may name one that never registered.
      if (this.#hosts.delete(hostId)) {
        this.#removed.add(hostId);
        this.#changed.delete(hostId);
        this.#cycles.forget(hostId);
        this.#driftSeen.delete(hostId);
      }
      if (entry.control !== undefined) this.#pendingControls.set(hostId, entry.control);
      else this.#pendingControls.delete(hostId);
      return;
    }
    const pending = this.#pendingControls.get(hostId);
    if (entry.control === undefined && pending !== undefined) entry.control = pending;
    this.#pendingControls.delete(hostId);
    this.#hosts.set(hostId, entry);
    this.#removed.delete(hostId);
    if (!quiet) this.#changed.add(hostId);
  }

  #view(hostId: string, entry: HostEntry, now: number): DashboardHost {
    const [status] = fleetStatus(entry.registration ? [entry.registration] : [], entry.status ? [entry.status] : [], hostId, now);
    const base = status ?? { hostId, labels: {}, heartbeatAt: null, stale: true, reportedAt: null, outboxDepth: null, status: null, trust: 'unverified' as const, refused: [], registered: false };
    const control = entry.control;
    return {
      ...base,
      // The coordinator's labels over the agent's, as placement sees them (`hosts --json`).
      effectiveLabels: effectiveLabels(base.labels, control),
      stale: isStaleHeartbeat(base.heartbeatAt ?? undefined, now, this.staleAfterMs),
      cordoned: control?.cordon !== undefined || control?.drain !== undefined,
      draining: control?.drain?.state === 'draining',
      cells: (base.status?.projects ?? []).map((project) => withDriftSeen(classifyCell(project), this.#driftSeen.get(hostId)?.get(project.project))),
      cycles: this.#cycles.cyclesOf(hostId),
    };
  }
}

/** Pure: two reports of a host say the same once `comparable` blanked what changes every time. */
function sameReport<T>(before: HostReport<T>, after: HostReport<T>, comparable: (value: T) => unknown): boolean {
  if (before.trust.verdict !== after.trust.verdict || (before.value === undefined) !== (after.value === undefined)) return false;
  if (before.value === undefined || after.value === undefined) return before.trust.verdict === 'refused' && after.trust.verdict === 'refused' && before.trust.reason === after.trust.reason;
  return JSON.stringify(comparable(before.value)) === JSON.stringify(comparable(after.value));
}
