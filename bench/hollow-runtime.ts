import { randomBytes } from 'node:crypto';
import { compareStrings } from '../shared/compare.js';
import { NameConflictError } from '../shared/errors.js';
import type { ContainerConfigView, ContainerState } from '../agent/core/snapshot.js';
import type { ContainerCreateRequest, ImageRemoval, NetworkCreateRequest, PulledImage, RuntimeImage, RuntimeAdapter, RuntimeContainerDetails, RuntimeContainerSummary, RuntimeEvent, RuntimeResourceSummary, StartResult, VolumeCreateRequest } from '../agent/runtime/runtime-adapter.js';

/** Simulated engine latency per call, in milliseconds. */
export interface HollowLatency {
  readonly listMs: number;
  readonly inspectMs: number;
  readonly createMs: number;
  readonly startMs: number;
  readonly stopMs: number;
  readonly removeMs: number;
}

/** Defaults near what one idle engine on this machine takes per call. */
export function hollowLatency(mutationMs: number): HollowLatency {
  return { listMs: 2, inspectMs: 1, createMs: mutationMs, startMs: mutationMs, stopMs: mutationMs, removeMs: mutationMs };
}

interface HollowContainer {
  readonly id: string;
  name: string;
  state: ContainerState;
  readonly labels: Readonly<Record<string, string>>;
  readonly createdAt: number;
  readonly view: ContainerConfigView;
  readonly networks: string[];
}

/**
 * An in-memory container engine behind the agent's RuntimeAdapter (a kubemark-style hollow node):
 * the real agent code runs against it, each call takes its configured latency, and every change
 * emits the event Docker would, so the agent's loop wakes as it does on a real host.
 */
export class HollowRuntime implements RuntimeAdapter {
  readonly #containers = new Map<string, HollowContainer>();
  readonly #images: Set<string>;
  readonly #networks = new Map<string, RuntimeResourceSummary>();
  readonly #volumes = new Map<string, RuntimeResourceSummary>();
  readonly #listeners = new Set<(event: RuntimeEvent) => void>();
  #clock = 0;

  constructor(
    private readonly latency: HollowLatency,
    images: readonly string[],
  ) {
    this.#images = new Set(images);
  }

  async listContainers(): Promise<RuntimeContainerSummary[]> {
    await pause(this.latency.listMs);
    return [...this.#containers.values()].map((c) => ({ id: c.id, name: c.name, state: c.state, health: 'none', labels: c.labels, createdAt: c.createdAt, networks: c.networks }));
  }

  async inspectContainer(id: string): Promise<RuntimeContainerDetails | undefined> {
    await pause(this.latency.inspectMs);
    const container = this.#containers.get(id);
    return container ? { view: { ...container.view, name: container.name }, restartCount: 0, state: container.state, health: 'none' } : undefined;
  }

  /** Hollow containers run nothing, so they have no output. */
  async containerOutputTail(): Promise<string> {
    return '';
  }

  async listImages(): Promise<RuntimeImage[]> {
    return [...this.#images].map((image) => ({ id: `sha256:${image}`, references: [image] }));
  }

  async pullImage(image: string): Promise<PulledImage> {
    await pause(this.latency.createMs);
    this.#images.add(image);
    return {};
  }

  async createContainer(request: ContainerCreateRequest): Promise<string> {
    await pause(this.latency.createMs);
    if ([...this.#containers.values()].some((c) => c.name === request.name)) throw new NameConflictError(`the name ${request.name} is already in use`);
    const id = randomBytes(32).toString('hex');
    const { config } = request;
    const labels = sortedRecord({ ...config.labels, ...request.identityLabels });
    this.#clock += 1;
    const view: ContainerConfigView = {
      name: request.name,
      image: config.image,
      command: [...(config.command ?? [])],
      env: Object.entries(config.env).map(([key, value]) => `${key}=${value}`).sort(),
      labels,
      ports: [...config.ports].sort(),
      mounts: config.volumes.map((entry) => (typeof entry === 'string' ? entry : JSON.stringify(entry))).sort(),
      restart: `${config.restart}:0`,
      healthcheck: config.healthcheck?.test ? [...config.healthcheck.test] : [],
    };
    const networks = request.attach?.networkMode !== undefined ? [request.attach.networkMode] : (request.attach?.networks.map((network) => network.name) ?? ['bridge']);
    this.#containers.set(id, { id, name: request.name, state: 'created', labels, createdAt: this.#clock, view, networks: networks.sort() });
    this.#emit(id, 'create');
    return id;
  }

  async startContainer(id: string): Promise<StartResult> {
    await pause(this.latency.startMs);
    const container = this.#get(id);
    if (container.state === 'running') return 'already-running';
    container.state = 'running';
    this.#emit(id, 'start');
    return 'started';
  }

  async renameContainer(id: string, name: string): Promise<'renamed' | 'already-named'> {
    await pause(this.latency.inspectMs);
    const container = this.#get(id);
    if (container.name === name) return 'already-named';
    if ([...this.#containers.values()].some((c) => c.name === name)) throw new NameConflictError(`the name ${name} is already in use`);
    container.name = name;
    this.#emit(id, 'rename');
    return 'renamed';
  }

  async unpauseContainer(id: string): Promise<'unpaused' | 'not-paused'> {
    const container = this.#get(id);
    if (container.state !== 'paused') return 'not-paused';
    container.state = 'running';
    this.#emit(id, 'unpause');
    return 'unpaused';
  }

  async stopContainer(id: string): Promise<'stopped' | 'already-stopped' | 'missing'> {
    await pause(this.latency.stopMs);
    const container = this.#containers.get(id);
    if (!container) return 'missing';
    if (container.state !== 'running' && container.state !== 'paused') return 'already-stopped';
    container.state = 'exited';
    this.#emit(id, 'die');
    return 'stopped';
  }

  async removeContainer(id: string): Promise<'removed' | 'missing'> {
    await pause(this.latency.removeMs);
    if (!this.#containers.delete(id)) return 'missing';
    this.#emit(id, 'destroy');
    return 'removed';
  }

  async listNetworks(): Promise<RuntimeResourceSummary[]> {
    return [...this.#networks.values()];
  }

  async createNetwork(request: NetworkCreateRequest): Promise<string> {
    await pause(this.latency.createMs);
    if (this.#networks.has(request.name)) throw new NameConflictError(`network name ${request.name} is already in use`);
    const id = randomBytes(32).toString('hex');
    this.#networks.set(request.name, { id, name: request.name, labels: { ...(request.spec.labels ?? {}), ...request.identityLabels } });
    return id;
  }

  async removeNetwork(id: string): Promise<'removed' | 'missing'> {
    await pause(this.latency.removeMs);
    const network = [...this.#networks.values()].find((candidate) => candidate.id === id);
    if (!network) return 'missing';
    if ([...this.#containers.values()].some((c) => c.networks.includes(network.name))) throw new Error(`network ${network.name} has active endpoints`);
    this.#networks.delete(network.name);
    return 'removed';
  }

  async listVolumes(): Promise<RuntimeResourceSummary[]> {
    return [...this.#volumes.values()];
  }

  async createVolume(request: VolumeCreateRequest): Promise<string> {
    await pause(this.latency.createMs);
    if (this.#volumes.has(request.name)) throw new NameConflictError(`volume name ${request.name} is already in use`);
    this.#volumes.set(request.name, { id: request.name, name: request.name, labels: { ...(request.spec.labels ?? {}), ...request.identityLabels } });
    return request.name;
  }

  async removeImage(imageId: string, references: readonly string[]): Promise<ImageRemoval> {
    await pause(this.latency.removeMs);
    const image = imageId.replace(/^sha256:/, '');
    if (!this.#images.has(image)) return { result: 'missing' };
    const others = [image].filter((reference) => !references.includes(reference));
    if (others.length > 0) return { result: 'kept', others };
    this.#images.delete(image);
    return { result: 'removed', freedBytes: 0 };
  }

  async removeVolume(name: string): Promise<'removed' | 'missing'> {
    await pause(this.latency.removeMs);
    return this.#volumes.delete(name) ? 'removed' : 'missing';
  }

  watchEvents(onEvent: (event: RuntimeEvent) => void, signal: AbortSignal): void {
    this.#listeners.add(onEvent);
    signal.addEventListener('abort', () => this.#listeners.delete(onEvent), { once: true });
  }

  #get(id: string): HollowContainer {
    const container = this.#containers.get(id);
    // Docker answers 404 here; the executor treats it as a failed action, as it would on a real host.
    if (!container) throw new Error(`no such container: ${id}`);
    return container;
  }

  #emit(containerId: string, action: string): void {
    for (const listener of this.#listeners) listener({ type: 'container', action, containerId });
  }
}

function pause(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}

function sortedRecord(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => compareStrings(a, b)));
}
