import { compareStrings } from '../../shared/compare.js';
import type { DashboardCell, DashboardHost, DashboardHostSummary } from '../../shared/dashboard-api.js';
import type { HostwrightEvent } from '../../shared/events.js';
import { effectiveLabels, type HostControl } from '../../shared/host-control.js';
import type { HostReport, ReportTrust } from '../../shared/host-report.js';
import { isGone } from '../../shared/host-status.js';
import type { HostRegistration, StatusReport } from '../../shared/wire.js';
import { fleetStatus } from '../fleet-status.js';
import { isStaleHost } from '../heartbeat-age.js';
import type { RolloutState } from '../rollout/rollout-state.js';
import { classifyCell, driftStillShown, withDriftSeen, type DriftSeen } from './cell-state.js';
import { CycleLog } from './cycle-log.js';
import { rolloutView, type RolloutView } from './rollout-view.js';

/** GET /api/fleet and the live stream's first message. */
export interface FleetSnapshot {
  readonly schema: 'hostwright.dashboard.fleet/v2';
  readonly at: string;
  readonly staleAfterMs: number;
  readonly hosts: DashboardHostSummary[];
  readonly rollouts: RolloutView[];
}

/** What changed since the last take: hosts to send again, hosts gone. */
export interface HostChanges {
  readonly hosts: DashboardHostSummary[];
  readonly removed: string[];
}

/**
 * A report as the model keeps it: its value as one JSON string with the times that change at every
 * heartbeat blanked (a string is a fraction of the parsed object graph; only GET /api/hosts/:id
 * decodes it), the times beside it, and what the fleet view needs of it.
 */
interface KeptReport {
  readonly trust: ReportTrust;
  /** Undefined when refused. */
  readonly json: string | undefined;
}

interface KeptRegistration extends KeptReport {
  readonly heartbeatAt: string | undefined;
  /** The agent's heartbeat period: the host reads stale after three of them, never sooner than staleAfterMs. */
  readonly heartbeatMs: number | undefined;
  readonly labels: Readonly<Record<string, string>>;
}

interface KeptStatus extends KeptReport {
  readonly reportedAt: string | undefined;
  readonly observedAt: string | undefined;
  /** Each project's cell, before drift events are laid over it. */
  readonly cells: readonly DashboardCell[];
}

/** Everything the model holds of one host: its latest values as read from KV, kept compact. */
interface HostEntry {
  registration?: KeptRegistration;
  status?: KeptStatus;
  control?: HostControl;
  /** Stale when last sent: a host that turns stale is sent again. */
  sentStale?: boolean;
  /**
   * The summary's JSON without `heartbeatAt` and `stale` (they change without the host being sent
   * again), kept until the host changes: a snapshot of 10,000 hosts joins strings.
   */
  summaryRest?: string;
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
    const kept = report && keepRegistration(report);
    const quiet = kept !== undefined && before !== undefined && sameKept(before, kept);
    this.#update(hostId, (entry) => (kept ? (entry.registration = kept) : delete entry.registration), quiet);
  }

  /** A status that differs only in its times is kept without sending the host again. */
  setStatus(hostId: string, report: HostReport<StatusReport> | undefined): void {
    const before = this.#hosts.get(hostId)?.status;
    const kept = report && keepStatus(report);
    const quiet = kept !== undefined && before !== undefined && sameKept(before, kept);
    this.#update(hostId, (entry) => (kept ? (entry.status = kept) : delete entry.status), quiet);
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
    if (this.#cycles.add(event) && this.#hosts.has(event.hostId)) this.#touch(event.hostId);
  }

  has(hostId: string): boolean {
    return this.#hosts.has(hostId);
  }

  /** The whole host, its status decoded: GET /api/hosts/:id. */
  host(hostId: string, now: number): DashboardHost | undefined {
    const entry = this.#hosts.get(hostId);
    return entry && this.#full(hostId, entry, now);
  }

  summary(hostId: string, now: number): DashboardHostSummary | undefined {
    const entry = this.#hosts.get(hostId);
    return entry && this.#summary(hostId, entry, now);
  }

  hosts(now: number): DashboardHostSummary[] {
    return [...this.#hosts.keys()].sort(compareStrings).map((hostId) => this.#summary(hostId, this.#hosts.get(hostId) as HostEntry, now));
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
    return { schema: 'hostwright.dashboard.fleet/v2', at: new Date(now).toISOString(), staleAfterMs: this.staleAfterMs, hosts, rollouts: this.rollouts(now) };
  }

  /** The snapshot as JSON, the same value as JSON.stringify(snapshot(now)): what /api/fleet and /api/live send. */
  snapshotJson(now: number): string {
    const hosts = [...this.#hosts.keys()].sort(compareStrings).map((hostId) => this.#summaryJson(hostId, this.#hosts.get(hostId) as HostEntry, now));
    return `{"schema":"hostwright.dashboard.fleet/v2","at":${JSON.stringify(new Date(now).toISOString())},"staleAfterMs":${this.staleAfterMs},"hosts":[${hosts.join(',')}],"rollouts":${JSON.stringify(this.rollouts(now))}}`;
  }

  /** The hosts changed since the last take, with those that turned stale (or fresh) since they were last sent. */
  takeChanges(now: number): HostChanges {
    for (const [hostId, projects] of this.#driftSeen) {
      const observedAt = this.#hosts.get(hostId)?.status?.observedAt;
      for (const [project, drift] of projects) {
        if (driftStillShown(drift, observedAt, now)) continue;
        projects.delete(project);
        if (this.#hosts.has(hostId)) this.#touch(hostId);
      }
      if (projects.size === 0) this.#driftSeen.delete(hostId);
    }
    for (const [hostId, entry] of this.#hosts) {
      if (entry.sentStale !== undefined && entry.sentStale !== isStaleHost(entry.registration, now, this.staleAfterMs)) this.#changed.add(hostId);
    }
    const hosts = [...this.#changed].sort(compareStrings).flatMap((hostId) => {
      const entry = this.#hosts.get(hostId);
      if (!entry) return [];
      const view = this.#summary(hostId, entry, now);
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
    if (!quiet) this.#touch(hostId);
  }

  /** The host changed: sent at the next take, its summary's JSON built again. */
  #touch(hostId: string): void {
    this.#changed.add(hostId);
    const entry = this.#hosts.get(hostId);
    if (entry) delete entry.summaryRest;
  }

  #summaryJson(hostId: string, entry: HostEntry, now: number): string {
    const heartbeatAt = entry.registration?.heartbeatAt;
    entry.summaryRest ??= JSON.stringify({ ...this.#summary(hostId, entry, now), heartbeatAt: undefined, stale: undefined });
    return `{"heartbeatAt":${JSON.stringify(heartbeatAt ?? null)},"stale":${isStaleHost(entry.registration, now, this.staleAfterMs)},${entry.summaryRest.slice(1)}`;
  }

  #summary(hostId: string, entry: HostEntry, now: number): DashboardHostSummary {
    const { registration, status, control } = entry;
    const labels = registration?.labels ?? {};
    const heartbeatAt = registration?.heartbeatAt ?? null;
    const drift = this.#driftSeen.get(hostId);
    return {
      hostId,
      labels,
      // The coordinator's labels over the agent's, as placement sees them (`hosts --json`).
      effectiveLabels: effectiveLabels(labels, control),
      heartbeatAt,
      stale: isStaleHost(registration, now, this.staleAfterMs),
      trust: trustOf(registration, status),
      registered: registration !== undefined,
      cordoned: control?.cordon !== undefined || control?.drain !== undefined,
      draining: control?.drain?.state === 'draining',
      cells: (status?.cells ?? []).map((cell) => withDriftSeen(cell, drift?.get(cell.project))),
      cycles: this.#cycles.tuplesOf(hostId),
    };
  }

  #full(hostId: string, entry: HostEntry, now: number): DashboardHost {
    const registration = entry.registration && reportOf(hostId, entry.registration, (value: HostRegistration) => ({ ...value, heartbeatAt: entry.registration?.heartbeatAt ?? '' }));
    const statusReport = entry.status && reportOf(hostId, entry.status, (value: StatusReport) => ({ ...value, reportedAt: entry.status?.reportedAt ?? '', status: { ...value.status, observedAt: entry.status?.observedAt ?? '' } }));
    const [status] = fleetStatus(registration ? [registration] : [], statusReport ? [statusReport] : [], hostId, now);
    const base = status ?? { hostId, labels: {}, heartbeatAt: null, stale: true, reportedAt: null, outboxDepth: null, status: null, trust: 'unverified' as const, refused: [], registered: false };
    const summary = this.#summary(hostId, entry, now);
    return { ...base, effectiveLabels: summary.effectiveLabels, stale: summary.stale, cordoned: summary.cordoned, draining: summary.draining, cells: summary.cells, cycles: this.#cycles.cyclesOf(hostId) };
  }
}

function keepRegistration(report: HostReport<HostRegistration>): KeptRegistration {
  const { value } = report;
  return { trust: report.trust, json: value && JSON.stringify({ ...value, heartbeatAt: '' }), heartbeatAt: value?.heartbeatAt, heartbeatMs: value?.heartbeatMs, labels: value?.labels ?? {} };
}

function keepStatus(report: HostReport<StatusReport>): KeptStatus {
  const { value } = report;
  return {
    trust: report.trust,
    json: value && JSON.stringify({ ...value, reportedAt: '', status: { ...value.status, observedAt: '' } }),
    reportedAt: value?.reportedAt,
    observedAt: value?.status.observedAt,
    // A removed project nothing is left of is no cell (as fleet-status.ts leaves it out).
    cells: (value?.status.projects ?? []).filter((project) => !isGone(project)).map(classifyCell),
  };
}

/** Pure: the report again, its value decoded and its times put back. */
function reportOf<T>(hostId: string, kept: KeptReport, withTimes: (value: T) => T): HostReport<T> {
  return { hostId, trust: kept.trust, value: kept.json === undefined ? undefined : withTimes(JSON.parse(kept.json) as T) };
}

/** Pure: a host's trust as fleet-status.ts says it: refused if a report is, verified if every report is. */
function trustOf(...reports: (KeptReport | undefined)[]): 'verified' | 'unverified' | 'refused' {
  const verdicts = reports.flatMap((report) => (report ? [report.trust.verdict] : []));
  if (verdicts.includes('refused')) return 'refused';
  return verdicts.every((verdict) => verdict === 'verified') ? 'verified' : 'unverified';
}

/** Pure: two reports of a host say the same once the times that change every time were blanked. */
function sameKept(before: KeptReport, after: KeptReport): boolean {
  if (before.trust.verdict !== after.trust.verdict || before.json !== after.json) return false;
  if (after.json !== undefined) return true;
  return before.trust.verdict === 'refused' && after.trust.verdict === 'refused' && before.trust.reason === after.trust.reason;
}
