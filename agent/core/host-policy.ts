import { DEFAULT_CAPABILITIES, capabilityName } from '../../shared/container-options.js';
import type { ServiceSpec } from '../../shared/fleet-spec.js';
import type { NetworkSpec, VolumeSpec } from '../../shared/project-resources.js';
import type { EnvValue } from '../../shared/secret-env.js';
import { hostPathOf, type VolumeEntry } from '../../shared/volume-mounts.js';

/**
 * What this host lets desired state ask for beyond an ordinary container, set by the agent's own
 * configuration, never by the coordinator: a stolen coordinator key alone must not get root on
 * every host (as Nomad's docker driver has allow_privileged and allow_caps). Every list takes
 * "ALL" for anything of its kind.
 */
export interface HostPolicy {
  readonly allowPrivileged: boolean;
  readonly allowDevices: boolean;
  /** Capabilities beyond Docker's defaults a service may add. */
  readonly allowCaps: readonly string[];
  /** Host paths (and everything below them) a service may bind-mount, directly or through a local volume. */
  readonly allowHostPaths: readonly string[];
  readonly allowHostNetwork: boolean;
  /** security_opt entries beyond the harmless ones: "key=value" exactly, or a key alone for any of its values. */
  readonly allowSecurityOpts: readonly string[];
  /** Sysctls outside Docker's namespaced set: a name, or a prefix written "kernel.*". */
  readonly allowSysctls: readonly string[];
  /** Volume drivers besides `local`. */
  readonly allowVolumeDrivers: readonly string[];
  /** Mount types of the local volume driver besides tmpfs and bind (nfs, cifs, ext4, …). */
  readonly allowVolumeTypes: readonly string[];
  /** Log drivers besides json-file, local, journald and none. */
  readonly allowLogDrivers: readonly string[];
  /** Host files (and everything below a directory) an env value may read as `secret_file`. */
  readonly allowSecretFiles: readonly string[];
  /** A project network's driver_opts keys beyond the harmless ones (com.docker.network.bridge.name, …). */
  readonly allowNetworkOpts: readonly string[];
}

/** A fleet agent's default: nothing beyond an ordinary container. */
export const STRICT_HOST_POLICY: HostPolicy = {
  allowPrivileged: false,
  allowDevices: false,
  allowCaps: [],
  allowHostPaths: [],
  allowHostNetwork: false,
  allowSecurityOpts: [],
  allowSysctls: [],
  allowVolumeDrivers: [],
  allowVolumeTypes: [],
  allowLogDrivers: [],
  allowSecretFiles: [],
  allowNetworkOpts: [],
};

/** Local mode: whoever runs the command owns the host and its Docker engine already. */
export const LOCAL_HOST_POLICY: HostPolicy = {
  allowPrivileged: true,
  allowDevices: true,
  allowCaps: ['ALL'],
  allowHostPaths: ['/'],
  allowHostNetwork: true,
  allowSecurityOpts: ['ALL'],
  allowSysctls: ['ALL'],
  allowVolumeDrivers: ['ALL'],
  allowVolumeTypes: ['ALL'],
  allowLogDrivers: ['ALL'],
  allowSecretFiles: ['/'],
  allowNetworkOpts: ['ALL'],
};

/** The agent's policy flags as parsed (and merged with its configuration file's `policy:`). */
export interface HostPolicyFlags {
  readonly allowPrivileged?: boolean | undefined;
  readonly allowDevices?: boolean | undefined;
  readonly allowCap?: readonly string[] | undefined;
  readonly allowHostPath?: readonly string[] | undefined;
  readonly allowHostNetwork?: boolean | undefined;
  readonly allowSecurityOpt?: readonly string[] | undefined;
  readonly allowSysctl?: readonly string[] | undefined;
  readonly allowVolumeDriver?: readonly string[] | undefined;
  readonly allowVolumeType?: readonly string[] | undefined;
  readonly allowLogDriver?: readonly string[] | undefined;
  readonly allowSecretFile?: readonly string[] | undefined;
  readonly allowNetworkOpt?: readonly string[] | undefined;
}

/** A fleet agent's policy: strict except what a flag allows. Pure. */
export function hostPolicyFromFlags(flags: HostPolicyFlags): HostPolicy {
  return {
    allowPrivileged: flags.allowPrivileged === true,
    allowDevices: flags.allowDevices === true,
    allowCaps: flags.allowCap ?? [],
    allowHostPaths: flags.allowHostPath ?? [],
    allowHostNetwork: flags.allowHostNetwork === true,
    allowSecurityOpts: flags.allowSecurityOpt ?? [],
    allowSysctls: flags.allowSysctl ?? [],
    allowVolumeDrivers: flags.allowVolumeDriver ?? [],
    allowVolumeTypes: flags.allowVolumeType ?? [],
    allowLogDrivers: flags.allowLogDriver ?? [],
    allowSecretFiles: flags.allowSecretFile ?? [],
    allowNetworkOpts: flags.allowNetworkOpt ?? [],
  };
}

/** A bridge network's driver_opts that change only the network itself. */
const HARMLESS_NETWORK_OPTS: readonly string[] = ['com.docker.network.driver.mtu', 'com.docker.network.bridge.enable_icc', 'com.docker.network.bridge.enable_ip_masquerade', 'com.docker.network.container_iface_prefix'];

/** Log drivers that write on the host only where the engine keeps its logs (or nowhere). */
const HOST_LOCAL_LOG_DRIVERS: readonly string[] = ['json-file', 'local', 'journald', 'none'];

/** Why a service asks for more than the policy allows: one message per refusal, saying what to do. Pure. */
export function policyRefusals(serviceName: string, service: ServiceSpec, policy: HostPolicy): string[] {
  const refusals: string[] = [];
  const refuse = (what: string, flag: string) => refusals.push(`${serviceName}: ${what} is refused by this host's policy (start its agent with ${flag})`);
  if (service.privileged && !policy.allowPrivileged) refuse('privileged', '--allow-privileged');
  if ((service.devices?.length ?? 0) > 0 && !policy.allowDevices) refuse(`devices (${(service.devices ?? []).join(', ')})`, '--allow-devices');
  const allowedCaps = new Set(policy.allowCaps.map(capabilityName));
  const extraCaps = (service.cap_add ?? []).map(capabilityName).filter((cap) => !DEFAULT_CAPABILITIES.includes(cap) && !allowedCaps.has('ALL') && !allowedCaps.has(cap));
  if (extraCaps.length > 0) refuse(`cap_add ${extraCaps.join(', ')}`, extraCaps.map((cap) => `--allow-cap ${cap}`).join(' '));
  if (service.network_mode === 'host' && !policy.allowHostNetwork) refuse('network_mode host', '--allow-host-network');
  for (const volume of service.volumes) {
    const source = hostPathOf(volume);
    if (source !== undefined && !withinAny(source, policy.allowHostPaths)) refusals.push(`${serviceName}: the bind mount of host path ${source} is refused by this host's policy (start its agent with --allow-host-path ${source}, or use a named volume)`);
  }
  for (const option of service.security_opt ?? []) {
    const reach = securityOptReach(option);
    if (reach !== undefined && !securityOptAllowed(option, policy.allowSecurityOpts)) refuse(`security_opt ${shown(option)} (${reach})`, `--allow-security-opt ${allowSecurityOptFlag(option)}`);
  }
  for (const name of Object.keys(service.sysctls ?? {})) {
    const reach = sysctlReach(name, service.network_mode);
    if (reach !== undefined && !sysctlAllowed(name, policy.allowSysctls)) refuse(`sysctl ${name} (${reach})`, `--allow-sysctl ${name}`);
  }
  const logDriver = service.logging?.driver;
  if (logDriver !== undefined && !HOST_LOCAL_LOG_DRIVERS.includes(logDriver) && !listed(logDriver, policy.allowLogDrivers)) {
    refuse(`log driver ${logDriver} (the engine runs it on the host, with the host's network and sockets)`, `--allow-log-driver ${logDriver}`);
  }
  for (const [name, path] of secretFilesOf(service.env)) {
    if (!withinAny(path, policy.allowSecretFiles)) refuse(`env ${name}'s secret_file ${path} (the agent reads it as root)`, `--allow-secret-file ${path}`);
  }
  return refusals;
}

/** Why a project's volume asks for more than the policy allows, as policyRefusals. Pure. */
export function volumeRefusals(volumeKey: string, volume: VolumeSpec, policy: HostPolicy): string[] {
  if (volume.external) return [];
  const refusals: string[] = [];
  const refuse = (what: string, flag: string) => refusals.push(`volume ${volumeKey}: ${what} is refused by this host's policy (start its agent with ${flag})`);
  const driver = volume.driver ?? 'local';
  if (driver !== 'local') {
    // A plugin's options mean what the plugin says: allowing the driver allows them.
    if (!listed(driver, policy.allowVolumeDrivers)) refuse(`driver ${driver} (a volume plugin runs on the host with its own access)`, `--allow-volume-driver ${driver}`);
    return refusals;
  }
  const mount = localVolumeMount(volume);
  if (mount.type !== undefined && mount.type !== 'tmpfs' && !mount.bind && !listed(mount.type, policy.allowVolumeTypes)) refuse(`driver_opts type ${mount.type} (mounts a filesystem on the host)`, `--allow-volume-type ${mount.type}`);
  const hostPath = volumeHostPath(volume);
  if (hostPath !== undefined && !withinAny(hostPath, policy.allowHostPaths)) {
    refuse(`driver_opts device ${hostPath} (${mount.bind ? 'a bind mount of that host path' : 'a host device or path mounted on the host'})`, `--allow-host-path ${hostPath}`);
  }
  return refusals;
}

/** Why a project's network asks for more than the policy allows, as policyRefusals. Pure. */
export function networkRefusals(networkKey: string, network: NetworkSpec, policy: HostPolicy): string[] {
  if (network.external) return [];
  return Object.keys(network.driver_opts ?? {})
    .filter((key) => !HARMLESS_NETWORK_OPTS.includes(key) && !listed(key, policy.allowNetworkOpts))
    .map((key) => `network ${networkKey}: driver_opts ${key} (it can join or change the host's own interfaces, routes or port bindings) is refused by this host's policy (start its agent with --allow-network-opt ${key})`);
}

/** The host path a local volume mounts (its `device` when bound or mounted from a path), or undefined. */
export function volumeHostPath(volume: VolumeSpec): string | undefined {
  if (volume.external || (volume.driver ?? 'local') !== 'local') return undefined;
  const mount = localVolumeMount(volume);
  if (mount.device === undefined || (mount.type === 'tmpfs' && !mount.bind)) return undefined;
  // A bind's device is a path (relative to the engine's working directory if not absolute, so check it as given).
  return mount.bind || mount.device.startsWith('/') ? mount.device : undefined;
}

/** The host paths a container's create bind-mounts, and the secret files the agent reads for it. */
export function hostPathsOfContainer(config: { readonly volumes: readonly VolumeEntry[]; readonly env: Readonly<Record<string, EnvValue>> }): { readonly binds: string[]; readonly secretFiles: string[] } {
  return { binds: config.volumes.flatMap((entry) => hostPathOf(entry) ?? []), secretFiles: secretFilesOf(config.env).map(([, path]) => path) };
}

/** path is `base` or below it, compared by whole path segments after normalising ".." away. */
export function isWithin(path: string, base: string): boolean {
  const [inner, outer] = [pathSegments(path), pathSegments(base)];
  return outer.length <= inner.length && outer.every((part, i) => inner[i] === part);
}

/** path is within one of the allowed bases. */
export function withinAny(path: string, allowed: readonly string[]): boolean {
  return allowed.some((base) => isWithin(path, base));
}

function pathSegments(text: string): string[] {
  const out: string[] = [];
  for (const part of text.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out;
}

function listed(name: string, allowed: readonly string[]): boolean {
  return allowed.includes('ALL') || allowed.includes(name);
}

function secretFilesOf(env: Readonly<Record<string, EnvValue>>): [string, string][] {
  return Object.entries(env).flatMap(([name, value]) => (typeof value === 'object' && 'secret_file' in value ? [[name, value.secret_file] as [string, string]] : []));
}

/** The local driver's options as mount(8) reads them: `o` split at commas. */
function localVolumeMount(volume: VolumeSpec): { type: string | undefined; device: string | undefined; bind: boolean } {
  const opts = volume.driver_opts ?? {};
  const text = (key: string) => (Object.hasOwn(opts, key) && opts[key] !== undefined ? String(opts[key]) : undefined);
  const flags = (text('o') ?? '').split(',').map((flag) => flag.trim());
  const type = text('type');
  return { type: type === '' || type === 'none' ? undefined : type, device: text('device'), bind: flags.includes('bind') || flags.includes('rbind') };
}

/** A security_opt as "key=value" (Docker takes ":" too); a bare key stays as it is. */
function securityOptParts(option: string): { key: string; value: string | undefined } {
  const at = option.search(/[=:]/);
  return at < 0 ? { key: option.trim(), value: undefined } : { key: option.slice(0, at).trim(), value: option.slice(at + 1).trim() };
}

/** What a security_opt loosens, or undefined when it only keeps or tightens Docker's defaults. */
export function securityOptReach(option: string): string | undefined {
  const { key, value } = securityOptParts(option);
  if (key === 'no-new-privileges') return value === undefined || value === 'true' ? undefined : 'lets processes gain privileges through setuid files';
  if (key === 'apparmor') return value === 'docker-default' ? undefined : 'turns off or replaces the AppArmor profile';
  if (key === 'seccomp') return value === 'unconfined' ? 'turns off the syscall filter' : 'replaces the syscall filter with another profile';
  if (key === 'label') return 'turns off or changes the SELinux confinement';
  if (key === 'systempaths') return 'unmasks /proc and /sys paths of the host kernel';
  if (key === 'writable-cgroups') return value === 'false' ? undefined : 'makes the cgroup filesystem writable';
  return 'an option this host does not know to be harmless';
}

function securityOptAllowed(option: string, allowed: readonly string[]): boolean {
  const { key, value } = securityOptParts(option);
  return allowed.some((entry) => {
    if (entry === 'ALL') return true;
    const wanted = securityOptParts(entry);
    return wanted.key === key && (wanted.value === undefined || wanted.value === value);
  });
}

/** The flag value that permits one option: the exact option when short, else its key (a profile's JSON is long). */
function allowSecurityOptFlag(option: string): string {
  const { key, value } = securityOptParts(option);
  return value === undefined ? key : value.length <= 64 && /^[\w.,:/-]*$/.test(value) ? `${key}=${value}` : key;
}

function shown(option: string): string {
  return option.length <= 80 ? option : `${option.slice(0, 77)}...`;
}

/**
 * What setting a sysctl reaches beyond the container, or undefined for Docker's namespaced set:
 * net.* in the container's own network namespace, the IPC namespace's kernel.shm*, kernel.msg*
 * and kernel.sem, and fs.mqueue.*.
 */
export function sysctlReach(name: string, networkMode: string | undefined): string | undefined {
  if (name.startsWith('net.')) return networkMode === 'host' ? 'the host\'s own network stack' : undefined;
  if (/^kernel\.(shm[a-z_]*|msg[a-z_]*|sem)$/.test(name) || name.startsWith('fs.mqueue.')) return undefined;
  return 'not namespaced: it sets the host kernel\'s value';
}

function sysctlAllowed(name: string, allowed: readonly string[]): boolean {
  return allowed.some((entry) => entry === 'ALL' || entry === name || (entry.endsWith('.*') && name.startsWith(entry.slice(0, -1))));
}
