import { z } from 'zod';

/** A service asked to update start-first that runs stop-first (shared/update-order.ts UpdateOrderException). */
export const updateOrderExceptionSchema = z.strictObject({
  project: z.string(),
  service: z.string(),
  requested: z.literal('start-first'),
  runs: z.literal('stop-first'),
  hostPort: z.number().int(),
  message: z.string(),
});

/**
 * One progress line of `rollout -f … --json` and `rollout resume --json` (docs/json.md): the line
 * a person would read, the rollout's id, and the update-order exception when the line says one.
 * The last line is the rollout's state instead (`rollout status --json`).
 */
export const rolloutProgressJsonSchema = z.strictObject({
  progress: z.string(),
  rollout: z.string(),
  updateOrder: updateOrderExceptionSchema.optional(),
});
export type RolloutProgressJson = z.infer<typeof rolloutProgressJsonSchema>;
