import { z } from 'zod';
import { boundedArray, boundedRecord, boundedString } from './bounded.js';
import { capabilitySchema } from './container-options.js';
import { durationSchema } from './duration.js';
import { hostIdSchema } from './fleet-spec.js';
import { MAX_KEY_LENGTH, MAX_LABELS, MAX_LABEL_VALUE_LENGTH, MAX_PATH_LENGTH } from './limits.js';

/** A service manager starts the agent in `/`: every path in the file is absolute. */
const absolutePathSchema = boundedString(MAX_PATH_LENGTH).regex(/^\/[^\0]*$/, 'expected an absolute path');

const natsUrlSchema = boundedString(1024).regex(/^(nats|tls|ws|wss):\/\/[^\s,]+$/, 'expected a URL such as nats://127.0.0.1:4222');

/** The coordinator's public signing key (an nkeys operator key, O…) or the file holding it. */
const coordinatorKeySchema = z.union([boundedString(64).regex(/^O[A-Z2-7]{55}$/, 'expected a public key O…'), absolutePathSchema], { error: 'expected the coordinator\'s public key (O…, 56 characters) or an absolute path to coordinator-signing.pub' });

/**
 * `/etc/hostwright/agent.yaml`: everything `hostwright agent` takes as a flag, for a host that runs
 * it as a service. Keys are the flags' names in snake_case; a flag given on the command line wins.
 */
export const agentConfigSchema = z.strictObject({
  host_id: hostIdSchema.optional(),
  labels: boundedRecord(boundedString(MAX_KEY_LENGTH).min(1), boundedString(MAX_LABEL_VALUE_LENGTH), MAX_LABELS, 'labels').optional(),
  nats: z
    .strictObject({
      /** One URL, or the servers of a cluster. */
      servers: z.union([natsUrlSchema, boundedArray(natsUrlSchema, 32).min(1)]),
      /** The host's credentials from `hostwright fleet init` (an nkey seed file or a .creds file). */
      creds: absolutePathSchema.optional(),
      tls: z
        .strictObject({ ca: absolutePathSchema.optional(), cert: absolutePathSchema.optional(), key: absolutePathSchema.optional() })
        .refine((tls) => (tls.cert === undefined) === (tls.key === undefined), 'cert and key go together (a client certificate needs its key)')
        .optional(),
    })
    .optional(),
  coordinator_key: coordinatorKeySchema.optional(),
  /** INSECURE: accept desired state nobody signed. */
  allow_unsigned: z.boolean().optional(),
  /** This host's curve seed file (SX…, from `fleet init`): opens the secrets sealed to it (docs/secrets.md). */
  curve_key: absolutePathSchema.optional(),
  /** Where secret files are written; must be on a tmpfs. */
  secrets_dir: absolutePathSchema.optional(),
  data_dir: absolutePathSchema.optional(),
  name_prefix: boundedString(32).regex(/^[a-zA-Z0-9_.-]*$/, 'expected letters, digits, ".", "_" or "-"').optional(),
  parallel: z.number().int().min(1).max(64).optional(),
  resync: durationSchema.optional(),
  heartbeat: durationSchema.optional(),
  metrics_addr: boundedString(256).regex(/^[^\s]+:\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:9464').optional(),
  log_level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).optional(),
  /** What desired state may ask of this host beyond an ordinary container (agent/core/host-policy.ts). */
  policy: z
    .strictObject({
      allow_privileged: z.boolean().optional(),
      allow_devices: z.boolean().optional(),
      allow_caps: boundedArray(capabilitySchema, 64).optional(),
      allow_host_paths: boundedArray(absolutePathSchema, 256).optional(),
      allow_host_network: z.boolean().optional(),
      allow_security_opts: boundedArray(boundedString(1024).min(1), 64).optional(),
      allow_sysctls: boundedArray(boundedString(256).min(1), 256).optional(),
      allow_volume_drivers: boundedArray(boundedString(128).min(1), 64).optional(),
      allow_volume_types: boundedArray(boundedString(64).min(1), 64).optional(),
      allow_log_drivers: boundedArray(boundedString(64).min(1), 64).optional(),
      allow_secret_files: boundedArray(absolutePathSchema, 256).optional(),
      allow_network_opts: boundedArray(boundedString(256).min(1), 64).optional(),
      /** Answer signed `hostwright exec` requests (remote code execution; off unless set). */
      allow_exec: z.boolean().optional(),
    })
    .optional(),
  /** Registry credentials for pulls: a file in Docker's config.json format (docs/images.md). */
  registry_auth: absolutePathSchema.optional(),
  /** How long an image Hostwright pulled stays after no revision names it (docs/images.md, cleanup). */
  image_grace: durationSchema.optional(),
});
export type AgentConfig = z.infer<typeof agentConfigSchema>;
