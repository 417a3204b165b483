import { z } from 'zod';
import { boundedArray, boundedRecord, boundedString } from './bounded.js';
import { MAX_PATH_LENGTH } from './limits.js';

/** A context's name: what `--context` and `hostwright context use` take. */
export const CONTEXT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
export const contextNameSchema = boundedString(63).regex(CONTEXT_NAME_PATTERN, 'expected a name of letters, digits, ".", "_" or "-" (max 63, starting with a letter or digit)');

/** The CLI runs from any directory: a path in the file is absolute, or under the home directory (`~/…`). */
const configPathSchema = boundedString(MAX_PATH_LENGTH).regex(/^(\/|~\/)[^\0]*$/, 'expected an absolute path or one starting with ~/');

const natsUrlSchema = boundedString(1024).regex(/^(nats|tls|ws|wss):\/\/[^\s,]+$/, 'expected a URL such as nats://127.0.0.1:4222');

/**
 * One fleet as the CLI reaches it. Paths only: the files they name hold the secrets, the
 * configuration never does. Keys mirror the agent's configuration file (shared/agent-config.ts).
 */
export const cliContextSchema = z.strictObject({
  nats: z
    .strictObject({
      /** One URL, or the servers of a cluster. */
      servers: z.union([natsUrlSchema, boundedArray(natsUrlSchema, 32).min(1)]),
      /** The coordinator's credentials from `hostwright fleet init`. */
      creds: configPathSchema.optional(),
      tls: z
        .strictObject({ ca: configPathSchema.optional(), cert: configPathSchema.optional(), key: configPathSchema.optional() })
        .refine((tls) => (tls.cert === undefined) === (tls.key === undefined), 'cert and key go together (a client certificate needs its key)')
        .optional(),
    })
    .optional(),
  /** The coordinator's signing seed (coordinator-signing.nk): read only by commands that write desired state. */
  signing_key: configPathSchema.optional(),
  /** The fleet's auth dir (or its fleet-auth.json). */
  fleet_auth: configPathSchema.optional(),
  /** The name a command that takes `--as` records when none is given. */
  as: boundedString(128).min(1).optional(),
});
export type CliContext = z.infer<typeof cliContextSchema>;

/** `$XDG_CONFIG_HOME/hostwright/config.yaml` (docs/cli.md, "Contexts"). */
export const cliConfigSchema = z.strictObject({
  /** The context fleet commands use when neither --context nor $HOSTWRIGHT_CONTEXT names one. */
  current_context: contextNameSchema.optional(),
  contexts: boundedRecord(contextNameSchema, cliContextSchema, 256, 'contexts').optional(),
});
export type CliConfig = z.infer<typeof cliConfigSchema>;
