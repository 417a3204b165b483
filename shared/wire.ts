import { z } from 'zod';
import { hostIdSchema } from './fleet-spec.js';
import { hostDesiredSchema } from './host-desired.js';
import { hostStatusSchema } from './host-status.js';
import { planReportSchema } from './plan-report.js';

/** KV hw_hosts/<hostId>: who the host is and when it was last heard from. */
export const hostRegistrationSchema = z.object({
  hostId: hostIdSchema,
  labels: z.record(z.string(), z.string()),
  agentVersion: z.string(),
  /** The desired-state schema the agent reads (shared/desired-schema.ts); absent: an agent before versioning, schema 1. */
  desiredSchema: z.number().int().min(1).optional(),
  startedAt: z.string(),
  heartbeatAt: z.string(),
  /** Names the agent's journal (agent/store/journal.ts `id`): a new one asks for desired state from the start. */
  journalId: z.string().max(64).optional(),
});
export type HostRegistration = z.infer<typeof hostRegistrationSchema>;

/** KV hw_status/<hostId>: the host's latest status as its agent reported it. */
export const statusReportSchema = z.object({
  hostId: hostIdSchema,
  reportedAt: z.string(),
  agentVersion: z.string(),
  outboxDepth: z.number().int(),
  status: hostStatusSchema,
});
export type StatusReport = z.infer<typeof statusReportSchema>;

/** Request on hw.rpc.<hostId>.plan: plan this candidate against the live observation; change nothing. */
export const planRequestSchema = z.object({
  correlationID: z.string(),
  candidate: hostDesiredSchema,
});
export type PlanRequest = z.infer<typeof planRequestSchema>;

export const planReplySchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), hostId: z.string(), plan: planReportSchema }),
  z.object({ ok: z.literal(false), hostId: z.string(), error: z.string() }),
]);
export type PlanReply = z.infer<typeof planReplySchema>;

/** Largest message an agent accepts on any subject it reads; larger ones are rejected unread. */
export const MAX_WIRE_BYTES = 512 * 1024;
