import { z } from 'zod';
import { actionSchema } from './actions.js';
import { driftKindSchema, gateBlockSchema } from './host-status.js';
import { fieldChangeSchema } from './spec-diff.js';

/** Every kind of difference the diff finds between desired and observed (agent/core/diff.ts narrows on them). */
export const diffKindSchema = z.enum(['create', 'replace', 'modified', 'stopped', 'unhealthy', 'remove', 'name-conflict', 'unowned', 'in-sync', 'restart']);
export type DiffKind = z.infer<typeof diffKindSchema>;

export const diffEntryReportSchema = z.object({
  kind: diffKindSchema,
  project: z.string(),
  service: z.string(),
  instance: z.number().int(),
  name: z.string(),
  containerId: z.string().nullable(),
  detail: z.string(),
  /** replace and modified: the field-level change (shared/spec-diff.ts); absent from older agents and other kinds. */
  changes: z.array(fieldChangeSchema).optional(),
});
export type DiffEntryReport = z.infer<typeof diffEntryReportSchema>;

/** A project network or volume that is not simply in sync: what the plan does about it, or why not. */
export const resourceReportSchema = z.object({
  /** unused: removed by this plan; kept: an unused volume kept with its data. */
  kind: z.enum(['create', 'changed', 'name-conflict', 'external-missing', 'unused', 'kept']),
  resourceKind: z.enum(['network', 'volume']),
  project: z.string(),
  resource: z.string(),
  name: z.string(),
  detail: z.string(),
});
export type ResourceReport = z.infer<typeof resourceReportSchema>;

/** One host's plan: what `plan --json` prints and what an agent answers a dry-run request with. */
export const planReportSchema = z.object({
  schema: z.literal('hostwright.plan/v1'),
  hostId: z.string(),
  observedAt: z.string(),
  observationFingerprint: z.string(),
  projects: z.array(z.object({ project: z.string(), revision: z.number().int(), mode: z.enum(['converge', 'maintain']) })),
  changes: z.boolean(),
  diff: z.array(diffEntryReportSchema),
  /** Networks and volumes (absent from agents older than project networks). */
  resources: z.array(resourceReportSchema).optional(),
  actions: z.array(z.intersection(actionSchema, z.object({ description: z.string(), blocked: z.boolean() }))),
  blocked: z.array(gateBlockSchema),
  drift: z.array(z.object({ kind: driftKindSchema, project: z.string(), service: z.string(), instance: z.number().int(), action: z.enum(['repair', 'report']), message: z.string() })),
});
export type PlanReport = z.infer<typeof planReportSchema>;
