import { z } from 'zod';

/** Where a host stands on the revision `apply --wait` gave it (coordinator/fleet-apply.ts progressOf). */
export const HOST_PROGRESS_STATES = ['waiting', 'applying', 'converged', 'blocked', 'failed', 'stale', 'refused', 'timed-out'] as const;

/** A move's make-before-break write order (coordinator/move-phases.ts moveOrderJson). */
export const moveOrderJsonSchema = z.strictObject({
  moves: z.array(z.strictObject({ service: z.string(), from: z.array(z.string()), to: z.array(z.string()) })),
  phase1: z.array(z.string()),
  phase2: z.array(z.string()),
});

/**
 * `apply --json` in fleet mode (docs/json.md): one shape with or without --wait. `written`: every
 * desired document written; `hosts`: each of them with its state at the end (`written` when not
 * waited for, `not-registered` for a host no agent registered as); `held`: a move's giving hosts left unwritten.
 */
export const fleetApplyJsonSchema = z.strictObject({
  schema: z.literal('hostwright.fleetapply/v2'),
  correlationID: z.string(),
  project: z.string(),
  written: z.array(z.strictObject({ hostId: z.string(), revision: z.number().int() })),
  held: z.array(z.string()),
  hosts: z.array(z.strictObject({ hostId: z.string(), revision: z.number().int(), state: z.enum([...HOST_PROGRESS_STATES, 'written', 'not-registered']) })),
  phases: moveOrderJsonSchema.optional(),
});
export type FleetApplyJson = z.infer<typeof fleetApplyJsonSchema>;
