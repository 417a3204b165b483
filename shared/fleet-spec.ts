import { restartPolicySchema } from './restart-policy.js';
import { z } from 'zod';
import { durationSchema } from './duration.js';
import { LABEL_PREFIX } from './labels.js';
import {
  MAX_ARG_LENGTH,
  MAX_COMMAND_ARGS,
  MAX_ENV_ENTRIES,
  MAX_IMAGE_LENGTH,
  MAX_KEY_LENGTH,
  MAX_LABEL_VALUE_LENGTH,
  MAX_LABELS,
  MAX_PLACEMENT_HOSTS,
  MAX_PORTS,
  MAX_REPLICAS,
  MAX_SERVICES,
  MAX_VOLUMES,
} from './limits.js';
import { boundedArray, boundedRecord, boundedString } from './bounded.js';
import { envValueSchema } from './secret-env.js';
import { fileSecretSchema, MAX_FILE_SECRETS } from './file-secrets.js';
import { CONTAINER_OPTION_NAMES, containerOptionsShape, type ContainerOptions } from './container-options.js';
import { networkModeSchema, networksSchema, resourceReferenceIssues, serviceNetworksSchema, volumesSchema } from './project-resources.js';
import { dependsOnIssues, dependsOnSchema } from './depends-on.js';
import { shortVolumeSchema, volumeEntrySchema } from './volume-mounts.js';

/** Project and service names become container names: keep them DNS- and Docker-safe. */
const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const nameSchema = z.string().regex(NAME_PATTERN, 'expected lowercase letters, digits, "-" or "_" (max 63, starting with a letter or digit)');

const HOST_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
export const hostIdSchema = z.string().regex(HOST_ID_PATTERN, 'expected letters, digits, "-" or "_" (max 63)');

const PORT_PATTERN = /^(?:(?<ip>\d{1,3}(?:\.\d{1,3}){3}):)?(?:(?<host>\d{1,5}):)?(?<container>\d{1,5})(?:\/(?<proto>tcp|udp))?$/;
/** Compose short syntax: "[ip:][hostPort:]containerPort[/tcp|udp]". */
export const portSchema = z
  .string()
  .regex(PORT_PATTERN, 'expected "[ip:][hostPort:]containerPort[/proto]", e.g. "127.0.0.1:8080:80"')
  .refine((text) => !PORT_PATTERN.test(text) || parsePort(text).every((n) => n === undefined || (n >= 1 && n <= 65535)), 'port numbers must be 1-65535');

export interface PortMapping {
  readonly hostIp: string | undefined;
  readonly hostPort: number | undefined;
  readonly containerPort: number;
  readonly protocol: 'tcp' | 'udp';
}

function parsePort(text: string): (number | undefined)[] {
  const groups = PORT_PATTERN.exec(text)?.groups ?? {};
  return [groups.host === undefined ? undefined : Number(groups.host), Number(groups.container)];
}

export function parsePortMapping(text: string): PortMapping {
  const groups = PORT_PATTERN.exec(text)?.groups;
  if (!groups?.container) throw new RangeError(`not a port mapping: ${text}`);
  return {
    hostIp: groups.ip,
    hostPort: groups.host === undefined ? undefined : Number(groups.host),
    containerPort: Number(groups.container),
    protocol: groups.proto === 'udp' ? 'udp' : 'tcp',
  };
}

/** A short-syntax `volumes:` entry (the long syntax: shared/volume-mounts.ts). */
export const volumeSchema = shortVolumeSchema;

const labelsSchema = boundedRecord(boundedString(MAX_KEY_LENGTH).min(1), boundedString(MAX_LABEL_VALUE_LENGTH), MAX_LABELS, 'labels')
  .refine((labels) => Object.keys(labels).every((key) => !key.startsWith(LABEL_PREFIX)), `label keys starting with "${LABEL_PREFIX}" are reserved for Hostwright`);

/** Compose's healthcheck; `disable: true` turns off one the image defines (Docker's test ["NONE"]). */
export const healthcheckSchema = z
  .strictObject({
    test: boundedArray(boundedString(MAX_ARG_LENGTH), MAX_COMMAND_ARGS).min(2, 'expected ["CMD", "prog", ...] or ["CMD-SHELL", "command"]').refine((test) => test[0] === 'CMD' || test[0] === 'CMD-SHELL', 'the first element must be "CMD" or "CMD-SHELL"').optional(),
    interval: durationSchema.optional(),
    timeout: durationSchema.optional(),
    retries: z.number().int().min(0).max(100).optional(),
    start_period: durationSchema.optional(),
    /** How often to check during start_period (Docker 25 and later). */
    start_interval: durationSchema.optional(),
    disable: z.boolean().optional(),
  })
  .superRefine((check, ctx) => {
    if (check.disable && check.test) ctx.addIssue({ code: 'custom', path: ['disable'], message: 'disable: true takes no test' });
    if (!check.disable && !check.test) ctx.addIssue({ code: 'custom', path: ['test'], message: 'expected a test, or disable: true' });
  });
export type Healthcheck = z.infer<typeof healthcheckSchema>;

/** The service has a health check of its own that runs (not turned off). */
export function hasHealthcheck(check: Healthcheck | undefined): boolean {
  return check !== undefined && check.disable !== true && check.test !== undefined;
}

export const driftActionSchema = z.enum(['repair', 'report']);
export type DriftAction = z.infer<typeof driftActionSchema>;

/** What the loop does on its own about each kind of drift; an explicit apply always converges. */
export const driftPolicySchema = z.union([
  driftActionSchema,
  z.strictObject({ missing: driftActionSchema.optional(), stopped: driftActionSchema.optional(), modified: driftActionSchema.optional() }),
]);
export type DriftPolicyInput = z.infer<typeof driftPolicySchema>;

export const placementSchema = z.union([
  z.strictObject({ hosts: boundedArray(hostIdSchema, MAX_PLACEMENT_HOSTS).min(1) }),
  z.strictObject({
    selector: boundedRecord(boundedString(MAX_KEY_LENGTH).min(1), boundedString(MAX_LABEL_VALUE_LENGTH), MAX_LABELS, 'selector entries'),
    /** Hosts the selector leaves out: these host ids, and hosts with any of these label values (Swarm's `!=`). */
    exclude: z
      .strictObject({
        hosts: boundedArray(hostIdSchema, MAX_PLACEMENT_HOSTS).optional(),
        labels: boundedRecord(boundedString(MAX_KEY_LENGTH).min(1), boundedString(MAX_LABEL_VALUE_LENGTH), MAX_LABELS, 'excluded labels').optional(),
      })
      .optional(),
  }),
]);
export type Placement = z.infer<typeof placementSchema>;

export { restartPolicySchema };

/** One service as written in the fleet file. */
const PULL_INTERVAL_UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const EVERY_PATTERN = /^every_(\d{1,6})(s|m|h|d|w)$/;

/**
 * When a host pulls a service's image, as compose names it: `missing` (default; also
 * `if_not_present`) when absent, `never`, `always` at every converge, `daily`, `weekly` or
 * `every_<n><s|m|h|d|w>` when the last pull is older than that.
 */
export const pullPolicySchema = z.union([
  z.enum(['missing', 'if_not_present', 'never', 'always', 'daily', 'weekly']),
  z.string().regex(EVERY_PATTERN, { error: 'expected always, missing, never, daily, weekly or every_<duration> such as every_12h (units s, m, h, d, w)' }),
]);
export type PullPolicy = z.infer<typeof pullPolicySchema>;

/** How old the last pull may be before a policy pulls again: 0 for always, undefined for missing and never. */
export function pullPolicyIntervalMs(policy: PullPolicy): number | undefined {
  if (policy === 'always') return 0;
  if (policy === 'daily') return PULL_INTERVAL_UNIT_MS.d;
  if (policy === 'weekly') return PULL_INTERVAL_UNIT_MS.w;
  const every = EVERY_PATTERN.exec(policy);
  if (!every) return undefined;
  return Number(every[1]) * PULL_INTERVAL_UNIT_MS[every[2] as keyof typeof PULL_INTERVAL_UNIT_MS];
}

const serviceFieldsSchema = z.strictObject({
  image: boundedString(MAX_IMAGE_LENGTH).min(1).regex(/^[^\s]+$/, 'an image reference has no spaces'),
    command: boundedArray(boundedString(MAX_ARG_LENGTH), MAX_COMMAND_ARGS).optional(),
    env: boundedRecord(boundedString(MAX_KEY_LENGTH).regex(/^[^=\s]+$/, 'env names have no "=" or spaces'), envValueSchema, MAX_ENV_ENTRIES, 'env entries').default({}),
    ports: boundedArray(portSchema, MAX_PORTS).default([]),
    volumes: boundedArray(volumeEntrySchema, MAX_VOLUMES).default([]),
    /** Compose secrets and configs, mounted as files from the agent's tmpfs (shared/file-secrets.ts). */
    secrets: boundedArray(fileSecretSchema, MAX_FILE_SECRETS).optional(),
    labels: labelsSchema.default({}),
    restart: restartPolicySchema.default('unless-stopped'),
    healthcheck: healthcheckSchema.optional(),
    replicas: z.number().int().min(0).max(MAX_REPLICAS).default(1),
    pull_policy: pullPolicySchema.default('missing'),
    stop_timeout: durationSchema.default('10s'),
    ...containerOptionsShape,
    /** The project networks the service joins (default: the project's `default` network). */
    networks: serviceNetworksSchema.optional(),
    network_mode: networkModeSchema.optional(),
    /** Start order on a host (compose's depends_on); not part of the container, so not of its spec hash. */
    depends_on: dependsOnSchema.optional(),
    /** start-first: a replacement starts and turns healthy before the old instance stops (needs no fixed host port). */
    update_order: z.enum(['stop-first', 'start-first']).default('stop-first'),
    drift: driftPolicySchema.optional(),
    placement: placementSchema.optional(),
});

/** compose's `stop_grace_period` is another name of `stop_timeout`: one or the other, not both. */
function stopGracePeriodAsStopTimeout(raw: unknown): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || !('stop_grace_period' in raw)) return raw;
  const { stop_grace_period: grace, ...rest } = raw as Record<string, unknown>;
  return rest.stop_timeout !== undefined ? raw : { ...rest, stop_timeout: grace };
}

export const serviceSpecSchema = z.preprocess(stopGracePeriodAsStopTimeout, serviceFieldsSchema.extend({ stop_grace_period: z.never({ error: 'stop_grace_period and stop_timeout name the same setting: keep one' }).optional() })).superRefine((service, ctx) => {
  // Only well-formed ports reach the mapping parser; malformed ones were already reported.
  if (service.replicas > 1 && service.ports.some((port) => PORT_PATTERN.test(port) && parsePortMapping(port).hostPort !== undefined)) {
    ctx.addIssue({ code: 'custom', path: ['ports'], message: 'a fixed host port needs replicas: 1 (two instances cannot bind one port)' });
  }
  const targets = (service.secrets ?? []).map((file) => file.target);
  const twice = targets.find((target, index) => targets.indexOf(target) !== index);
  if (twice !== undefined) ctx.addIssue({ code: 'custom', path: ['secrets'], message: `two secrets or configs are mounted at ${twice}: give each its own target` });
});
export type ServiceSpec = z.infer<typeof serviceSpecSchema>;

/** A fleet file: one project and its services. */
export const fleetFileSchema = z
  .strictObject({
    project: nameSchema,
    drift: driftPolicySchema.optional(),
    services: boundedRecord(nameSchema, serviceSpecSchema, MAX_SERVICES, 'services'),
    networks: networksSchema.optional(),
    volumes: volumesSchema.optional(),
  })
  .superRefine((fleet, ctx) => {
    for (const issue of resourceReferenceIssues(fleet, 'refused')) ctx.addIssue({ code: 'custom', ...issue });
    for (const issue of dependsOnIssues(fleet.services, 'refused')) ctx.addIssue({ code: 'custom', ...issue });
  });
export type FleetFile = z.infer<typeof fleetFileSchema>;

/** The fields that decide what a container is: a change to any of them replaces the container. */
export const runtimeConfigSchema = serviceFieldsSchema.pick({
  image: true,
  command: true,
  env: true,
  ports: true,
  volumes: true,
  labels: true,
  restart: true,
  healthcheck: true,
  stop_timeout: true,
  networks: true,
  network_mode: true,
  secrets: true,
  ...Object.fromEntries(CONTAINER_OPTION_NAMES.map((name) => [name, true])),
} as { [K in 'image' | 'command' | 'env' | 'ports' | 'volumes' | 'labels' | 'restart' | 'healthcheck' | 'stop_timeout' | 'networks' | 'network_mode' | 'secrets' | keyof ContainerOptions]: true });
export type RuntimeConfig = z.infer<typeof runtimeConfigSchema>;

export function runtimeConfigOf(service: ServiceSpec): RuntimeConfig {
  return {
    image: service.image,
    command: service.command,
    env: service.env,
    ports: service.ports,
    volumes: service.volumes,
    labels: service.labels,
    restart: service.restart,
    healthcheck: service.healthcheck,
    stop_timeout: service.stop_timeout,
    // Only the options the service sets: an absent one leaves the spec hash as it was.
    ...(service.networks === undefined ? {} : { networks: service.networks }),
    ...(service.network_mode === undefined ? {} : { network_mode: service.network_mode }),
    ...(service.secrets === undefined ? {} : { secrets: service.secrets }),
    ...Object.fromEntries(CONTAINER_OPTION_NAMES.flatMap((name) => (service[name] === undefined ? [] : [[name, service[name]]]))),
  };
}
