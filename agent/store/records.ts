import { z } from 'zod';
import { actionSchema } from '../../shared/actions.js';

/** Written (fsync) before a mutation: what is about to be attempted, and by which cycle. */
export const intentRecordSchema = z.object({
  seq: z.number().int(),
  correlationID: z.string(),
  action: actionSchema,
  /** For create: the token the new container's labels will carry. */
  ownerToken: z.string().optional(),
  /** For start after create: the container the chain created. */
  containerId: z.string().optional(),
  startedAt: z.string(),
});
export type IntentRecord = z.infer<typeof intentRecordSchema>;

export const outcomeSchema = z.enum(['done', 'already', 'failed', 'recovered', 'abandoned']);
export type Outcome = z.infer<typeof outcomeSchema>;

/** Written (fsync) right after the mutation, in the same batch as its events. */
export const resultRecordSchema = z.object({
  seq: z.number().int(),
  outcome: outcomeSchema,
  message: z.string(),
  containerId: z.string().optional(),
  finishedAt: z.string(),
});
export type ResultRecord = z.infer<typeof resultRecordSchema>;

/**
 * images: the references the applied revision names (normalized); previousImages: those of the revision
 * applied before it, kept so that a rollback finds its images on the host (image cleanup spares both).
 */
export const appliedRevisionSchema = z.object({ project: z.string(), revision: z.number().int(), appliedAt: z.string(), images: z.array(z.string()).optional(), previousImages: z.array(z.string()).optional() });
export type AppliedRevision = z.infer<typeof appliedRevisionSchema>;

/** A desired revision the agent gave up on after repeated failures; cleared by a new revision or an explicit apply. */
export const rejectedRevisionSchema = z.object({ project: z.string(), revision: z.number().int(), reason: z.string(), at: z.string() });
export type RejectedRevision = z.infer<typeof rejectedRevisionSchema>;
