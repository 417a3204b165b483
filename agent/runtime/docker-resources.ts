import type Docker from 'dockerode';
import type { NetworkCreateRequest, VolumeCreateRequest } from './runtime-adapter.js';

// Docker's shape of networks and volumes stays in this file: Hostwright's spec in, Docker's create options out.

export function toDockerNetworkOptions(request: NetworkCreateRequest): Docker.NetworkCreateOptions {
  const { spec } = request;
  const ranges = spec.ipam?.config ?? [];
  return {
    Name: request.name,
    Driver: spec.driver ?? 'bridge',
    // The engine refuses a second network of the same name instead of making a twin.
    CheckDuplicate: true,
    Internal: spec.internal ?? false,
    Attachable: spec.attachable ?? false,
    ...(spec.enable_ipv6 === undefined ? {} : { EnableIPv6: spec.enable_ipv6 }),
    Labels: { ...(spec.labels ?? {}), ...request.identityLabels },
    Options: Object.fromEntries(Object.entries(spec.driver_opts ?? {}).map(([key, value]) => [key, String(value)])),
    ...(ranges.length > 0 ? { IPAM: { Driver: 'default', Config: ranges.map((range) => ({ Subnet: range.subnet, ...(range.gateway ? { Gateway: range.gateway } : {}), ...(range.ip_range ? { IPRange: range.ip_range } : {}) })) } } : {}),
  };
}

export function toDockerVolumeOptions(request: VolumeCreateRequest): Docker.VolumeCreateOptions {
  const { spec } = request;
  return {
    Name: request.name,
    Driver: spec.driver ?? 'local',
    DriverOpts: Object.fromEntries(Object.entries(spec.driver_opts ?? {}).map(([key, value]) => [key, String(value)])),
    Labels: { ...(spec.labels ?? {}), ...request.identityLabels },
  };
}
