/**
 * Simulated hosts for scale: many per process, no Docker, no LevelDB, no reconcile loop. Each
 * writes what a real agent writes to the coordinator's side (agent/fleet/fleet-agent.ts): its
 * registration with a fresh heartbeatAt into hw_hosts/<hostId> every heartbeat period, and a status
 * report into hw_status/<hostId> when its status changes, unsigned as an agent without credentials
 * sends them. bench/hollow-agents.ts is the heavier variant, the real agent over a fake runtime.
 */
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { HOSTWRIGHT_VERSION } from '../../shared/version.js';
import { encode } from '../../shared/codec.js';
import { DESIRED_SCHEMA_VERSION } from '../../shared/desired-schema.js';
import { heartbeatPeriodMs } from '../../shared/heartbeat-period.js';
import type { HostStatus, InstanceStatus, ProjectStatus } from '../../shared/host-status.js';
import { connectFleet } from '../../shared/nats-connection.js';
import { BUCKETS, kvKeySubject } from '../../shared/subjects.js';
import type { HostRegistration, StatusReport } from '../../shared/wire.js';

export interface SimulatedHostsOptions {
  readonly natsUrl: string;
  readonly hostIds: readonly string[];
  /** Each host's labels (default: zone=z<i mod 4>, role=web|db alternately). */
  readonly labels?: (hostId: string, index: number) => Record<string, string>;
  /** Each host's projects and instances (default: one converged project `web` of two instances). */
  readonly status?: (hostId: string, index: number) => ProjectStatus[];
  /**
   * The agents' `--heartbeat`: every host beats once per period, the hosts spread evenly over it (as
   * agents started at random times), the period lengthened with the fleet's size as an agent's is
   * (shared/heartbeat-period.ts; `periodMs`).
   */
  readonly heartbeatMs: number;
  /** Puts in flight at once (each waits for the stream's acknowledgement). */
  readonly inFlight?: number;
}

interface SimulatedHost {
  readonly hostId: string;
  readonly labels: Record<string, string>;
  readonly startedAt: string;
  projects: ProjectStatus[];
  heartbeating: boolean;
}

/** A converged project of `replicas` running, healthy instances, as an agent reports one. */
export function convergedProject(project: string, revision: number, replicas = 2): ProjectStatus {
  const instances: InstanceStatus[] = Array.from({ length: replicas }, (_, i) => ({
    project,
    service: 'app',
    instance: i + 1,
    name: `${project}-app-${i + 1}`,
    containerId: `${project}${i}`.padEnd(64, '0').slice(0, 64),
    state: 'running',
    health: 'healthy',
    specHash: 'sim',
    restartCount: 0,
    imageId: `sha256:${'a'.repeat(64)}`,
    drift: [],
  }));
  return { project, desiredRevision: revision, appliedRevision: revision, converged: true, pendingActions: 0, instances, unowned: [], blocked: [] };
}

/** Creates the fleet's buckets and event stream if missing, as a coordinator's first connection does. */
export async function ensureFleetBuckets(natsUrl: string): Promise<void> {
  const setup = await connectFleet({ servers: natsUrl, name: 'hostwright-simulated-setup', logger: pino({ level: 'silent' }), waitOnFirstConnect: false, warnWeakDurability: false });
  await setup.close();
}

export class SimulatedHosts {
  readonly #hosts: SimulatedHost[];
  readonly #byId = new Map<string, SimulatedHost>();
  #timer: NodeJS.Timeout | undefined;
  #cursor = 0;
  #inFlight = 0;
  /** Heartbeats skipped because the previous puts had not been acknowledged yet. */
  skipped = 0;
  heartbeats = 0;
  statusReports = 0;
  /** The period the hosts beat at: an agent's in a fleet of this many hosts. */
  readonly periodMs: number;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly options: SimulatedHostsOptions,
  ) {
    const startedAt = new Date().toISOString();
    this.#hosts = options.hostIds.map((hostId, index) => ({
      hostId,
      labels: options.labels?.(hostId, index) ?? { zone: `z${index % 4}`, role: index % 2 === 0 ? 'web' : 'db' },
      startedAt,
      projects: options.status?.(hostId, index) ?? [convergedProject('web', 1)],
      heartbeating: true,
    }));
    for (const host of this.#hosts) this.#byId.set(host.hostId, host);
    this.periodMs = heartbeatPeriodMs(options.heartbeatMs, options.hostIds.length);
  }

  /**
   * Makes sure the fleet's buckets exist (as a coordinator would), then registers every host and
   * publishes its status, and starts the heartbeats.
   */
  static async start(options: SimulatedHostsOptions): Promise<SimulatedHosts> {
    await ensureFleetBuckets(options.natsUrl);
    const nc = await connect({ servers: options.natsUrl, name: 'hostwright-simulated-hosts', maxReconnectAttempts: -1 });
    const hosts = new SimulatedHosts(nc, jetstream(nc, { timeout: 30_000 }), options);
    await hosts.#all((host) => Promise.all([hosts.#register(host), hosts.#report(host)]).then(() => undefined));
    hosts.#startHeartbeats();
    return hosts;
  }

  get size(): number {
    return this.#hosts.length;
  }

  /** Replaces a host's projects and publishes its status at once, as an agent does after a cycle. */
  async setProjects(hostId: string, projects: ProjectStatus[]): Promise<void> {
    const host = this.#host(hostId);
    host.projects = projects;
    await this.#report(host);
  }

  projectsOf(hostId: string): ProjectStatus[] {
    return this.#host(hostId).projects;
  }

  /** The host stops heartbeating (as a stopped agent): it turns stale once staleAfterMs passed. */
  silence(hostId: string): void {
    this.#host(hostId).heartbeating = false;
  }

  async resume(hostId: string): Promise<void> {
    const host = this.#host(hostId);
    host.heartbeating = true;
    await this.#register(host);
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.nc.drain().catch(() => this.nc.close());
  }

  #host(hostId: string): SimulatedHost {
    const host = this.#byId.get(hostId);
    if (!host) throw new Error(`no simulated host ${hostId}`);
    return host;
  }

  async #all(publish: (host: SimulatedHost) => Promise<void>): Promise<void> {
    let next = 0;
    const lanes = Array.from({ length: Math.min(this.options.inFlight ?? 256, this.#hosts.length) }, async () => {
      while (next < this.#hosts.length) {
        const host = this.#hosts[next] as SimulatedHost;
        next += 1;
        await publish(host);
      }
    });
    await Promise.all(lanes);
  }

  /** Every tick, the hosts whose turn it is in the period heartbeat; a put not yet acknowledged holds back new ones. */
  #startHeartbeats(): void {
    if (this.#hosts.length === 0) return;
    // At least one host a tick: a small fleet ticks less often than every 100 ms.
    const tickMs = Math.max(Math.min(100, this.periodMs), this.periodMs / this.#hosts.length);
    const perTick = Math.max(1, Math.ceil((this.#hosts.length * tickMs) / this.periodMs));
    const limit = this.options.inFlight ?? 256;
    this.#timer = setInterval(() => {
      for (let i = 0; i < perTick; i += 1) {
        const host = this.#hosts[this.#cursor] as SimulatedHost;
        this.#cursor = (this.#cursor + 1) % this.#hosts.length;
        if (!host.heartbeating) continue;
        if (this.#inFlight >= limit) {
          this.skipped += 1;
          continue;
        }
        this.#inFlight += 1;
        this.#register(host)
          .catch(() => (this.skipped += 1))
          .finally(() => (this.#inFlight -= 1));
      }
    }, tickMs);
  }

  async #register(host: SimulatedHost): Promise<void> {
    const registration: HostRegistration = { hostId: host.hostId, labels: host.labels, agentVersion: HOSTWRIGHT_VERSION, desiredSchema: DESIRED_SCHEMA_VERSION, startedAt: host.startedAt, heartbeatAt: new Date().toISOString(), heartbeatMs: this.periodMs, signedRequests: true };
    await this.js.publish(kvKeySubject(BUCKETS.hosts, host.hostId), encode(registration));
    this.heartbeats += 1;
  }

  async #report(host: SimulatedHost): Promise<void> {
    const now = new Date().toISOString();
    const status: HostStatus = { hostId: host.hostId, observedAt: now, projects: host.projects };
    const report: StatusReport = { hostId: host.hostId, reportedAt: now, agentVersion: HOSTWRIGHT_VERSION, outboxDepth: 0, status };
    await this.js.publish(kvKeySubject(BUCKETS.status, host.hostId), encode(report));
    this.statusReports += 1;
  }
}
