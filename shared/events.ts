import { z } from 'zod';
import { EVENT_TYPES } from './event-types.js';
import { execAuditSchema } from './exec-audit.js';
import { desiredAuthorSchema } from './desired-author.js';

export const eventTypeSchema = z.enum(EVENT_TYPES);
export type EventType = z.infer<typeof eventTypeSchema>;

export const severitySchema = z.enum(['info', 'warning', 'error']);
export type Severity = z.infer<typeof severitySchema>;

/** The seed's event schema, plus a unique id (also the JetStream msg id) and the host. */
export const hostwrightEventSchema = z.strictObject({
  id: z.string().min(1),
  type: eventTypeSchema,
  severity: severitySchema,
  hostId: z.string(),
  project: z.string(),
  service: z.string().optional(),
  instance: z.number().int().optional(),
  message: z.string(),
  runtimeRef: z.string().optional(),
  timestamp: z.string(),
  correlationID: z.string(),
  /** An `exec` event's session record (shared/exec-audit.ts). */
  exec: execAuditSchema.optional(),
  /** Who wrote the desired revision whose cycle this event belongs to (absent: none known). */
  author: desiredAuthorSchema.optional(),
});
export type HostwrightEvent = z.infer<typeof hostwrightEventSchema>;

/** The `project` of events about the host itself (a failed cycle, an image pull). */
export const HOST_PROJECT = '_host';

/** An event before the edge stamps it with an id, host, time and correlation id. */
export type EventDraft = Omit<HostwrightEvent, 'id' | 'hostId' | 'timestamp' | 'correlationID' | 'author'>;
