import type { Duplex } from 'node:stream';
import type { Attachments } from '../../shared/actions.js';
import type { RuntimeConfig } from '../../shared/fleet-spec.js';
import type { NetworkSpec, VolumeSpec } from '../../shared/project-resources.js';
import type { FileSecret } from '../../shared/file-secrets.js';
import type { ContainerConfigView, ContainerState, Health } from '../core/snapshot.js';

export interface SecretMount {
  readonly source: string;
  readonly target: string;
}

/** One container as the runtime lists it (cheap: no per-container inspect). */
export interface RuntimeContainerSummary {
  readonly id: string;
  readonly name: string;
  readonly state: ContainerState;
  readonly health: Health;
  readonly labels: Readonly<Record<string, string>>;
  readonly createdAt: number;
  /** An exited container's exit code, from the list's status text ("Exited (0) 5 seconds ago"). */
  readonly exitCode?: number;
  /** The networks it is attached to, sorted. */
  readonly networks?: readonly string[];
  /** Its IPv4 address on each network it is attached to, by the engine's network name (the endpoint registry publishes them). */
  readonly addresses?: Readonly<Record<string, string>>;
  /** The host ports it publishes (a running container's). */
  readonly ports?: readonly { readonly ip: string; readonly port: number; readonly protocol: 'tcp' | 'udp' }[];
  /** The id of the image it runs (sha256:…). */
  readonly imageId?: string;
}

/** A network or volume as the runtime lists it; a volume's id is its name. */
export interface RuntimeResourceSummary {
  readonly id: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** A network's IPv4 subnets (IPAM config); absent for volumes and networks without one. */
  readonly subnets?: readonly string[];
}

export interface NetworkCreateRequest {
  readonly name: string;
  readonly spec: NetworkSpec;
  /** Hostwright's identity labels, merged over the network's own. */
  readonly identityLabels: Readonly<Record<string, string>>;
}

export interface VolumeCreateRequest {
  readonly name: string;
  readonly spec: VolumeSpec;
  readonly identityLabels: Readonly<Record<string, string>>;
}

/** The details only an inspect returns. */
export interface RuntimeContainerDetails {
  readonly view: ContainerConfigView;
  readonly restartCount: number;
  readonly state: ContainerState;
  readonly health: Health;
  /** The main process's exit code once it has exited or while the runtime waits to restart it (a one-shot that completed has 0). */
  readonly exitCode?: number;
  /** Whether the kernel killed the last run for exceeding its memory limit (some engines reset it when the container starts again, some keep it). */
  readonly oomKilled?: boolean;
  /** When its main process last started (ISO); absent when it never ran. */
  readonly startedAt?: string;
}

export interface ContainerCreateRequest {
  readonly name: string;
  readonly config: RuntimeConfig;
  /** config.env resolved to plain values (secrets and secret files read); only the runtime sees it. */
  readonly env: Readonly<Record<string, string>>;
  /** Hostwright's identity labels, merged over the service's own labels. */
  readonly identityLabels: Readonly<Record<string, string>>;
  /** Its network mode or networks and its volumes' engine names; Docker's default bridge when absent. */
  readonly attach?: Attachments;
  /** The files config.secrets was written to and where each is mounted, read-only (agent/runtime/secret-files.ts). */
  readonly secretMounts?: readonly SecretMount[];
}

/** A change the runtime reports; it only wakes the loop, which re-reads everything. */
export type RuntimeEvent =
  /** attributes: what the engine says of the container with the event (its labels, name, image), when it does. */
  | { readonly type: 'container'; readonly action: string; readonly containerId: string; readonly attributes?: Readonly<Record<string, string>> }
  | { readonly type: 'reconnected' }
  | { readonly type: 'disconnected'; readonly error: string };

/**
 * The only way Hostwright reads or changes a host's containers. Every mutation is idempotent
 * in the way the spec demands: starting a running container, stopping a stopped one and
 * removing a missing one all succeed and say so.
 */
export interface RuntimeAdapter {
  listContainers(): Promise<RuntimeContainerSummary[]>;
  /** undefined when the container no longer exists. */
  inspectContainer(id: string): Promise<RuntimeContainerDetails | undefined>;
  /** The last `lines` lines of a container's output, stdout and stderr as they were written; '' when it is gone. */
  containerOutputTail(id: string, lines: number): Promise<string>;
  /** Images present locally, each with the references it answers to (tags and repo digests). */
  listImages(): Promise<RuntimeImage[]>;
  /** Throws ImageUnavailableError with the runtime's reason when the image cannot be had; tells progress as layers arrive. */
  pullImage(image: string, signal?: AbortSignal, onProgress?: (progress: PullProgress) => void): Promise<PulledImage>;
  /** Throws NameConflictError when the name is taken. */
  createContainer(request: ContainerCreateRequest): Promise<string>;
  /** 'started-after-release': the engine kept a stale network endpoint of this container; it was released first. */
  startContainer(id: string, secrets?: readonly FileSecret[]): Promise<StartResult>;
  /** Throws NameConflictError when the new name is taken. */
  renameContainer(id: string, name: string): Promise<'renamed' | 'already-named'>;
  unpauseContainer(id: string): Promise<'unpaused' | 'not-paused'>;
  stopContainer(id: string, timeoutSeconds: number): Promise<'stopped' | 'already-stopped' | 'missing'>;
  removeContainer(id: string): Promise<'removed' | 'missing'>;
  listNetworks(): Promise<RuntimeResourceSummary[]>;
  /** Throws NameConflictError when a network of that name exists. */
  createNetwork(request: NetworkCreateRequest): Promise<string>;
  /** Throws when containers are still attached. */
  removeNetwork(id: string): Promise<'removed' | 'missing'>;
  listVolumes(): Promise<RuntimeResourceSummary[]>;
  /** Throws NameConflictError when a volume of that name exists (the engine would silently hand it back). */
  createVolume(request: VolumeCreateRequest): Promise<string>;
  /** Throws when a container still uses it. */
  removeVolume(name: string): Promise<'removed' | 'missing'>;
  /**
   * Removes an image by its references, and only while it answers to no other ('kept' then, with
   * them); 'missing' when the image is gone. Throws when a container uses it.
   */
  removeImage(imageId: string, references: readonly string[]): Promise<ImageRemoval>;
  /** Streams runtime events until the signal aborts, reconnecting with backoff after a failure. */
  watchEvents(onEvent: (event: RuntimeEvent) => void, signal: AbortSignal): void;
  /** Starts a command in a running container (`hostwright exec`); a runtime without it refuses exec. */
  startExec?(containerId: string, request: ExecStartRequest): Promise<RuntimeExec>;
}

export interface ExecStartRequest {
  readonly argv: readonly string[];
  readonly tty: boolean;
  readonly stdin: boolean;
  readonly size?: { readonly cols: number; readonly rows: number } | undefined;
}

/** A started exec: its attached stream (multiplexed unless tty), resize, and its exit code once it ended. */
export interface RuntimeExec {
  readonly stream: Duplex;
  resize(size: { readonly cols: number; readonly rows: number }): Promise<void>;
  exitCode(): Promise<number | null>;
}

/** One local image: its id, and its tags ("app:1") and repo digests ("app@sha256:…"), sorted. */
export interface RuntimeImage {
  readonly id: string;
  readonly references: readonly string[];
}

/** What a removal of an image did: the bytes it freed (the image's own, shared layers not counted). */
export type ImageRemoval = { readonly result: 'removed'; readonly freedBytes: number } | { readonly result: 'missing' } | { readonly result: 'kept'; readonly others: readonly string[] };

/** What a pull got: the image id and the digest the reference resolved to, and a reference to the credentials used (never their value). */
export interface PulledImage {
  readonly imageId?: string | undefined;
  readonly digest?: string | undefined;
  readonly credentials?: string | undefined;
}

/** A pull's progress over all its layers so far. */
export interface PullProgress {
  readonly layers: number;
  readonly layersDone: number;
  readonly bytes: number;
  readonly totalBytes: number;
}

export type StartResult = 'started' | 'started-after-release' | 'already-running';
