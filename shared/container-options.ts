import { z } from 'zod';
import { boundedArray, boundedRecord, boundedString } from './bounded.js';
import { byteSizeSchema } from './byte-size.js';
import { MAX_ARG_LENGTH, MAX_COMMAND_ARGS, MAX_KEY_LENGTH, MAX_LABEL_VALUE_LENGTH, MAX_LABELS, MAX_PATH_LENGTH, MAX_PORTS } from './limits.js';

// The container options of a production service, with compose's names and meanings. Every one is
// optional with no default, so a service that sets none hashes as it did before they existed.

/** The Linux capabilities (without the "CAP_" prefix, which is accepted too). */
export const CAPABILITIES = [
  'AUDIT_CONTROL', 'AUDIT_READ', 'AUDIT_WRITE', 'BLOCK_SUSPEND', 'BPF', 'CHECKPOINT_RESTORE', 'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID',
  'IPC_LOCK', 'IPC_OWNER', 'KILL', 'LEASE', 'LINUX_IMMUTABLE', 'MAC_ADMIN', 'MAC_OVERRIDE', 'MKNOD', 'NET_ADMIN', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_RAW',
  'PERFMON', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYSLOG', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_CHROOT', 'SYS_MODULE', 'SYS_NICE', 'SYS_PACCT', 'SYS_PTRACE',
  'SYS_RAWIO', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'WAKE_ALARM',
] as const;

/** What Docker grants a container by default: adding one of these back is no escalation. */
export const DEFAULT_CAPABILITIES: readonly string[] = ['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'NET_RAW', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT'];

/** A capability's name as Docker takes it: upper case, without the "CAP_" prefix. */
export function capabilityName(text: string): string {
  return text.toUpperCase().replace(/^CAP_/, '');
}

export const capabilitySchema = boundedString(64).refine((text) => text.toUpperCase() === 'ALL' || (CAPABILITIES as readonly string[]).includes(capabilityName(text)), {
  error: (issue) => `unknown capability ${JSON.stringify(issue.input)} (expected e.g. NET_ADMIN, SYS_PTRACE or ALL)`,
});

export const ULIMIT_NAMES = ['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack'] as const;
const ulimitValueSchema = z.number().int().min(-1);
const ulimitSchema = z.union([ulimitValueSchema, z.strictObject({ soft: ulimitValueSchema, hard: ulimitValueSchema }).refine((limit) => limit.hard === -1 || (limit.soft !== -1 && limit.soft <= limit.hard), 'soft must not exceed hard')]);

const absolutePath = boundedString(MAX_PATH_LENGTH).regex(/^\//, 'expected an absolute path');
const hostnameSchema = boundedString(253).regex(/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/, 'expected a host name (letters, digits, "-" and dots)');
const ipSchema = boundedString(64).regex(/^(\d{1,3}(\.\d{1,3}){3}|[0-9A-Fa-f:]+:[0-9A-Fa-f:.]*)$/, 'expected an IPv4 or IPv6 address');

export const loggingSchema = z.strictObject({
  driver: boundedString(64).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'expected a log driver name such as json-file, local or syslog').optional(),
  options: boundedRecord(boundedString(MAX_KEY_LENGTH).min(1), boundedString(MAX_LABEL_VALUE_LENGTH), MAX_LABELS, 'log options').optional(),
});

/** The options, by compose name, as they sit in a service (and in the spec hash). */
export const containerOptionsShape = {
  entrypoint: boundedArray(boundedString(MAX_ARG_LENGTH), MAX_COMMAND_ARGS).optional(),
  working_dir: absolutePath.optional(),
  user: boundedString(256).regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$/, 'expected "user", "uid", "user:group" or "uid:gid"').optional(),
  group_add: boundedArray(z.union([boundedString(256).min(1), z.number().int().min(0)]), 256).optional(),
  hostname: hostnameSchema.optional(),
  domainname: hostnameSchema.optional(),
  cpus: z.number().gt(0, 'cpus must be more than 0').max(1024).optional(),
  cpu_shares: z.number().int().min(2).max(262_144).optional(),
  mem_limit: byteSizeSchema.optional(),
  mem_reservation: byteSizeSchema.optional(),
  /** -1: unlimited swap. */
  memswap_limit: z.union([z.literal(-1), byteSizeSchema]).optional(),
  /** -1 or 0: unlimited. */
  pids_limit: z.number().int().min(-1).optional(),
  ulimits: boundedRecord(boundedString(32).refine((name) => (ULIMIT_NAMES as readonly string[]).includes(name), { error: (issue) => `unknown ulimit ${JSON.stringify(issue.input)} (expected one of ${ULIMIT_NAMES.join(', ')})` }), ulimitSchema, ULIMIT_NAMES.length, 'ulimits').optional(),
  cap_add: boundedArray(capabilitySchema, 64).optional(),
  cap_drop: boundedArray(capabilitySchema, 64).optional(),
  security_opt: boundedArray(boundedString(1024).min(1), 64).optional(),
  read_only: z.boolean().optional(),
  /** "/path[:options]", e.g. "/run:size=64m,mode=1777". */
  tmpfs: boundedArray(boundedString(MAX_PATH_LENGTH).regex(/^\/[^:]*(:.*)?$/, 'expected "/path" or "/path:options"'), 64).optional(),
  init: z.boolean().optional(),
  shm_size: byteSizeSchema.optional(),
  sysctls: boundedRecord(boundedString(256).regex(/^[a-z0-9_]+(\.[a-z0-9_*-]+)+$/i, 'expected a sysctl name such as net.core.somaxconn'), z.union([boundedString(1024), z.number()]), 256, 'sysctls').optional(),
  /** "host:ip" (also "host=ip"), as compose writes them. */
  extra_hosts: boundedArray(boundedString(512).regex(/^[^\s:=]+[:=](\d{1,3}(\.\d{1,3}){3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*|host-gateway)$/, 'expected "name:ip" (or "name:host-gateway")'), 1000).optional(),
  dns: boundedArray(ipSchema, 16).optional(),
  dns_search: boundedArray(hostnameSchema, 16).optional(),
  logging: loggingSchema.optional(),
  stop_signal: boundedString(32).regex(/^(SIG[A-Z0-9+-]+|[0-9]{1,2})$/, 'expected a signal such as SIGTERM, SIGQUIT or a number').optional(),
  /** Ports the container listens on without publishing them: "80", "8000/udp". */
  expose: boundedArray(z.union([z.number().int().min(1).max(65535), boundedString(16).regex(/^\d{1,5}(\/(tcp|udp))?$/, 'expected "port" or "port/tcp|udp"')]), MAX_PORTS).optional(),
  privileged: z.boolean().optional(),
  /** "/dev/host[:/dev/container[:rwm]]". */
  devices: boundedArray(boundedString(MAX_PATH_LENGTH).regex(/^\/[^:]+(:\/[^:]+)?(:[rwm]{1,3})?$/, 'expected "/dev/host[:/dev/container[:rwm]]"'), 64).optional(),
  /** A terminal for the main process (Docker keeps it on a detached container); `stdin_open` keeps stdin open. */
  tty: z.boolean().optional(),
  stdin_open: z.boolean().optional(),
  /** The image platform the engine must run ("linux/amd64"); the create fails on a host whose image is not for it. */
  platform: boundedString(64).regex(/^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/, 'expected "os/arch[/variant]" such as linux/amd64 or linux/arm64/v8').optional(),
} as const;

export type ContainerOptions = z.infer<z.ZodObject<typeof containerOptionsShape>>;
export const CONTAINER_OPTION_NAMES = Object.keys(containerOptionsShape) as (keyof ContainerOptions)[];
