/**
 * A fleet for the chaos scenarios: real agents (FleetHarness) on real NATS (one server or a
 * cluster), one project of numbered services whose VERSION each change bumps, and the counts every
 * scenario reports: containers expected vs found, events recorded by the agents vs in the stream.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, type JsMsg } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { unpack } from 'msgpackr';
import type Docker from 'dockerode';
import { LABELS } from '../../shared/labels.js';
import { openSignedDocument } from '../../shared/signed-document.js';
import { BUCKETS, EVENTS_STREAM, desiredKey } from '../../shared/subjects.js';
import type { ContainerCount, EventCount } from './chaos-results.js';
import { runCli, startCli, type CliResult } from './cli.js';
import { docker as mainDocker } from './docker-harness.js';
import { FleetHarness, type AgentSpec } from './fleet-harness.js';
import { waitFor } from './wait.js';

export const VERSION_LABEL = 'chaos.version';
const QUICK_STOP = `["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]`;

export interface ServiceShape {
  readonly replicas: number;
  readonly version: number;
}

interface ProjectJson {
  project: string;
  desiredRevision: number;
  appliedRevision?: number;
  converged: boolean;
  instances: { name: string; state: string }[];
  rejected?: { revision: number; reason: string };
}

export interface FleetStatusJson {
  hosts: { hostId: string; stale: boolean; outboxDepth: number | null; status: { projects: ProjectJson[] } | null }[];
}

export interface ChaosFleetOptions {
  /** Comma-separated client URLs (one server or every node of a cluster). */
  readonly natsUrls: string;
  /** The port proxied agents connect through to (the first node's). */
  readonly natsPort: number;
  readonly runId: string;
  readonly project: string;
  readonly hosts: readonly AgentSpec[];
  readonly services: Readonly<Record<string, ServiceShape>>;
  /** The engine the agents use (a private dockerd); the main engine when omitted. */
  readonly docker?: Docker;
  /** A service that mounts the project volume `data` at /data (declared in the fleet file). */
  readonly volumeService?: string;
}

/** A host's project networks and volumes on the engine, by name (a name twice is a duplicate). */
export interface ResourceCount {
  readonly networks: readonly string[];
  readonly volumes: readonly string[];
}

export class ChaosFleet {
  readonly services: Map<string, ServiceShape>;
  /** Applies that failed on a stalled KV key listing and were run again. */
  stalledListings = 0;
  #nc: NatsConnection | undefined;

  private constructor(
    readonly harness: FleetHarness,
    readonly options: ChaosFleetOptions,
    readonly file: string,
    private readonly dir: string,
  ) {
    this.services = new Map(Object.entries(options.services));
  }

  static async start(options: ChaosFleetOptions): Promise<ChaosFleet> {
    const dir = await mkdtemp(join(tmpdir(), 'hw-chaos-'));
    const harness = FleetHarness.create({ url: options.natsUrls, port: options.natsPort }, options.runId);
    const fleet = new ChaosFleet(harness, options, join(dir, 'fleet.yaml'), dir);
    await harness.startAgents(options.hosts, 60_000);
    return fleet;
  }

  get hostIds(): string[] {
    return this.options.hosts.map((host) => host.hostId);
  }

  get project(): string {
    return this.options.project;
  }

  /** Bumps the VERSION of the named services (a replacement of each of their containers). */
  change(names: readonly string[]): void {
    for (const name of names) {
      const shape = this.services.get(name);
      if (!shape) throw new Error(`no service ${name}`);
      this.services.set(name, { ...shape, version: shape.version + 1 });
    }
  }

  async writeFleetFile(): Promise<void> {
    const services = [...this.services.entries()].map(
      ([name, shape]) => `  ${name}:
    image: hw/busybox:test
    command: ${QUICK_STOP}
    env: { VERSION: "${shape.version}" }
    labels: { ${VERSION_LABEL}: "${shape.version}" }
    replicas: ${shape.replicas}
    stop_timeout: 1s
${name === this.options.volumeService ? '    volumes: ["data:/data"]\n' : ''}`,
    );
    const volumes = this.options.volumeService === undefined ? '' : 'volumes:\n  data: {}\n';
    await writeFile(this.file, `project: ${this.project}\nservices:\n${services.join('')}${volumes}`);
  }

  cli(args: readonly string[]): Promise<CliResult> {
    return runCli([...args, '--nats', this.options.natsUrls], this.harness.cliEnv);
  }

  /** Writes the fleet file and runs `apply` to the end; throws on a non-zero exit. */
  async apply(extra: readonly string[] = []): Promise<CliResult> {
    await this.writeFleetFile();
    let result = await this.cli(['apply', '-f', this.file, ...extra]);
    // A stalled KV key listing (see docs/RELIABILITY.md) fails the command with this message: run it again, and count it.
    for (let retry = 1; retry <= 3 && result.code !== 0 && /listing keys of a NATS KV bucket took over/.test(result.stderr); retry += 1) {
      this.stalledListings += 1;
      result = await this.cli(['apply', '-f', this.file, ...extra]);
    }
    if (result.code !== 0) throw new Error(`apply exited ${result.code}:\n${result.stdout}\n${result.stderr}\n${this.agentLogs()}`);
    return result;
  }

  /** Starts a coordinator command without waiting (to kill it). */
  startCoordinator(args: readonly string[]) {
    return startCli([...args, '--nats', this.options.natsUrls], this.harness.cliEnv);
  }

  async connection(): Promise<NatsConnection> {
    if (!this.#nc || this.#nc.isClosed()) this.#nc = await connect({ servers: this.options.natsUrls.split(','), timeout: 5_000, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    return this.#nc;
  }

  /** The project's desired revision per host in KV, read directly (inside the coordinator's signed envelope). */
  async desiredRevisions(): Promise<Map<string, number | undefined>> {
    const kv = await new Kvm(await this.connection()).open(BUCKETS.desired);
    const revisions = new Map<string, number | undefined>();
    for (const hostId of this.hostIds) {
      const entry = await kv.get(desiredKey(hostId, this.project));
      revisions.set(hostId, entry && entry.operation === 'PUT' ? (unpack(openSignedDocument(entry.value).document) as { revision: number }).revision : undefined);
    }
    return revisions;
  }

  async status(): Promise<FleetStatusJson> {
    const result = await this.cli(['status', '--json']);
    if (result.code !== 0) throw new Error(`status --json exited ${result.code}: ${result.stderr}`);
    return JSON.parse(result.stdout) as FleetStatusJson;
  }

  /** Why the fleet is not converged on the latest desired revisions and versions, or undefined. */
  async notConverged(): Promise<string | undefined> {
    const [status, revisions] = [await this.status(), await this.desiredRevisions()];
    const reasons: string[] = [];
    for (const hostId of this.hostIds) {
      const host = status.hosts.find((h) => h.hostId === hostId);
      const project = host?.status?.projects.find((p) => p.project === this.project);
      const revision = revisions.get(hostId);
      if (!host || !project) reasons.push(`${hostId}: not in status`);
      else if (host.stale) reasons.push(`${hostId}: stale`);
      else if (project.desiredRevision !== revision || project.appliedRevision !== revision) reasons.push(`${hostId}: desired r${project.desiredRevision}, applied r${project.appliedRevision ?? '-'}, KV r${revision}`);
      else if (!project.converged || project.rejected) reasons.push(`${hostId}: converged=${project.converged} rejected=${JSON.stringify(project.rejected)}`);
      else if (!project.instances.every((i) => i.state === 'running')) reasons.push(`${hostId}: not all running`);
    }
    const containers = await this.countContainers();
    if (containers.missing + containers.duplicate + containers.orphan > 0) reasons.push(`containers ${JSON.stringify(containers)}`);
    return reasons.length > 0 ? reasons.join('; ') : undefined;
  }

  /** Waits until notConverged() is undefined; resolves with the milliseconds it took. */
  async waitConverged(timeoutMs = 120_000, since = Date.now()): Promise<number> {
    let last: string | undefined = '';
    try {
      await waitFor(
        'fleet converged',
        async () => {
          last = await this.notConverged();
          return last === undefined;
        },
        timeoutMs,
        300,
      );
    } catch (error) {
      throw new Error(`${String(error)}; last: ${last}\n${await this.containerStates()}\n${this.agentLogs()}`);
    }
    return Date.now() - since;
  }

  /** One line per container of the project: what a failed wait shows besides the agents' logs. */
  async containerStates(): Promise<string> {
    const lines: string[] = [];
    for (const hostId of this.hostIds) {
      for (const c of await this.containersOf(hostId)) lines.push(`  ${c.Names[0] ?? c.Id} ${c.Id.slice(0, 12)} ${c.State} (${c.Status}) version=${c.Labels[VERSION_LABEL] ?? '-'}`);
    }
    return `containers:\n${lines.join('\n')}`;
  }

  /** A host's containers on the agents' engine: its host label and its agent's name prefix. */
  async containersOf(hostId: string) {
    const prefix = this.harness.agent(hostId).namePrefix;
    const listed = await (this.options.docker ?? mainDocker).listContainers({ all: true, filters: { label: [`${LABELS.host}=${hostId}`] } });
    return listed.filter((c) => c.Names.some((name) => name.replace(/^\//, '').startsWith(prefix)));
  }

  /** A host's networks and volumes of the project on the agents' engine (labelled for the host), sorted by name. */
  async resourcesOf(hostId: string): Promise<ResourceCount> {
    const engine = this.options.docker ?? mainDocker;
    const filters = { label: [`${LABELS.host}=${hostId}`, `${LABELS.project}=${this.project}`] };
    const networks = (await engine.listNetworks({ filters })).map((network) => network.Name).sort();
    const volumes = ((await engine.listVolumes({ filters })).Volumes ?? []).map((volume) => volume.Name).sort();
    return { networks, volumes };
  }

  /** The project's containers on every host vs the fleet file: each (service, instance) once, running, on its version. */
  async countContainers(): Promise<ContainerCount> {
    let expected = 0;
    let found = 0;
    let missing = 0;
    let duplicate = 0;
    let orphan = 0;
    for (const hostId of this.hostIds) {
      const listed = (await this.containersOf(hostId)).filter((c) => c.Labels[LABELS.project] === this.project);
      found += listed.length;
      const byKey = new Map<string, typeof listed>();
      for (const c of listed) {
        const key = `${c.Labels[LABELS.service]}#${c.Labels[LABELS.instance]}`;
        byKey.set(key, [...(byKey.get(key) ?? []), c]);
      }
      const wanted = new Set<string>();
      for (const [name, shape] of this.services) {
        for (let instance = 1; instance <= shape.replicas; instance += 1) {
          const key = `${name}#${instance}`;
          wanted.add(key);
          expected += 1;
          const copies = byKey.get(key) ?? [];
          if (copies.length > 1) duplicate += copies.length - 1;
          if (!copies.some((c) => c.State === 'running' && c.Labels[VERSION_LABEL] === String(shape.version))) missing += 1;
        }
      }
      for (const [key, copies] of byKey) if (!wanted.has(key)) orphan += copies.length;
    }
    return { expected, found, missing, duplicate, orphan };
  }

  /** Every event id of these hosts in the stream, as stored (duplicates included). */
  async streamEventIds(): Promise<string[]> {
    const js = jetstream(await this.connection());
    const consumer = await js.consumers.get(EVENTS_STREAM, { filter_subjects: 'hw.events.>' });
    if ((await consumer.info(true)).num_pending === 0) return [];
    const ids: string[] = [];
    const messages = await consumer.consume();
    for await (const msg of messages as AsyncIterable<JsMsg>) {
      const event = unpack(msg.data) as { id?: unknown; hostId?: unknown };
      if (typeof event.hostId === 'string' && this.hostIds.includes(event.hostId)) ids.push(String(event.id));
      if (msg.info.pending === 0) break;
    }
    await messages.close();
    return ids;
  }

  /** Events the agents recorded vs found in the stream; waits (up to timeoutMs) for the outboxes to drain. */
  async countEvents(timeoutMs = 30_000): Promise<EventCount> {
    const tally = async (): Promise<EventCount> => {
      const recorded = (await Promise.all(this.hostIds.map((hostId) => this.harness.recordedEvents(hostId)))).flat().map((event) => event.id);
      const inStream = await this.streamEventIds();
      const streamSet = new Set(inStream);
      return { recorded: recorded.length, inStream: inStream.length, lost: recorded.filter((id) => !streamSet.has(id)).length, duplicated: inStream.length - streamSet.size };
    };
    try {
      return await waitFor('every recorded event in the stream', async () => {
        const count = await tally();
        return count.lost === 0 ? count : undefined;
      }, timeoutMs, 500);
    } catch {
      return tally();
    }
  }

  agentLogs(lines = 12): string {
    return this.harness.agents.map((a) => `--- ${a.hostId} (alive: ${a.alive()})\n${a.output().split('\n').slice(-lines).join('\n')}`).join('\n');
  }

  async cleanup(): Promise<void> {
    // HW_CHAOS_LOGS=<dir> keeps every agent's whole output, to read what happened after a failure.
    const logs = process.env.HW_CHAOS_LOGS;
    if (logs) {
      await mkdir(logs, { recursive: true });
      for (const agent of this.harness.agents) await writeFile(join(logs, `${this.options.runId}-${agent.hostId}.log`), agent.output());
    }
    await this.#nc?.close().catch(() => undefined);
    await this.harness.cleanup();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** SIGKILLs an agent's process and waits until it is gone. */
export async function killAgent(fleet: ChaosFleet, hostId: string): Promise<void> {
  const agent = fleet.harness.agent(hostId);
  if (!agent.alive()) return;
  const exited = new Promise<void>((resolve) => agent.process.once('exit', () => resolve()));
  agent.process.kill('SIGKILL');
  await exited;
}

/** A small seeded PRNG, so a failing run can be repeated with the printed seed. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

export function serviceNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `s${String(i + 1).padStart(2, '0')}`);
}
