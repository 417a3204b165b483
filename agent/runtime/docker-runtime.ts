import type Docker from 'dockerode';
import { ImageUnavailableError, NameConflictError, RuntimeError, RuntimeUnreachableError } from '../../shared/errors.js';
import { configViewOf, containerStateOf, demultiplexOutput, exitCodeFromStatusText, healthFromStatusText, toDockerCreateOptions } from './docker-container.js';
import { dockerMessage, isConflict, isNotFound, isNotModified } from './docker-errors.js';
import { loadDockerode } from './dockerode-loader.js';
import { startDockerExec } from './docker-exec.js';
import { toDockerNetworkOptions, toDockerVolumeOptions } from './docker-resources.js';
import type { RegistryAuthLookup, RegistryAuthSource } from './registry-credentials.js';
import type { ContainerCreateRequest, ExecStartRequest, RuntimeExec, ImageRemoval, PulledImage, PullProgress, RuntimeImage, NetworkCreateRequest, RuntimeAdapter, RuntimeContainerDetails, RuntimeContainerSummary, RuntimeEvent, RuntimeResourceSummary, StartResult, VolumeCreateRequest } from './runtime-adapter.js';
import { sleep } from '../../shared/sleep.js';
import { DEFAULT_SECRETS_DIR, SecretFileStore } from './secret-files.js';
import type { FileSecret } from '../../shared/file-secrets.js';

export interface DockerRuntimeOptions {
  /** A dockerode instance; by default one built from DOCKER_HOST or the local socket. */
  readonly docker?: Docker;
  readonly reconnectMinMs?: number;
  readonly reconnectMaxMs?: number;
  /** Where pulls get registry credentials; none sent when omitted. */
  readonly registryAuth?: RegistryAuthSource | undefined;
  /** Where a container's secret files are opened and written; a container with secrets is refused without it. */
  readonly secretFiles?: SecretFileStore | undefined;
}

/** RuntimeAdapter over the Docker Engine API (dockerode). */
export class DockerRuntime implements RuntimeAdapter {
  readonly docker: Docker;
  readonly #reconnectMinMs: number;
  readonly #reconnectMaxMs: number;
  readonly #registryAuth: RegistryAuthSource | undefined;
  readonly #secretFiles: SecretFileStore;

  constructor(options: DockerRuntimeOptions = {}) {
    this.docker = options.docker ?? new (loadDockerode())();
    this.#reconnectMinMs = options.reconnectMinMs ?? 250;
    this.#reconnectMaxMs = options.reconnectMaxMs ?? 10_000;
    this.#registryAuth = options.registryAuth;
    this.#secretFiles = options.secretFiles ?? new SecretFileStore(DEFAULT_SECRETS_DIR, undefined);
  }

  startExec(containerId: string, request: ExecStartRequest): Promise<RuntimeExec> {
    return startDockerExec(this.docker, containerId, request);
  }

  async listContainers(): Promise<RuntimeContainerSummary[]> {
    const containers = await this.#call('list containers', () => this.docker.listContainers({ all: true }));
    return containers.map((container) => ({
      id: container.Id,
      name: (container.Names[0] ?? '').replace(/^\//, ''),
      state: containerStateOf(container.State),
      health: healthFromStatusText(container.Status),
      labels: container.Labels ?? {},
      createdAt: container.Created,
      ...exitCodeFromStatusText(container.Status),
      ...(container.ImageID ? { imageId: container.ImageID } : {}),
      networks: Object.keys(container.NetworkSettings?.Networks ?? {}).sort(),
      addresses: Object.fromEntries(Object.entries(container.NetworkSettings?.Networks ?? {}).flatMap(([name, network]) => (network.IPAddress ? [[name, network.IPAddress]] : []))),
      ports: (container.Ports ?? []).flatMap((port) => (port.PublicPort ? [{ ip: port.IP ?? '0.0.0.0', port: port.PublicPort, protocol: port.Type === 'udp' ? ('udp' as const) : ('tcp' as const) }] : [])),
    }));
  }

  async inspectContainer(id: string): Promise<RuntimeContainerDetails | undefined> {
    try {
      const inspect = await this.docker.getContainer(id).inspect();
      const health = (inspect.State.Health?.Status ?? 'none') as string;
      const state = containerStateOf(inspect.State.Status);
      const ended = state === 'exited' || state === 'restarting';
      return { view: configViewOf(inspect), restartCount: inspect.RestartCount, state, health: health === 'healthy' || health === 'unhealthy' || health === 'starting' ? health : 'none', oomKilled: inspect.State.OOMKilled, ...(ended ? { exitCode: inspect.State.ExitCode } : {}), ...startedAtOf(inspect.State.StartedAt) };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw runtimeFailure(`inspect container ${id.slice(0, 12)}`, error);
    }
  }

  async containerOutputTail(id: string, lines: number): Promise<string> {
    const container = this.docker.getContainer(id);
    try {
      const inspect = await container.inspect();
      // follow: false makes the engine answer with the whole tail at once (a Buffer, not a stream).
      const output = (await container.logs({ stdout: true, stderr: true, tail: lines, follow: false })) as unknown as Buffer;
      // Without a TTY the engine multiplexes stdout and stderr into frames.
      return inspect.Config.Tty ? output.toString('utf8') : demultiplexOutput(output);
    } catch (error) {
      if (isNotFound(error)) return '';
      throw runtimeFailure(`read the output of container ${id.slice(0, 12)}`, error);
    }
  }

  async listImages(): Promise<RuntimeImage[]> {
    const images = await this.#call('list images', () => this.docker.listImages());
    // An image pinned by digest shows in RepoDigests only: both lists are its references.
    return images.map((image) => ({ id: image.Id, references: [...(image.RepoTags ?? []), ...(image.RepoDigests ?? [])].filter((ref) => !ref.startsWith('<none>')).sort() }));
  }

  async pullImage(image: string, signal?: AbortSignal, onProgress?: (progress: PullProgress) => void): Promise<PulledImage> {
    const lookup = await this.#registryAuth?.lookup(image);
    let digest: string | undefined;
    try {
      const stream = await this.docker.pull(image, { abortSignal: signal, ...(lookup?.auth ? { authconfig: lookup.auth } : {}) });
      const layers = new Map<string, { current: number; total: number; done: boolean }>();
      await new Promise<void>((resolve, reject) => {
        this.docker.modem.followProgress(
          stream,
          (error: Error | null, output: PullStreamLine[]) => {
            const failure = error?.message ?? output.find((line) => line.error)?.error;
            if (failure) reject(new Error(failure));
            else resolve();
          },
          (line: PullStreamLine) => {
            const resolved = /^Digest: (sha256:[0-9a-f]{64})$/.exec(line.status ?? '')?.[1];
            if (resolved) digest = resolved;
            if (!line.id || !onProgress) return;
            const layer = layers.get(line.id) ?? { current: 0, total: 0, done: false };
            if (line.progressDetail?.total) layer.total = line.progressDetail.total;
            if (line.status === 'Downloading' && line.progressDetail?.current !== undefined) layer.current = line.progressDetail.current;
            if (line.status === 'Download complete' || line.status === 'Pull complete' || line.status === 'Already exists') {
              layer.done = true;
              layer.current = layer.total;
            }
            layers.set(line.id, layer);
            onProgress(pullProgressOf(layers));
          },
        );
      });
    } catch (error) {
      throw new ImageUnavailableError(image, `${dockerMessage(error)}${authHint(dockerMessage(error), lookup)}`, { cause: error });
    }
    const inspected = await this.docker.getImage(image).inspect().catch(() => undefined);
    const repoDigest = inspected?.RepoDigests?.find((candidate) => candidate.endsWith(`@${digest ?? ''}`)) ?? inspected?.RepoDigests?.[0];
    return { imageId: inspected?.Id, digest: digest ?? repoDigest?.slice(repoDigest.indexOf('@') + 1), credentials: lookup?.source };
  }

  async createContainer(unopened: ContainerCreateRequest): Promise<string> {
    // Secret files are opened and written only now, each container its own copy on the tmpfs.
    const secrets = unopened.config.secrets === undefined || unopened.config.secrets.length === 0 ? undefined : await this.#secretFiles.materialize(unopened.name, unopened.config.secrets);
    const request: ContainerCreateRequest = secrets === undefined ? unopened : { ...unopened, secretMounts: secrets.mounts };
    try {
      return await this.#create(request);
    } catch (error) {
      if (secrets !== undefined) await this.#secretFiles.remove(secrets.dir);
      throw error;
    }
  }

  async #create(request: ContainerCreateRequest): Promise<string> {
    let id: string;
    try {
      const container = await this.docker.createContainer(toDockerCreateOptions(request));
      id = container.id;
    } catch (error) {
      if (isConflict(error)) throw new NameConflictError(`container name ${request.name} is already in use`, { cause: error });
      if (isNotFound(error) && /network/i.test(dockerMessage(error))) throw runtimeFailure(`create ${request.name}`, error);
      // The engine answers 404 too when the image is there but for another platform than `platform:`.
      if (isNotFound(error) && request.config.platform !== undefined && /platform/i.test(dockerMessage(error))) throw new RuntimeError(`create ${request.name}: the image ${request.config.image} on this host is not for platform ${request.config.platform} (${dockerMessage(error)}); push an image for it, or remove platform:`, { cause: error });
      if (isNotFound(error)) throw new ImageUnavailableError(request.config.image, 'not present locally', { cause: error });
      const missing = /bind source path does not exist: (\S+)/.exec(dockerMessage(error));
      if (missing) throw new RuntimeError(`create ${request.name}: host path ${missing[1]} does not exist, and its volumes entry says bind.create_host_path: false; create it on the host first`, { cause: error });
      throw runtimeFailure(`create ${request.name}`, error);
    }
    // The engine joins one network at create (API 1.41); the others are joined before the first start.
    for (const network of request.attach?.networks.slice(1) ?? []) {
      try {
        await this.docker.getNetwork(network.name).connect({ Container: id, EndpointConfig: { Aliases: [...network.aliases], ...(network.ipv4Address ? { IPAMConfig: { IPv4Address: network.ipv4Address } } : {}) } });
      } catch (error) {
        // Half plugged in is no container to keep: remove it, so the next plan creates it whole.
        await this.docker.getContainer(id).remove({ force: true }).catch(() => undefined);
        throw runtimeFailure(`connect ${request.name} to network ${network.name}`, error);
      }
    }
    return id;
  }

  /**
   * `secrets`: the sealed files the container was created with. Its files on the tmpfs are gone after
   * a reboot (the engine then refuses the start): those missing are written again first.
   */
  async startContainer(id: string, secrets?: readonly FileSecret[]): Promise<StartResult> {
    if (secrets !== undefined && secrets.length > 0) {
      const inspect = await this.docker.getContainer(id).inspect().catch(() => undefined);
      if (inspect !== undefined) await this.#secretFiles.restore(inspect.Name.replace(/^\//, ''), (inspect.HostConfig.Mounts ?? []).flatMap((mount) => (mount.Source === undefined ? [] : [{ source: mount.Source, target: mount.Target }])), secrets);
    }
    return this.#start(id, true);
  }

  async #start(id: string, mayReleaseEndpoint: boolean): Promise<StartResult> {
    try {
      await this.docker.getContainer(id).start();
      return mayReleaseEndpoint ? 'started' : 'started-after-release';
    } catch (error) {
      if (isNotModified(error)) return 'already-running';
      if (mayReleaseEndpoint && (await this.#releaseStaleEndpoint(id, error))) return this.#start(id, false);
      throw runtimeFailure(`start ${id.slice(0, 12)}`, error);
    }
  }

  /**
   * An engine restarted abruptly can keep a network endpoint of a container that is not running;
   * every start then fails with "endpoint with name <name> already exists in network <net>". The
   * endpoint bears this container's own name, so it can only be this container's: disconnect it
   * (force) and start again. True when an endpoint was released.
   */
  async #releaseStaleEndpoint(id: string, error: unknown): Promise<boolean> {
    const stale = /endpoint with name (\S+) already exists in network (\S+)/.exec(dockerMessage(error));
    if (!stale) return false;
    const [, endpoint, network] = stale as unknown as [string, string, string];
    const container = await this.docker.getContainer(id).inspect().catch(() => undefined);
    if (!container || container.Name.replace(/^\//, '') !== endpoint || container.State.Running) return false;
    // If the engine refuses this too, the start's own error is the one worth reporting.
    return this.docker.getNetwork(network).disconnect({ Container: endpoint, Force: true }).then(() => true, () => false);
  }

  async renameContainer(id: string, name: string): Promise<'renamed' | 'already-named'> {
    try {
      const current = await this.docker.getContainer(id).inspect();
      if (current.Name.replace(/^\//, '') === name) return 'already-named';
      await this.docker.getContainer(id).rename({ name });
      return 'renamed';
    } catch (error) {
      if (isConflict(error)) throw new NameConflictError(`cannot rename ${id.slice(0, 12)} to ${name}: the name is in use`, { cause: error });
      throw runtimeFailure(`rename ${id.slice(0, 12)}`, error);
    }
  }

  async unpauseContainer(id: string): Promise<'unpaused' | 'not-paused'> {
    try {
      await this.docker.getContainer(id).unpause();
      return 'unpaused';
    } catch (error) {
      // 409 "Container ... is not paused": already in the wanted state.
      if (isConflict(error) && /not paused/i.test(dockerMessage(error))) return 'not-paused';
      throw runtimeFailure(`unpause ${id.slice(0, 12)}`, error);
    }
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<'stopped' | 'already-stopped' | 'missing'> {
    try {
      await this.docker.getContainer(id).stop({ t: timeoutSeconds });
      return 'stopped';
    } catch (error) {
      if (isNotModified(error)) return 'already-stopped';
      if (isNotFound(error)) return 'missing';
      throw runtimeFailure(`stop ${id.slice(0, 12)}`, error);
    }
  }

  async removeContainer(id: string): Promise<'removed' | 'missing'> {
    try {
      // Its secret files go with it: read where they are before the engine forgets.
      const mounts = (await this.docker.getContainer(id).inspect().catch(() => undefined))?.Mounts ?? [];
      await this.docker.getContainer(id).remove({ force: true, v: false });
      for (const dir of this.#secretFiles.dirsOf(mounts.map((mount) => mount.Source))) await this.#secretFiles.remove(dir);
      return 'removed';
    } catch (error) {
      if (isNotFound(error)) return 'missing';
      // 409 "removal already in progress": another remove of the same container wins; ours is done.
      if (isConflict(error) && /already in progress/i.test(dockerMessage(error))) return 'removed';
      throw runtimeFailure(`remove ${id.slice(0, 12)}`, error);
    }
  }

  async listNetworks(): Promise<RuntimeResourceSummary[]> {
    const networks = await this.#call('list networks', () => this.docker.listNetworks());
    return networks.map((network) => {
      const subnets = (network.IPAM?.Config ?? []).flatMap((range) => (range.Subnet !== undefined && range.Subnet.includes('.') ? [range.Subnet] : []));
      return { id: network.Id, name: network.Name, labels: network.Labels ?? {}, ...(subnets.length > 0 ? { subnets } : {}) };
    });
  }

  async createNetwork(request: NetworkCreateRequest): Promise<string> {
    try {
      const network = await this.docker.createNetwork(toDockerNetworkOptions(request));
      return network.id;
    } catch (error) {
      if (isConflict(error) || /already exists/i.test(dockerMessage(error))) throw new NameConflictError(`network name ${request.name} is already in use`, { cause: error });
      throw runtimeFailure(`create network ${request.name}`, error);
    }
  }

  async removeNetwork(id: string): Promise<'removed' | 'missing'> {
    try {
      await this.docker.getNetwork(id).remove();
      return 'removed';
    } catch (error) {
      if (isNotFound(error)) return 'missing';
      throw runtimeFailure(`remove network ${id.slice(0, 12)}`, error);
    }
  }

  async listVolumes(): Promise<RuntimeResourceSummary[]> {
    const listed = await this.#call('list volumes', () => this.docker.listVolumes());
    return (listed.Volumes ?? []).map((volume) => ({ id: volume.Name, name: volume.Name, labels: volume.Labels ?? {} }));
  }

  async createVolume(request: VolumeCreateRequest): Promise<string> {
    // The engine answers a create of an existing name with that volume: look first, so a volume of
    // someone else's is never taken for a new one.
    const existing = await this.docker.getVolume(request.name).inspect().then(
      () => true,
      (error: unknown) => {
        if (isNotFound(error)) return false;
        throw runtimeFailure(`inspect volume ${request.name}`, error);
      },
    );
    if (existing) throw new NameConflictError(`volume name ${request.name} is already in use`);
    try {
      const volume = (await this.docker.createVolume(toDockerVolumeOptions(request))) as unknown as { Name?: string; name?: string };
      return volume.Name ?? volume.name ?? request.name;
    } catch (error) {
      throw runtimeFailure(`create volume ${request.name}`, error);
    }
  }

  async removeImage(imageId: string, references: readonly string[]): Promise<ImageRemoval> {
    const inspect = await this.docker.getImage(imageId).inspect().catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw runtimeFailure(`inspect image ${imageId}`, error);
    });
    if (inspect === undefined) return { result: 'missing' };
    const others = [...(inspect.RepoTags ?? []), ...(inspect.RepoDigests ?? [])].filter((reference) => !reference.startsWith('<none>') && !references.includes(reference));
    if (others.length > 0) return { result: 'kept', others };
    // The engine counts an image's own bytes (Size less the layers other images share) in its disk usage report.
    const usage = await this.#call('read disk usage', () => this.docker.df() as Promise<{ Images?: { Id: string; Size: number; SharedSize: number }[] }>);
    const listed = usage.Images?.find((image) => image.Id === imageId);
    const freedBytes = listed === undefined ? 0 : listed.SharedSize >= 0 ? listed.Size - listed.SharedSize : listed.Size;
    // Tags first: the last one deletes the image (without force, so a container using it refuses).
    for (const reference of [...references].sort((a, b) => Number(a.includes('@')) - Number(b.includes('@')))) {
      try {
        await this.docker.getImage(reference).remove();
      } catch (error) {
        if (!isNotFound(error)) throw runtimeFailure(`remove image ${reference}`, error);
      }
    }
    try {
      await this.docker.getImage(imageId).remove();
    } catch (error) {
      if (!isNotFound(error)) throw runtimeFailure(`remove image ${imageId}`, error);
    }
    return { result: 'removed', freedBytes };
  }

  async removeVolume(name: string): Promise<'removed' | 'missing'> {
    try {
      await this.docker.getVolume(name).remove();
      return 'removed';
    } catch (error) {
      if (isNotFound(error)) return 'missing';
      throw runtimeFailure(`remove volume ${name}`, error);
    }
  }

  watchEvents(onEvent: (event: RuntimeEvent) => void, signal: AbortSignal): void {
    let delay = this.#reconnectMinMs;
    let connectedOnce = false;
    const connect = async (): Promise<void> => {
      while (!signal.aborted) {
        try {
          const stream = (await this.docker.getEvents({ filters: { type: ['container'] }, abortSignal: signal })) as NodeJS.ReadableStream;
          if (connectedOnce) onEvent({ type: 'reconnected' });
          connectedOnce = true;
          delay = this.#reconnectMinMs;
          await consumeEventLines(stream, onEvent, signal);
        } catch (error) {
          if (signal.aborted) return;
          onEvent({ type: 'disconnected', error: dockerMessage(error) });
        }
        if (signal.aborted) return;
        // The stream ended or failed: events may have been missed, so the next connect reports a gap.
        await sleep(delay, signal);
        delay = Math.min(delay * 2, this.#reconnectMaxMs);
      }
    };
    void connect();
  }

  async #call<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw runtimeFailure(what, error);
    }
  }
}

/**
 * An engine that does not answer (socket missing or refused, connection dropped mid-call) is a
 * RuntimeUnreachableError: it says nothing about the container, so it is retried, never held against it.
 */
function runtimeFailure(what: string, error: unknown): RuntimeError {
  const code = (error as { code?: string }).code;
  // "transport is closing", "client connection is closing": the engine answered, but its containerd did not (restarting).
  if ((code !== undefined && UNREACHABLE_CODES.has(code)) || /transport is closing|client connection is closing/.test(dockerMessage(error))) return new RuntimeUnreachableError(`cannot reach the Docker engine (${dockerMessage(error)}); is dockerd running, and is DOCKER_HOST right?`, { cause: error });
  return new RuntimeError(`${what}: ${dockerMessage(error)}`, { cause: error });
}

/** One line of the engine's pull stream (/images/create). */
interface PullStreamLine {
  readonly id?: string;
  readonly status?: string;
  readonly error?: string;
  readonly progressDetail?: { readonly current?: number; readonly total?: number };
}

function pullProgressOf(layers: ReadonlyMap<string, { current: number; total: number; done: boolean }>): PullProgress {
  let bytes = 0;
  let totalBytes = 0;
  let layersDone = 0;
  for (const layer of layers.values()) {
    bytes += layer.current;
    totalBytes += layer.total;
    if (layer.done) layersDone += 1;
  }
  return { layers: layers.size, layersDone, bytes, totalBytes };
}

/** What to check when a registry refused a pull: the credentials used (by reference only), or that none were found. */
function authHint(message: string, lookup: RegistryAuthLookup | undefined): string {
  if (!/unauthorized|authentication required|no basic auth credentials|denied|401/i.test(message)) return '';
  if (!lookup) return '; this agent has no registry credentials (start it with --registry-auth FILE)';
  if (!lookup.auth) return `; ${lookup.source}`;
  return `; the registry ${lookup.registry} refused the credentials from ${lookup.source}`;
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EPIPE']);

async function consumeEventLines(stream: NodeJS.ReadableStream, onEvent: (event: RuntimeEvent) => void, signal: AbortSignal): Promise<void> {
  let buffered = '';
  const onAbort = () => (stream as unknown as { destroy?: () => void }).destroy?.();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of stream) {
      buffered += chunk.toString();
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf('\n');
        if (line === '') continue;
        try {
          const message = JSON.parse(line) as { Type?: string; Action?: string; Actor?: { ID?: string; Attributes?: Record<string, string> }; id?: string };
          const containerId = message.Actor?.ID ?? message.id;
          if (message.Type === 'container' && containerId) onEvent({ type: 'container', action: message.Action ?? '', containerId, attributes: message.Actor?.Attributes ?? {} });
        } catch {
          // A line we cannot parse still means something changed.
          onEvent({ type: 'reconnected' });
        }
      }
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  if (!signal.aborted) throw new Error('docker event stream ended');
}

/** Docker's StartedAt, unless the container never ran (then it is the zero time, 0001-01-01). */
function startedAtOf(startedAt: string | undefined): { startedAt?: string } {
  return startedAt === undefined || startedAt === '' || startedAt.startsWith('0001-') ? {} : { startedAt };
}
