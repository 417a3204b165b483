import { z } from 'zod';
import { dependencyConditionSchema } from './depends-on.js';
import { hostDesiredSchema } from './host-desired.js';
import { planReportSchema } from './plan-report.js';

/** A depends_on edge with the hosts of both ends (coordinator/wiring.ts WiringEdge), in `plan --json` and `status --json`. */
export const wiringEdgeJsonSchema = z.object({ project: z.string(), from: z.string(), fromHosts: z.array(z.string()), to: z.string(), toHosts: z.array(z.string()), via: z.literal('depends_on'), condition: dependencyConditionSchema, required: z.boolean(), reach: z.enum(['same-host', 'across-hosts', 'nowhere']) });

/** A saved fleet plan: exactly what `apply plan.json` writes, and what it must still find to do so. */
export const savedPlanSchema = z.object({
  schema: z.literal('hostwright.fleetplan/v1'),
  createdAt: z.string(),
  correlationID: z.string(),
  project: z.string(),
  /** Services asked to update start-first that run stop-first (a fixed host port); absent in plans saved before it. */
  updateOrder: z.array(z.object({ project: z.string(), service: z.string(), requested: z.literal('start-first'), runs: z.literal('stop-first'), hostPort: z.number().int(), message: z.string() })).optional(),
  hosts: z.array(
    z.object({
      hostId: z.string(),
      document: hostDesiredSchema,
      /** The desired key's KV revision when planned (0: absent). */
      kvRevision: z.number().int(),
      changed: z.boolean(),
      /** No agent had registered as the host (written with --allow-unregistered): it was not asked. */
      unregistered: z.literal(true).optional(),
      /** undefined when the host did not answer. */
      plan: planReportSchema.optional(),
      error: z.string().optional(),
    }),
  ),
  /** A change that moves services: the make-before-break write order `apply` follows (docs/rollout.md, "Moves"). */
  phases: z.object({ moves: z.array(z.object({ service: z.string(), from: z.array(z.string()), to: z.array(z.string()) })), phase1: z.array(z.string()), phase2: z.array(z.string()) }).optional(),
  /** Cordoned hosts a selector matched, and the services left out there (coordinator/cordon.ts). */
  cordoned: z.array(z.object({ hostId: z.string(), reason: z.string().optional(), services: z.array(z.string()) })).optional(),
  /** The project's depends_on edges with the hosts of both ends (coordinator/wiring.ts); absent without depends_on. */
  wiring: z.array(wiringEdgeJsonSchema).optional(),
});
export type SavedPlan = z.infer<typeof savedPlanSchema>;
