import { z } from 'zod';
import { boundedArray, boundedRecord, boundedString } from './bounded.js';
import { LABEL_PREFIX } from './labels.js';
import { MAX_KEY_LENGTH, MAX_LABEL_VALUE_LENGTH, MAX_LABELS } from './limits.js';
import { namedVolumeOf, type VolumeEntry } from './volume-mounts.js';
import { addressFamily, isIpv4, parseSubnet, subnetContains } from './ip-subnets.js';

// A project's networks and volumes as a fleet file declares them, with compose's keys and meanings.
// Hostwright names what it creates `<name prefix><project>_<key>` (compose: `<project>_<key>`);
// an `external` one is the operator's: used by its name, never created or removed.

/** The network every service of a project joins unless it says otherwise (compose's `default`). */
export const DEFAULT_NETWORK = 'default';

/** At most this many networks or volumes per project, and networks per service. */
export const MAX_PROJECT_RESOURCES = 64;
const MAX_ALIASES = 16;

const resourceKeySchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'expected letters, digits, "-", "_" or "." (max 63, starting with a letter or digit)');
/** What the engine calls a network or volume (an external one's `name`). */
const engineNameSchema = boundedString(128).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'expected letters, digits, "-", "_" or "." (starting with a letter or digit)');
const resourceLabelsSchema = boundedRecord(boundedString(MAX_KEY_LENGTH).min(1), boundedString(MAX_LABEL_VALUE_LENGTH), MAX_LABELS, 'labels').refine(
  (labels) => Object.keys(labels).every((key) => !key.startsWith(LABEL_PREFIX)),
  `label keys starting with "${LABEL_PREFIX}" are reserved for Hostwright`,
);
const driverOptsSchema = boundedRecord(boundedString(MAX_KEY_LENGTH).min(1), z.union([boundedString(MAX_LABEL_VALUE_LENGTH), z.number()]), MAX_LABELS, 'driver options');

export const ipv4Schema = z.string().refine(isIpv4, 'expected an IPv4 address such as 172.28.0.10');
const gatewaySchema = z.string().refine((text) => addressFamily(text) !== undefined, 'expected an IPv4 or IPv6 address such as 172.28.0.1 or fd00::1');
const subnetSchema = z.string().refine((text) => parseSubnet(text) !== undefined, 'expected an IPv4 or IPv6 subnet in CIDR form such as 172.28.0.0/16 or fd00:1::/64');

/** True when `address` lies inside the CIDR `subnet`. */
export { subnetContains };

/** A top-level `networks:` entry. Only the bridge driver: a host's project networks are local to it. */
export const networkSpecSchema = z
  .strictObject({
    driver: z.literal('bridge', { error: 'only the bridge driver: each host\'s project network is local to that host (an overlay spans hosts, which Hostwright does not manage)' }).optional(),
    driver_opts: driverOptsSchema.optional(),
    internal: z.boolean().optional(),
    /** IPv6 on the bridge as well: needs an IPv6 subnet in ipam.config (the engine has no IPv6 pool of its own unless configured). */
    enable_ipv6: z.boolean().optional(),
    attachable: z.boolean().optional(),
    ipam: z
      .strictObject({
        driver: z.literal('default', { error: 'only the default IPAM driver' }).optional(),
        config: boundedArray(z.strictObject({ subnet: subnetSchema, gateway: gatewaySchema.optional(), ip_range: subnetSchema.optional() }), 8).optional(),
      })
      .optional(),
    labels: resourceLabelsSchema.optional(),
    external: z.boolean().optional(),
    /** The engine's name of an external network (default: the key). */
    name: engineNameSchema.optional(),
  })
  .superRefine((network, ctx) => {
    if (network.external) {
      for (const key of Object.keys(network)) {
        if (key !== 'external' && key !== 'name') ctx.addIssue({ code: 'custom', path: [key], message: 'an external network is the operator\'s: only `name` may be given with `external: true`' });
      }
    } else if (network.name !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['name'], message: 'a network Hostwright creates is named <project>_<key> (so agents that share an engine do not collide); `name` is for `external: true` networks' });
    }
    const ranges = network.ipam?.config ?? [];
    for (const [index, range] of ranges.entries()) {
      if (range.gateway !== undefined && !subnetContains(range.subnet, range.gateway)) ctx.addIssue({ code: 'custom', path: ['ipam', 'config', index, 'gateway'], message: `${range.gateway} is not in ${range.subnet}` });
      if (range.ip_range !== undefined && !subnetContains(range.subnet, range.ip_range.split('/')[0] ?? '')) ctx.addIssue({ code: 'custom', path: ['ipam', 'config', index, 'ip_range'], message: `${range.ip_range} is not in ${range.subnet}` });
    }
    // The engine refuses an IPv6 subnet on a network without IPv6, and has no IPv6 pool to pick from by default.
    const ipv6 = ranges.findIndex((range) => parseSubnet(range.subnet)?.family === 6);
    if (network.enable_ipv6 === true && ipv6 < 0) ctx.addIssue({ code: 'custom', path: ['enable_ipv6'], message: 'an IPv6 network needs its IPv6 subnet: add one to ipam.config (such as `- subnet: fd00:1::/64`, a unique local range)' });
    if (network.enable_ipv6 !== true && ipv6 >= 0) ctx.addIssue({ code: 'custom', path: ['ipam', 'config', ipv6, 'subnet'], message: 'an IPv6 subnet needs `enable_ipv6: true` on the network' });
  });
export type NetworkSpec = z.infer<typeof networkSpecSchema>;

/** A top-level `volumes:` entry (null in YAML, `data:`, is an empty one). */
export const volumeSpecSchema = z
  .strictObject({
    driver: engineNameSchema.optional(),
    driver_opts: driverOptsSchema.optional(),
    labels: resourceLabelsSchema.optional(),
    external: z.boolean().optional(),
    name: engineNameSchema.optional(),
  })
  .superRefine((volume, ctx) => {
    if (volume.external) {
      for (const key of Object.keys(volume)) {
        if (key !== 'external' && key !== 'name') ctx.addIssue({ code: 'custom', path: [key], message: 'an external volume is the operator\'s: only `name` may be given with `external: true`' });
      }
    } else if (volume.name !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['name'], message: 'a volume Hostwright creates is named <project>_<key>; `name` is for `external: true` volumes' });
    }
  });
export type VolumeSpec = z.infer<typeof volumeSpecSchema>;

const emptyAsObject = (value: unknown): unknown => (value === null ? {} : value);

export const networksSchema = boundedRecord(resourceKeySchema, z.preprocess(emptyAsObject, networkSpecSchema), MAX_PROJECT_RESOURCES, 'networks');
export const volumesSchema = boundedRecord(resourceKeySchema, z.preprocess(emptyAsObject, volumeSpecSchema), MAX_PROJECT_RESOURCES, 'volumes');

const aliasSchema = z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9_.-]{0,62})$/, 'expected a DNS name: letters, digits, "-", "_" or "." (max 63)');
export const serviceNetworkSchema = z.strictObject({
  aliases: boundedArray(aliasSchema, MAX_ALIASES).optional(),
  ipv4_address: ipv4Schema.optional(),
});

/** A service's `networks:`: a list of project network keys, or a mapping of them to aliases and a fixed address. */
export const serviceNetworksSchema = z.union([
  boundedArray(resourceKeySchema, MAX_PROJECT_RESOURCES),
  boundedRecord(resourceKeySchema, z.preprocess(emptyAsObject, serviceNetworkSchema), MAX_PROJECT_RESOURCES, 'networks'),
]);
export type ServiceNetworks = z.infer<typeof serviceNetworksSchema>;

/** `network_mode`: the host's stack, none at all, or another service's (its first instance on the same host). */
export const networkModeSchema = z.union([z.enum(['host', 'none']), z.string().regex(/^service:[a-z0-9][a-z0-9_-]{0,62}$/, 'expected "host", "none" or "service:<name>"')], {
  error: 'expected "host", "none" or "service:<name>"',
});
export type NetworkMode = z.infer<typeof networkModeSchema>;

/** A service's networks as a mapping, whatever form it was written in. */
export function serviceNetworkEntries(networks: ServiceNetworks | undefined): [string, z.infer<typeof serviceNetworkSchema>][] {
  if (networks === undefined) return [];
  if (Array.isArray(networks)) return networks.map((key) => [key, {}]);
  return Object.entries(networks);
}

/** The named volume a `volumes:` entry mounts (short or long syntax), or undefined for a host path or tmpfs. */
export { namedVolumeOf };

/** What the cross-checks of a project's services and its networks and volumes need of a service. */
interface ServiceResourceUse {
  readonly networks?: ServiceNetworks | undefined;
  readonly network_mode?: NetworkMode | undefined;
  readonly volumes: readonly VolumeEntry[];
  readonly ports: readonly string[];
}

/**
 * The references between a project's services and its networks and volumes that do not hold,
 * each with the path it is at: an undeclared network or volume, networks with a network_mode, a
 * fixed address outside every subnet of its network, a network_mode naming an unknown service.
 */
export function resourceReferenceIssues(
  project: {
    readonly services: Readonly<Record<string, ServiceResourceUse>>;
    readonly networks?: Readonly<Record<string, NetworkSpec>> | undefined;
    readonly volumes?: Readonly<Record<string, VolumeSpec>> | undefined;
  },
  /**
   * A fleet file must declare its named volumes (as compose does); a desired document made before
   * volumes were declared mounts an undeclared one as the engine volume of that name, as it always did.
   */
  undeclaredVolumes: 'refused' | 'engine-volume',
): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const networks = project.networks ?? {};
  const volumes = project.volumes ?? {};
  for (const [name, service] of Object.entries(project.services)) {
    if (service.network_mode !== undefined && service.networks !== undefined) {
      issues.push({ path: ['services', name, 'networks'], message: `a service with network_mode "${service.network_mode}" joins no networks: keep one of networks and network_mode` });
    }
    if (service.network_mode !== undefined && service.ports.length > 0) {
      const why = service.network_mode === 'host' ? 'it listens on the host\'s directly' : service.network_mode === 'none' ? 'it has no network' : 'publish them on the service whose stack it shares';
      issues.push({ path: ['services', name, 'ports'], message: `with network_mode "${service.network_mode}" the container has no ports of its own to publish (${why}): remove ports` });
    }
    const target = service.network_mode?.startsWith('service:') ? service.network_mode.slice('service:'.length) : undefined;
    if (target !== undefined && (target === name || !Object.hasOwn(project.services, target))) {
      issues.push({ path: ['services', name, 'network_mode'], message: target === name ? 'a service cannot share its own network stack' : `no service ${target} in this project` });
    }
    for (const [index, [key, attachment]] of serviceNetworkEntries(service.networks).entries()) {
      const declared = Object.hasOwn(networks, key) ? networks[key] : undefined;
      // The list form's entry is at its index, the mapping's at its key.
      const at = Array.isArray(service.networks) ? index : key;
      if (declared === undefined && key !== DEFAULT_NETWORK) {
        issues.push({ path: ['services', name, 'networks', at], message: `network ${key} is not declared in the top-level networks:` });
        continue;
      }
      if (attachment.ipv4_address !== undefined) {
        const subnets = (declared?.ipam?.config ?? []).map((range) => range.subnet).filter((subnet) => parseSubnet(subnet)?.family === 4);
        if (subnets.length === 0) issues.push({ path: ['services', name, 'networks', key, 'ipv4_address'], message: `a fixed address needs an IPv4 subnet declared for network ${key} (ipam.config[].subnet)` });
        else if (!subnets.some((subnet) => subnetContains(subnet, attachment.ipv4_address as string))) issues.push({ path: ['services', name, 'networks', key, 'ipv4_address'], message: `${attachment.ipv4_address} is not in the subnet of network ${key} (${subnets.join(', ')})` });
      }
    }
    for (const [index, entry] of service.volumes.entries()) {
      const volume = namedVolumeOf(entry);
      if (undeclaredVolumes === 'refused' && volume !== undefined && !Object.hasOwn(volumes, volume)) {
        issues.push({ path: typeof entry === 'string' ? ['services', name, 'volumes', index] : ['services', name, 'volumes', index, 'source'], message: `volume ${volume} is not declared in the top-level volumes: (add \`volumes: {${volume}: {}}\` for a project volume, or \`${volume}: {external: true}\` for the engine's existing volume of that name)` });
      }
    }
  }
  return issues;
}
