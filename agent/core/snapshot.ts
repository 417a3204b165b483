import { z } from 'zod';
import type { FieldChange } from '../../shared/spec-diff.js';
import { runtimeConfigSchema } from '../../shared/fleet-spec.js';
import type { instanceKeySchema } from '../../shared/actions.js';
import type { HostImage } from './image-cleanup.js';

export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';
export type Health = 'none' | 'starting' | 'healthy' | 'unhealthy';

/** Stable identity of one instance of a service on a host (its wire form: shared/actions.ts). */
export type InstanceKey = Readonly<z.infer<typeof instanceKeySchema>>;

/** What a container's Hostwright labels claim; claims are checked against the journal. */
export interface LabelledIdentity extends InstanceKey {
  readonly hostId: string;
  readonly specHash: string;
  readonly ownerToken: string;
}

export type Ownership = { readonly owned: true } | { readonly owned: false; readonly reason: string };

/** The part of a container's configuration read back from the runtime, compared to detect out-of-band changes. */
export const containerConfigViewSchema = z.object({
  name: z.string(),
  image: z.string(),
  command: z.array(z.string()),
  env: z.array(z.string()),
  labels: z.record(z.string(), z.string()),
  ports: z.array(z.string()),
  mounts: z.array(z.string()),
  restart: z.string(),
  healthcheck: z.array(z.string()),
  // The container options (agent/runtime/docker-container.ts); optional, as views recorded before they existed lack them.
  entrypoint: z.array(z.string()).optional(),
  working_dir: z.string().optional(),
  user: z.string().optional(),
  group_add: z.array(z.string()).optional(),
  hostname: z.string().optional(),
  domainname: z.string().optional(),
  /** Resources in the engine's units: cpus, memory and shared memory in bytes; 0 is the engine's default. */
  cpus: z.number().optional(),
  cpu_shares: z.number().optional(),
  mem_limit: z.number().optional(),
  mem_reservation: z.number().optional(),
  memswap_limit: z.number().optional(),
  pids_limit: z.number().optional(),
  shm_size: z.number().optional(),
  ulimits: z.array(z.string()).optional(),
  cap_add: z.array(z.string()).optional(),
  cap_drop: z.array(z.string()).optional(),
  security_opt: z.array(z.string()).optional(),
  read_only: z.boolean().optional(),
  tmpfs: z.array(z.string()).optional(),
  init: z.boolean().optional(),
  sysctls: z.record(z.string(), z.string()).optional(),
  extra_hosts: z.array(z.string()).optional(),
  dns: z.array(z.string()).optional(),
  dns_search: z.array(z.string()).optional(),
  logging: z.string().optional(),
  stop_signal: z.string().optional(),
  expose: z.array(z.string()).optional(),
  privileged: z.boolean().optional(),
  devices: z.array(z.string()).optional(),
  tty: z.boolean().optional(),
  stdin_open: z.boolean().optional(),
});
export type ContainerConfigView = z.infer<typeof containerConfigViewSchema>;

/** A container that carries Hostwright labels for this host. */
export interface ObservedContainer {
  /** The engine networks it is attached to, sorted (Docker's "bridge", "host" and "none" included). */
  readonly networks?: readonly string[];
  readonly id: string;
  readonly name: string;
  readonly state: ContainerState;
  readonly health: Health;
  readonly createdAt: number;
  readonly identity: LabelledIdentity;
  readonly ownership: Ownership;
  /** Fields that differ from what was read back right after creation; empty when unchanged or unknown. */
  readonly modifiedFields: readonly string[];
  /** The same fields typed, with the values now and as made (absent where none were compared). */
  readonly modifications?: readonly FieldChange[];
  readonly restartCount: number | undefined;
  /** An exited (or restarting) container's exit code, when the runtime said. */
  readonly exitCode?: number;
  /** The kernel killed its last run for exceeding its memory limit (from an inspect of an owned container; some engines reset it on start). */
  readonly oomKilled?: boolean;
  /** When its main process last started (ISO), for owned containers the runtime inspected. */
  readonly startedAt?: string;
  /** The image it runs: its id, and a repo digest of it when the host knows one. */
  readonly image?: { readonly id: string; readonly digest?: string };
}

/** One observation of the runtime: every input the diff needs besides desired state. */
export interface RuntimeSnapshot {
  readonly hostId: string;
  readonly observedAt: string;
  /** Containers labelled for this host, sorted by name. */
  readonly containers: readonly ObservedContainer[];
  /** Names of every other container on the engine (they can block a create). */
  readonly foreignNames: readonly string[];
  /** The host ids other containers' Hostwright labels name, by container name (another agent on this engine). */
  readonly foreignOwners?: Readonly<Record<string, string>>;
  /** Image references present locally (tags and repo digests), sorted. */
  readonly images: readonly string[];
  /** The image id each present reference (normalized) names; absent in snapshots made without it. */
  readonly imageIds?: Readonly<Record<string, string>>;
  /** Every local image with its references, by id; absent in snapshots made without it. */
  readonly hostImages?: readonly HostImage[];
  /** Ids of the images the engine's containers use, every container (owned or not), sorted. */
  readonly usedImageIds?: readonly string[];
  /** Networks and volumes labelled for this host, sorted by name. */
  readonly networks: readonly ObservedResource[];
  readonly volumes: readonly ObservedResource[];
  /** Names of every other network and volume on the engine (an external one, or one that blocks a create). */
  readonly foreignNetworks: readonly string[];
  readonly foreignVolumes: readonly string[];
  /** Host ports published by running containers Hostwright does not own here, sorted (absent: not observed). */
  readonly foreignPorts?: readonly HeldPort[];
  /** The IPv4 subnets of every network on the engine, sorted (absent when it reports none): a mesh network avoids them. */
  readonly engineSubnets?: readonly string[];
}

/** A host port a container publishes: `ip` 0.0.0.0 (or ::) means every address. */
export interface HeldPort {
  readonly holder: string;
  /** The host whose agent the holder's labels name, when it is another Hostwright agent's. */
  readonly ownerHostId?: string;
  readonly ip: string;
  readonly port: number;
  readonly protocol: 'tcp' | 'udp';
}

export type ResourceKind = 'network' | 'volume';

/** What a network's or volume's Hostwright labels claim; checked against the journal like a container's. */
export interface ResourceIdentity {
  readonly kind: ResourceKind;
  readonly hostId: string;
  readonly project: string;
  /** Its key in the project: `default`, `data`. */
  readonly resource: string;
  readonly specHash: string;
  readonly ownerToken: string;
}

/** A network or volume that carries Hostwright labels for this host. */
export interface ObservedResource {
  /** The network's id; a volume's name (volumes have no other id). */
  readonly id: string;
  readonly name: string;
  readonly identity: ResourceIdentity;
  readonly ownership: Ownership;
  /** A network's: containers attached to it that Hostwright does not own here (they keep it from being removed). */
  readonly foreignUsers?: readonly string[];
  /** A network's IPv4 subnets, as the engine reports them (absent when it reports none). */
  readonly subnets?: readonly string[];
}

/** What the journal remembers about a network or volume Hostwright created. */
export const resourceRecordSchema = z.object({
  ownerToken: z.string(),
  intentSeq: z.number().int(),
  kind: z.enum(['network', 'volume']),
  hostId: z.string(),
  project: z.string(),
  resource: z.string(),
  /** The engine's name. */
  name: z.string(),
  specHash: z.string(),
  /** Set once the create succeeded (or was recovered): the network id, or the volume name. */
  resourceId: z.string().optional(),
  removed: z.boolean(),
});
export type ResourceRecord = z.infer<typeof resourceRecordSchema>;

/** The engine name of a project network or volume Hostwright creates: `<prefix><project>_<key>`, as compose names them. */
export function resourceName(namePrefix: string, project: string, key: string): string {
  return `${namePrefix}${project}_${key}`;
}

/** What the journal remembers about a container Hostwright created (stored; validated on read). */
export const ownerRecordSchema = z.object({
  ownerToken: z.string(),
  /** Sequence number of the create intent that issued the token: later records win. */
  intentSeq: z.number().int(),
  hostId: z.string(),
  project: z.string(),
  service: z.string(),
  instance: z.number().int(),
  name: z.string(),
  specHash: z.string(),
  config: runtimeConfigSchema,
  /** Set once the create succeeded (or was recovered). */
  containerId: z.string().optional(),
  /** Read back from the runtime right after creation. */
  createdView: containerConfigViewSchema.optional(),
  /** Set when Hostwright removed the container. */
  removed: z.boolean(),
  /**
   * Starts of this container the engine refused in a row, and its last answer; cleared by a start
   * that succeeds. (An engine that does not answer at all does not count: that is not the container.)
   */
  refusedStarts: z.object({ count: z.number().int().min(1), lastError: z.string() }).optional(),
  /** The service's restart generation this container was (re)started for (`hostwright restart`); absent: none. */
  restartGeneration: z.number().int().optional(),
});
export type OwnerRecord = z.infer<typeof ownerRecordSchema>;

export function instanceKeyString(key: InstanceKey): string {
  return `${key.project}/${key.service}/${key.instance}`;
}

export function containerName(namePrefix: string, key: InstanceKey): string {
  return `${namePrefix}${key.project}-${key.service}-${key.instance}`;
}
