import { z } from 'zod';
import { hostIdSchema } from './fleet-spec.js';
import { hostDesiredSchema } from './host-desired.js';
import { hostStatusSchema } from './host-status.js';
import { MAX_HEARTBEAT_MS, MIN_HEARTBEAT_MS } from './limits.js';
import { meshLiveSchema, meshRegistrationSchema } from './mesh.js';
import { planReportSchema } from './plan-report.js';
import { requestSealSchema } from './signed-request.js';

/** KV hw_hosts/<hostId>: who the host is and when it was last heard from. */
export const hostRegistrationSchema = z.object({
  hostId: hostIdSchema,
  labels: z.record(z.string(), z.string()),
  agentVersion: z.string(),
  /** The desired-state schema the agent reads (shared/desired-schema.ts); absent: an agent before versioning, schema 1. */
  desiredSchema: z.number().int().min(1).optional(),
  startedAt: z.string(),
  heartbeatAt: z.string(),
  /** The agent's heartbeat period in ms (its `--heartbeat`): the host reads stale after three missed beats (coordinator/heartbeat-age.ts); absent from an older agent. */
  heartbeatMs: z.number().int().min(MIN_HEARTBEAT_MS).max(MAX_HEARTBEAT_MS).optional(),
  /** Names the agent's journal (agent/store/journal.ts `id`): a new one asks for desired state from the start. */
  journalId: z.string().max(64).optional(),
  /** The agent reads signed retry and pull requests (shared/signed-request.ts); absent: an older agent, which reads only unsigned ones. */
  signedRequests: z.boolean().optional(),
  /** The host's end of the fleet's WireGuard mesh (shared/mesh.ts), when its agent was started with one. */
  mesh: meshRegistrationSchema.optional(),
  /** Whether the host's live mesh matches the document it holds, at its last drift check; beside `mesh`, so an older coordinator ignores it. */
  meshLive: meshLiveSchema.optional(),
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

/** Request on hw.rpc.<hostId>.retry: lift the project's rejection, cut its backoff short and try its revision again. */
export const retryRequestSchema = z.object({
  correlationID: z.string().max(128),
  project: z.string().min(1).max(128),
  /** Host, nonce and expiry of a signed request (shared/signed-request.ts); an agent that pins the coordinator key requires it. */
  seal: requestSealSchema.optional(),
});
export type RetryRequest = z.infer<typeof retryRequestSchema>;

export const retryReplySchema = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    hostId: z.string(),
    project: z.string(),
    /** The rejection lifted, if the desired revision was rejected. */
    rejected: z.object({ revision: z.number().int(), reason: z.string() }).optional(),
    /** The failure streak cut short, if the project was backing off. */
    backoff: z.object({ revision: z.number().int(), attempts: z.number().int(), reason: z.string() }).optional(),
  }),
  z.object({ ok: z.literal(false), hostId: z.string(), error: z.string() }),
]);
export type RetryReply = z.infer<typeof retryReplySchema>;

/**
 * Request on hw.rpc.<hostId>.pull: pull what this candidate revision needs and the host lacks (by
 * its pull policies), as its rollout would, and change nothing else. Like a plan request it is
 * unsigned: only the coordinator may send it, and it starts, stops or removes no container.
 */
export const pullRequestSchema = z.object({
  correlationID: z.string().max(128),
  candidate: hostDesiredSchema,
  /** As a retry request's. */
  seal: requestSealSchema.optional(),
});
export type PullRequest = z.infer<typeof pullRequestSchema>;

export const imagePullResultSchema = z.object({
  image: z.string(),
  outcome: z.enum(['pulled', 'failed']),
  message: z.string(),
  durationMs: z.number(),
});
export type ImagePullResult = z.infer<typeof imagePullResultSchema>;

export const pullReplySchema = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    hostId: z.string(),
    project: z.string(),
    /** Each image the candidate needed pulled, with how its pull ended. */
    pulled: z.array(imagePullResultSchema),
    /** The candidate's images already on the host, which its pull policy does not pull again now. */
    present: z.array(z.string()),
    /** Gates that would block the candidate here: its images are not pulled for it. */
    blocked: z.array(z.string()),
  }),
  z.object({ ok: z.literal(false), hostId: z.string(), error: z.string() }),
]);
export type PullReply = z.infer<typeof pullReplySchema>;

/** Largest message an agent accepts on any subject it reads; larger ones are rejected unread. */
export const MAX_WIRE_BYTES = 512 * 1024;
