import { z } from 'zod';
import { hostDesiredSchema } from '../../shared/host-desired.js';
import { maskServices } from '../../shared/secret-env.js';

export const rolloutHostStateSchema = z.enum(['pending', 'applying', 'healthy', 'failed', 'skipped', 'rolling-back', 'rolled-back']);
export type RolloutHostState = z.infer<typeof rolloutHostStateSchema>;

export const rolloutHostSchema = z.object({
  hostId: z.string(),
  wave: z.number().int(),
  state: rolloutHostStateSchema,
  /** What the host ran before the rollout touched it (null: the project was new there). */
  previous: hostDesiredSchema.nullable(),
  /** What the rollout moves it to; the revision is set when it is written. */
  target: hostDesiredSchema,
  /** The document revision written for this host, once written. */
  writtenRevision: z.number().int().optional(),
  /** A host that gives instances of moved services: the receiving hosts that must be healthy before it is written. */
  after: z.array(z.string()).optional(),
  startedAt: z.string().optional(),
  healthySince: z.string().optional(),
  finishedAt: z.string().optional(),
  message: z.string().optional(),
});
export type RolloutHost = z.infer<typeof rolloutHostSchema>;

export const rolloutOptionsSchema = z.object({
  canary: z.number().int().min(0),
  maxParallel: z.number().int().min(1),
  minHealthyMs: z.number().int().min(0),
  healthyDeadlineMs: z.number().int().min(1),
  /** Hosts that may fail before the rollout stops (a ratio given on the command line is turned into a count). */
  maxFailures: z.number().int().min(0),
  onFailure: z.enum(['pause', 'rollback']),
  order: z.enum(['stop-first', 'start-first']),
  skipOffline: z.boolean(),
});
export type RolloutOptions = z.infer<typeof rolloutOptionsSchema>;

export const rolloutStatusSchema = z.enum(['running', 'paused', 'rolling-back', 'succeeded', 'failed', 'rolled-back', 'aborted']);
export type RolloutStatus = z.infer<typeof rolloutStatusSchema>;

/** A rollout, as stored in KV `hw_rollouts` under its id: enough for any coordinator to resume it. */
export const rolloutStateSchema = z.object({
  schema: z.literal('hostwright.rollout/v1'),
  id: z.string(),
  project: z.string(),
  correlationID: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  options: rolloutOptionsSchema,
  waves: z.array(z.array(z.string())),
  currentWave: z.number().int(),
  status: rolloutStatusSchema,
  reason: z.string().optional(),
  hosts: z.array(rolloutHostSchema),
});
export type RolloutState = z.infer<typeof rolloutStateSchema>;

export const TERMINAL_HOST_STATES: readonly RolloutHostState[] = ['healthy', 'failed', 'skipped', 'rolled-back'];
export const FINISHED_STATUSES: readonly RolloutStatus[] = ['succeeded', 'failed', 'rolled-back', 'aborted'];

/** The rollout as printed (`--json`): documents with secret env values masked to digests. */
export function maskedRollout(state: RolloutState): RolloutState {
  return { ...state, hosts: state.hosts.map((host) => ({ ...host, previous: host.previous && maskServices(host.previous), target: maskServices(host.target) })) };
}
