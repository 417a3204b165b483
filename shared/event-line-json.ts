import { z } from 'zod';
import { hostwrightEventSchema } from './events.js';

/** One line of `events --json`: an event, with how far its signature was checked (fleet mode only). */
export const eventLineJsonSchema = hostwrightEventSchema.extend({
  schema: z.literal('hostwright.event/v1'),
  trust: z.enum(['verified', 'unverified']).optional(),
});
export type EventLineJson = z.infer<typeof eventLineJsonSchema>;

/** One line of `events --json` in fleet mode: a message on a host's event subject that failed its checks. */
export const refusedEventLineJsonSchema = z.strictObject({
  schema: z.literal('hostwright.refusedevent/v1'),
  subject: z.string(),
  seq: z.number().int(),
  hostId: z.string(),
  reason: z.string(),
});
