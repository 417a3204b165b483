import { z } from 'zod';
import { wiringEdgeJsonSchema } from './fleet-plan-json.js';
import { hostStatusSchema } from './host-status.js';

/** One host in `status --json` (fleet mode): its registration, its last status report and how far both were verified. */
export const fleetHostStatusSchema = z.strictObject({
  hostId: z.string(),
  labels: z.record(z.string(), z.string()),
  heartbeatAt: z.string().nullable(),
  /** No heartbeat for a while: the agent is down or cut off from NATS; its status may be old. */
  stale: z.boolean(),
  reportedAt: z.string().nullable(),
  outboxDepth: z.number().int().nullable(),
  status: hostStatusSchema.nullable(),
  /** `verified`: every report the host has is signed by its key; `refused`: one failed its checks and is left out. */
  trust: z.enum(['verified', 'unverified', 'refused']),
  refused: z.array(z.strictObject({ report: z.enum(['registration', 'status']), reason: z.string() })),
  /** false: no agent has registered as this host (NOT REGISTERED); it may hold desired state written with --allow-unregistered. */
  registered: z.boolean().optional(),
  /** The desired revisions a host that is NOT REGISTERED holds, by project; absent for a registered host. */
  desired: z.array(z.strictObject({ project: z.string(), revision: z.number().int() })).optional(),
});
export type FleetHostStatus = z.infer<typeof fleetHostStatusSchema>;

/**
 * `status --json` in fleet mode (docs/json.md): `wiring` in the one-shot document (the depends_on
 * edges across hosts), `at` in each document `status --watch --json` prints instead.
 */
export const fleetStatusJsonSchema = z.strictObject({
  schema: z.literal('hostwright.fleetstatus/v1'),
  at: z.string().optional(),
  hosts: z.array(fleetHostStatusSchema),
  wiring: z.array(wiringEdgeJsonSchema).optional(),
});
export type FleetStatusJson = z.infer<typeof fleetStatusJsonSchema>;
