import { z } from 'zod';
import { driftPolicySchema, hostIdSchema, nameSchema, serviceSpecSchema } from './fleet-spec.js';

/** Desired state of one project on one host: what the agent reconciles toward. */
export const hostDesiredSchema = z.strictObject({
  hostId: hostIdSchema,
  project: nameSchema,
  /** Increases with every change of content; the agent reports which revision it applied. */
  revision: z.number().int().min(1),
  drift: driftPolicySchema.optional(),
  services: z.record(nameSchema, serviceSpecSchema),
  /** Permits a plan that leaves the project with no running instance. */
  allowEmpty: z.boolean().default(false),
  /** How instances are replaced (a rollout's --order); absent: each service's update_order. */
  updateOrder: z.enum(['stop-first', 'start-first']).optional(),
  /** Correlates the agent's cycle with the request that wrote this document. */
  correlationID: z.string().optional(),
});
export type HostDesired = z.infer<typeof hostDesiredSchema>;
