import { z } from 'zod';
import { desiredAuthorSchema } from './desired-author.js';
import { instanceConditionSchema } from './instance-condition.js';

/** What drift an instance can show; the same names in status, plans and events. */
export const driftKindSchema = z.enum(['missing', 'stopped', 'modified', 'unhealthy']);
export type DriftKind = z.infer<typeof driftKindSchema>;

export const instanceStatusSchema = z.object({
  project: z.string(),
  service: z.string(),
  instance: z.number().int(),
  name: z.string(),
  containerId: z.string().optional(),
  state: z.enum(['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead', 'missing']),
  health: z.enum(['none', 'starting', 'healthy', 'unhealthy']),
  specHash: z.string().optional(),
  restartCount: z.number().int().optional(),
  /** When the container's main process last started (ISO): what `ps` shows as uptime. Absent: not known. */
  startedAt: z.string().optional(),
  /** The image the container runs (sha256:…) and a repo digest of it, when the host has one. */
  imageId: z.string().optional(),
  imageDigest: z.string().optional(),
  drift: z.array(driftKindSchema),
  /** Set while the instance crash-loops or has failed (see instanceConditionSchema); such a project is not converged. */
  condition: instanceConditionSchema.optional(),
});
export type InstanceStatus = z.infer<typeof instanceStatusSchema>;

export const unownedContainerSchema = z.object({ project: z.string(), containerId: z.string(), name: z.string(), reason: z.string() });
export type UnownedContainer = z.infer<typeof unownedContainerSchema>;

export const gateBlockSchema = z.object({
  project: z.string(),
  gate: z.enum(['unowned-target', 'name-conflict', 'empty-project', 'image-unavailable', 'host-policy', 'resource-changed', 'external-missing', 'service-not-here', 'port-conflict']),
  message: z.string(),
});
export type GateBlock = z.infer<typeof gateBlockSchema>;

export const projectStatusSchema = z.object({
  project: z.string(),
  desiredRevision: z.number().int(),
  appliedRevision: z.number().int().optional(),
  /** True when a full converge would change nothing, nothing is blocked and no instance has a condition. */
  converged: z.boolean(),
  pendingActions: z.number().int(),
  instances: z.array(instanceStatusSchema),
  unowned: z.array(unownedContainerSchema),
  blocked: z.array(gateBlockSchema),
  /**
   * Set when the agent gave up on the desired revision after repeated failures: it neither retries
   * nor repairs the project until a new revision or `hostwright retry` lifts it (`lift` says how).
   */
  rejected: z.object({ revision: z.number().int(), reason: z.string(), at: z.string().optional(), lift: z.string().optional() }).optional(),
  /** Set while the project's last attempts failed and it waits before the next (its actions held until `retryAt`). */
  backoff: z.object({ revision: z.number().int(), attempts: z.number().int(), reason: z.string(), since: z.string(), retryAt: z.string() }).optional(),
  /** The desired document has no services (`down`, or a project moved off the host): it is being removed here. */
  removed: z.boolean().optional(),
  /** Who wrote the desired revision (shared/desired-author.ts); absent for one written before authors. */
  author: desiredAuthorSchema.optional(),
});
export type ProjectStatus = z.infer<typeof projectStatusSchema>;

/**
 * A removed project with nothing left of it on the host (no instance, container, block or pending
 * action): `status` and `ps` leave it out. Its row stays in the report, at the revision that
 * removed it, for `apply --wait`, `down --wait` and rollouts to see the removal converged.
 */
export function isGone(project: ProjectStatus): boolean {
  return project.removed === true && project.converged && project.instances.length === 0 && project.unowned.length === 0 && project.blocked.length === 0 && project.rejected === undefined;
}

/** A desired-state value the agent refused (bad signature, foreign, replayed…); it kept the last good state. */
export const desiredRefusalSchema = z.object({ key: z.string(), reason: z.string(), refusedAt: z.string() });
export type DesiredRefusal = z.infer<typeof desiredRefusalSchema>;

/**
 * A pull in flight on the host, with its progress over all layers so far: what `apply --wait`,
 * `rollout`, `pull` and `status --watch` show while a long pull lasts (events say only that it ended).
 */
export const pullInFlightSchema = z.object({
  image: z.string(),
  /** The projects whose services name the image. */
  projects: z.array(z.string()),
  layers: z.number().int(),
  layersDone: z.number().int(),
  bytes: z.number(),
  totalBytes: z.number(),
  since: z.string(),
});
export type PullInFlight = z.infer<typeof pullInFlightSchema>;

/** A host's latest observed status; the `status --json` schema and the status KV value. */
export const hostStatusSchema = z.object({
  hostId: z.string(),
  observedAt: z.string(),
  projects: z.array(projectStatusSchema),
  /** Refusals since the last good document of each key; absent when there are none. */
  refusedDesired: z.array(desiredRefusalSchema).optional(),
  /** The agent was started with --allow-unsigned: it accepts desired state nobody signed. */
  acceptsUnsigned: z.boolean().optional(),
  /** Pulls in flight when the status was sent (at most about one status a second while they last); absent when none. */
  pulls: z.array(pullInFlightSchema).optional(),
});
export type HostStatus = z.infer<typeof hostStatusSchema>;
