import type Docker from 'dockerode';
import { compareStrings } from '../../shared/compare.js';
import { parseDurationMs } from '../../shared/duration.js';
import { parseByteSize } from '../../shared/byte-size.js';
import { capabilityName } from '../../shared/container-options.js';
import { parsePortMapping } from '../../shared/fleet-spec.js';
import { engineRestartPolicy } from '../../shared/restart-policy.js';
import type { ContainerConfigView, ContainerState, Health } from '../core/snapshot.js';
import type { ContainerCreateRequest } from './runtime-adapter.js';
import type { VolumeEntry } from '../../shared/volume-mounts.js';

// Docker's shape stays in this file: Hostwright's RuntimeConfig in, Docker's create options out, and back.

const NS_PER_MS = 1_000_000;

export function toDockerCreateOptions(request: ContainerCreateRequest): Docker.ContainerCreateOptions {
  const { config } = request;
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp?: string; HostPort?: string }[]> = {};
  for (const text of config.ports) {
    const port = parsePortMapping(text);
    const key = `${port.containerPort}/${port.protocol}`;
    exposed[key] = {};
    if (port.hostPort !== undefined || port.hostIp !== undefined) {
      (bindings[key] ??= []).push({ HostIp: port.hostIp ?? '', HostPort: port.hostPort === undefined ? '' : String(port.hostPort) });
    }
  }
  const options: Docker.ContainerCreateOptions = {
    name: request.name,
    Image: config.image,
    Env: Object.entries(request.env).map(([name, value]) => `${name}=${value}`),
    Labels: { ...config.labels, ...request.identityLabels },
    ExposedPorts: exposed,
    StopTimeout: Math.ceil(parseDurationMs(config.stop_timeout) / 1000),
    HostConfig: {
      PortBindings: bindings,
      Binds: config.volumes.flatMap((entry) => bindOf(entry, request.attach?.volumes)),
      RestartPolicy: engineRestartPolicy(config.restart),
    },
  };
  // Secret files as Mounts: after a reboot empties the tmpfs, the engine refuses to start the container
  // (bind source path does not exist) instead of mounting an empty directory in the file's place.
  const secretMounts = (request.secretMounts ?? []).map((mount): MountSettings => ({ Type: 'bind', Source: mount.source, Target: mount.target, ReadOnly: true }));
  const mounts = [...config.volumes.flatMap((entry) => mountOf(entry, request.attach?.volumes)), ...secretMounts];
  if (mounts.length > 0) (options.HostConfig as NonNullable<Docker.ContainerCreateOptions['HostConfig']>).Mounts = mounts as Docker.MountSettings[];
  applyNetworking(options, request);
  if (config.command) options.Cmd = [...config.command];
  if (config.healthcheck) {
    const check = config.healthcheck;
    options.Healthcheck = check.disable
      ? { Test: ['NONE'] }
      : {
          Test: [...(check.test ?? [])],
          ...(check.interval ? { Interval: parseDurationMs(check.interval) * NS_PER_MS } : {}),
          ...(check.timeout ? { Timeout: parseDurationMs(check.timeout) * NS_PER_MS } : {}),
          ...(check.retries !== undefined ? { Retries: check.retries } : {}),
          ...(check.start_period ? { StartPeriod: parseDurationMs(check.start_period) * NS_PER_MS } : {}),
          ...(check.start_interval ? { StartInterval: parseDurationMs(check.start_interval) * NS_PER_MS } : {}),
        };
  }
  applyContainerOptions(options, config);
  return options;
}

/**
 * A `volumes:` entry Docker takes as a bind string: every short-syntax one, and a long-syntax bind
 * whose missing host path Docker may create (create_host_path, compose's default). The rest are Mounts.
 */
function bindOf(entry: VolumeEntry, volumes: Readonly<Record<string, string>> | undefined): string[] {
  if (typeof entry === 'string') return [engineVolumeEntry(entry, volumes)];
  if (entry.type !== 'bind' || entry.bind?.create_host_path === false) return [];
  const options = [...(entry.read_only ? ['ro'] : []), ...(entry.bind?.propagation ? [entry.bind.propagation] : [])];
  return [`${entry.source}:${entry.target}${options.length > 0 ? `:${options.join(',')}` : ''}`];
}

/** A long-syntax entry as one of Docker's Mounts; a bind in Mounts is never created on the host (the engine refuses a missing path). */
function mountOf(entry: VolumeEntry, volumes: Readonly<Record<string, string>> | undefined): MountSettings[] {
  if (typeof entry === 'string' || bindOf(entry, volumes).length > 0) return [];
  const base = { Target: entry.target, ...(entry.read_only ? { ReadOnly: true } : {}) };
  if (entry.type === 'bind') return [{ ...base, Type: 'bind', Source: entry.source ?? '', ...(entry.bind?.propagation ? { BindOptions: { Propagation: entry.bind.propagation } } : {}) }];
  if (entry.type === 'volume') {
    const source = entry.source ?? '';
    const options = { ...(entry.volume?.nocopy ? { NoCopy: true } : {}), ...(entry.volume?.subpath ? { Subpath: entry.volume.subpath } : {}) };
    return [{ ...base, Type: 'volume', Source: volumes?.[source] ?? source, ...(Object.keys(options).length > 0 ? { VolumeOptions: options } : {}) }];
  }
  const tmpfs = { ...(entry.tmpfs?.size !== undefined ? { SizeBytes: parseByteSize(entry.tmpfs.size) } : {}), ...(entry.tmpfs?.mode !== undefined ? { Mode: entry.tmpfs.mode } : {}) };
  return [{ ...base, Type: 'tmpfs', Source: '', ...(Object.keys(tmpfs).length > 0 ? { TmpfsOptions: tmpfs } : {}) }];
}

interface MountSettings {
  readonly Target: string;
  readonly Source: string;
  readonly Type: 'bind' | 'volume' | 'tmpfs';
  readonly ReadOnly?: boolean;
  readonly BindOptions?: { readonly Propagation: string };
  readonly VolumeOptions?: { readonly NoCopy?: boolean; readonly Subpath?: string };
  readonly TmpfsOptions?: { readonly SizeBytes?: number; readonly Mode?: number };
}

/** "data:/path" with the named volume's engine name ("shop_data:/path"); a host path stays as it is. */
function engineVolumeEntry(entry: string, volumes: Readonly<Record<string, string>> | undefined): string {
  const colon = entry.indexOf(':');
  if (volumes === undefined || colon <= 0 || entry.startsWith('/')) return entry;
  const engineName = volumes[entry.slice(0, colon)];
  return engineName === undefined ? entry : `${engineName}${entry.slice(colon)}`;
}

/** Network mode, or the first network with its aliases (the engine joins the others after create). */
function applyNetworking(options: Docker.ContainerCreateOptions, request: ContainerCreateRequest): void {
  const attach = request.attach;
  const host = options.HostConfig as NonNullable<Docker.ContainerCreateOptions['HostConfig']>;
  if (attach === undefined) return;
  if (attach.networkMode !== undefined) {
    // (A fleet file publishes no ports with a network mode: shared/project-resources.ts refuses them.)
    host.NetworkMode = attach.networkMode;
    return;
  }
  const first = attach.networks[0];
  if (first === undefined) return;
  host.NetworkMode = first.name;
  options.NetworkingConfig = { EndpointsConfig: { [first.name]: { Aliases: [...first.aliases], ...(first.ipv4Address ? { IPAMConfig: { IPv4Address: first.ipv4Address } } : {}) } } };
}

/** The container options of a service (shared/container-options.ts) in Docker's create shape. */
function applyContainerOptions(options: Docker.ContainerCreateOptions, config: ContainerCreateRequest['config']): void {
  const host = options.HostConfig as NonNullable<Docker.ContainerCreateOptions['HostConfig']> & Record<string, unknown>;
  if (config.entrypoint) options.Entrypoint = [...config.entrypoint];
  if (config.working_dir !== undefined) options.WorkingDir = config.working_dir;
  if (config.user !== undefined) options.User = config.user;
  if (config.hostname !== undefined) options.Hostname = config.hostname;
  if (config.domainname !== undefined) options.Domainname = config.domainname;
  if (config.stop_signal !== undefined) options.StopSignal = config.stop_signal;
  for (const port of config.expose ?? []) {
    const text = String(port);
    (options.ExposedPorts as Record<string, object>)[text.includes('/') ? text : `${text}/tcp`] = {};
  }
  if (config.group_add) host.GroupAdd = config.group_add.map(String);
  if (config.cpus !== undefined) host.NanoCpus = Math.round(config.cpus * 1e9);
  if (config.cpu_shares !== undefined) host.CpuShares = config.cpu_shares;
  if (config.mem_limit !== undefined) host.Memory = parseByteSize(config.mem_limit);
  if (config.mem_reservation !== undefined) host.MemoryReservation = parseByteSize(config.mem_reservation);
  if (config.memswap_limit !== undefined) host.MemorySwap = config.memswap_limit === -1 ? -1 : parseByteSize(config.memswap_limit);
  if (config.pids_limit !== undefined) host.PidsLimit = config.pids_limit;
  if (config.ulimits) host.Ulimits = Object.entries(config.ulimits).map(([Name, limit]) => (typeof limit === 'number' ? { Name, Soft: limit, Hard: limit } : { Name, Soft: limit.soft, Hard: limit.hard }));
  if (config.cap_add) host.CapAdd = config.cap_add.map(capabilityName);
  if (config.cap_drop) host.CapDrop = config.cap_drop.map(capabilityName);
  if (config.security_opt) host.SecurityOpt = [...config.security_opt];
  if (config.read_only !== undefined) host.ReadonlyRootfs = config.read_only;
  if (config.tmpfs) host.Tmpfs = Object.fromEntries(config.tmpfs.map((entry) => [entry.split(':')[0] as string, entry.includes(':') ? entry.slice(entry.indexOf(':') + 1) : '']));
  if (config.init !== undefined) host.Init = config.init;
  if (config.shm_size !== undefined) host.ShmSize = parseByteSize(config.shm_size);
  if (config.sysctls) host.Sysctls = Object.fromEntries(Object.entries(config.sysctls).map(([name, value]) => [name, String(value)]));
  if (config.extra_hosts) host.ExtraHosts = config.extra_hosts.map((entry) => entry.replace('=', ':'));
  if (config.dns) host.Dns = [...config.dns];
  if (config.dns_search) host.DnsSearch = [...config.dns_search];
  if (config.logging) host.LogConfig = { Type: config.logging.driver ?? 'json-file', Config: { ...(config.logging.options ?? {}) } };
  if (config.privileged !== undefined) host.Privileged = config.privileged;
  if (config.devices) host.Devices = config.devices.map(deviceOf);
  if (config.tty !== undefined) options.Tty = config.tty;
  if (config.stdin_open !== undefined) options.OpenStdin = config.stdin_open;
  // dockerode sends the create's options as its query too: the engine reads `platform` there.
  if (config.platform !== undefined) (options as Record<string, unknown>).platform = config.platform;
}

/** "/dev/host[:/dev/container[:rwm]]" as Docker's device mapping. */
function deviceOf(text: string): { PathOnHost: string; PathInContainer: string; CgroupPermissions: string } {
  const [onHost = '', second, third] = text.split(':');
  const inContainer = second !== undefined && second.startsWith('/') ? second : onHost;
  const permissions = third ?? (second !== undefined && !second.startsWith('/') ? second : 'rwm');
  return { PathOnHost: onHost, PathInContainer: inContainer, CgroupPermissions: permissions };
}

/** The comparable part of an inspect: sorted, so two reads of an unchanged container are equal. */
export function configViewOf(inspect: Docker.ContainerInspectInfo): ContainerConfigView {
  const bindings = inspect.HostConfig.PortBindings as Record<string, { HostIp?: string; HostPort?: string }[] | null> | undefined;
  const ports = Object.entries(bindings ?? {}).flatMap(([port, hosts]) => (hosts ?? []).map((host) => `${host.HostIp ?? ''}:${host.HostPort ?? ''}->${port}`));
  const health = inspect.Config.Healthcheck;
  const restart = inspect.HostConfig.RestartPolicy;
  return {
    name: inspect.Name.replace(/^\//, ''),
    image: inspect.Config.Image,
    command: [...(inspect.Config.Cmd ?? [])],
    env: [...(inspect.Config.Env ?? [])].sort(),
    labels: sortedRecord(inspect.Config.Labels ?? {}),
    ports: ports.sort(),
    mounts: [...(inspect.HostConfig.Binds ?? []), ...mountsViewOf(inspect.HostConfig.Mounts)].sort(),
    restart: `${restart?.Name ?? ''}:${restart?.MaximumRetryCount ?? 0}`,
    healthcheck: health?.Test ? [...health.Test, `interval=${health.Interval ?? 0}`, `timeout=${health.Timeout ?? 0}`, `retries=${health.Retries ?? 0}`] : [],
    ...containerOptionsViewOf(inspect),
  };
}

/** Long-syntax mounts as the engine reports them, one comparable string each ("tmpfs::/cache:rw:size=1048576"). */
function mountsViewOf(mounts: readonly Docker.MountSettings[] | undefined): string[] {
  return (mounts ?? []).map((mount) => {
    const options = [mount.BindOptions?.Propagation, mount.VolumeOptions?.NoCopy ? 'nocopy' : undefined, mount.TmpfsOptions?.SizeBytes ? `size=${mount.TmpfsOptions.SizeBytes}` : undefined, mount.TmpfsOptions?.Mode ? `mode=${mount.TmpfsOptions.Mode.toString(8)}` : undefined].filter((option) => option !== undefined);
    return `${mount.Type}:${mount.Source ?? ''}:${mount.Target}:${mount.ReadOnly ? 'ro' : 'rw'}${options.length > 0 ? `:${options.join(',')}` : ''}`;
  });
}

/**
 * The container options as the engine reports them, by compose name, in a form that compares:
 * a hand edit of one (docker update, a recreate by hand) shows as that field modified.
 */
function containerOptionsViewOf(inspect: Docker.ContainerInspectInfo): Required<Omit<ContainerConfigView, 'name' | 'image' | 'command' | 'env' | 'labels' | 'ports' | 'mounts' | 'restart' | 'healthcheck'>> {
  const host = inspect.HostConfig as Docker.HostConfig & Record<string, unknown>;
  const config = inspect.Config as Docker.ContainerInspectInfo['Config'] & Record<string, unknown>;
  const list = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);
  const record = (value: unknown): Record<string, string> => (value && typeof value === 'object' ? sortedRecord(Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, String(v)]))) : {});
  const ulimits = Array.isArray(host.Ulimits) ? (host.Ulimits as { Name?: string; Soft?: number; Hard?: number }[]).map((u) => `${u.Name}=${u.Soft}:${u.Hard}`).sort() : [];
  const devices = Array.isArray(host.Devices) ? (host.Devices as { PathOnHost?: string; PathInContainer?: string; CgroupPermissions?: string }[]).map((d) => `${d.PathOnHost}:${d.PathInContainer}:${d.CgroupPermissions}`).sort() : [];
  const log = host.LogConfig as { Type?: string; Config?: Record<string, string> } | undefined;
  return {
    entrypoint: list(config.Entrypoint),
    working_dir: String(config.WorkingDir ?? ''),
    user: String(config.User ?? ''),
    group_add: list(host.GroupAdd).sort(),
    hostname: String(config.Hostname ?? ''),
    domainname: String(config.Domainname ?? ''),
    cpus: Number(host.NanoCpus ?? 0) / 1e9,
    cpu_shares: Number(host.CpuShares ?? 0),
    mem_limit: Number(host.Memory ?? 0),
    mem_reservation: Number(host.MemoryReservation ?? 0),
    memswap_limit: Number(host.MemorySwap ?? 0),
    pids_limit: Number(host.PidsLimit ?? 0),
    shm_size: Number(host.ShmSize ?? 0),
    ulimits,
    cap_add: list(host.CapAdd).sort(),
    cap_drop: list(host.CapDrop).sort(),
    security_opt: list(host.SecurityOpt).sort(),
    read_only: Boolean(host.ReadonlyRootfs),
    tmpfs: Object.entries(record(host.Tmpfs)).map(([path, options]) => `${path}:${options}`),
    init: Boolean(host.Init),
    sysctls: record(host.Sysctls),
    extra_hosts: list(host.ExtraHosts).sort(),
    dns: list(host.Dns),
    dns_search: list(host.DnsSearch),
    logging: `${log?.Type ?? ''} ${JSON.stringify(record(log?.Config))}`,
    stop_signal: String(config.StopSignal ?? ''),
    expose: Object.keys(config.ExposedPorts ?? {}).sort(),
    privileged: Boolean(host.Privileged),
    devices,
    tty: Boolean(config.Tty),
    stdin_open: Boolean(config.OpenStdin),
  };
}

function sortedRecord(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => compareStrings(a, b)));
}

const STATES: readonly ContainerState[] = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'];

export function containerStateOf(state: string): ContainerState {
  return (STATES as readonly string[]).includes(state) ? (state as ContainerState) : 'dead';
}

/** The list endpoint reports health only inside its Status text: "Up 5 seconds (healthy)". */
export function healthFromStatusText(status: string): Health {
  if (status.includes('(healthy)')) return 'healthy';
  if (status.includes('(unhealthy)')) return 'unhealthy';
  if (status.includes('(health: starting)')) return 'starting';
  return 'none';
}


/** The list endpoint reports an exit code only inside its Status text: "Exited (0) 5 seconds ago", "Restarting (3) 1 second ago". */
export function exitCodeFromStatusText(status: string): { exitCode?: number } {
  const match = /^(?:Exited|Restarting) \((-?\d+)\)/.exec(status);
  return match ? { exitCode: Number(match[1]) } : {};
}

/**
 * A container's output as the engine sends it without a TTY: frames of an 8-byte header (stream
 * type, three zero bytes, the payload's length big-endian) and the payload. A cut-off last frame
 * keeps what arrived.
 */
export function demultiplexOutput(buffer: Buffer): string {
  const payloads: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(offset + 4);
    payloads.push(buffer.subarray(offset + 8, Math.min(buffer.length, offset + 8 + size)));
    offset += 8 + size;
  }
  return Buffer.concat(payloads).toString('utf8');
}
