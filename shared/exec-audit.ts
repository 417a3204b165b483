import { z } from 'zod';

/**
 * What an `exec` event records of a session: who (the key that signed the request, and the NATS
 * user and name the request says), where, the argv, when, the exit code and byte counts. Never a
 * byte of the session's input or output.
 */
export const execAuditSchema = z.strictObject({
  phase: z.enum(['started', 'ended']),
  session: z.string().optional(),
  signingKey: z.string().optional(),
  natsUser: z.string().optional(),
  as: z.string().optional(),
  container: z.string().optional(),
  argv: z.array(z.string()),
  tty: z.boolean(),
  startedAt: z.string(),
  endedAt: z.string().optional(),
  exitCode: z.number().int().nullable().optional(),
  bytes: z.strictObject({ stdin: z.number().int(), stdout: z.number().int(), stderr: z.number().int() }).optional(),
});
export type ExecAudit = z.infer<typeof execAuditSchema>;
