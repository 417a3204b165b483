import { InvalidInputError } from '../../shared/errors.js';
import { formatIpv4, formatPrefix, parsePrefix, prefixesOverlap } from '../../shared/ipv4.js';
import { meshNetworkCapacity, meshNetworkSubnet } from '../../shared/mesh.js';
import type { NetworkSpec } from '../../shared/project-resources.js';

// Pure: where a project network goes on a mesh host. Its subnet lies in the host's block, so the
// other hosts route to its containers through the mesh; outbound traffic elsewhere is NATed as before.

/**
 * Docker 28 and later drop routed connections to container addresses unless the bridge's gateway
 * mode says otherwise; nat-unprotected keeps the masquerade for other traffic. Older engines ignore
 * the option (the mesh's FORWARD rule lets the connections in there).
 */
export const GATEWAY_MODE_OPTION = 'com.docker.network.bridge.gateway_mode_ipv4';
export const GATEWAY_MODE = 'nat-unprotected';

export interface MeshNetworkPlacement {
  readonly subnet: string;
  readonly gateway: string;
  readonly options: Readonly<Record<string, string>>;
}

/** The lowest /24 of the block that no network of the engine overlaps; refused when the block is full. */
export function meshNetworkPlacement(block: string, usedSubnets: readonly string[]): MeshNetworkPlacement {
  const prefix = parsePrefix(block);
  if (!prefix) throw new InvalidInputError(`mesh: ${block} is not an IPv4 prefix`);
  const used = usedSubnets.flatMap((subnet) => parsePrefix(subnet) ?? []);
  const capacity = meshNetworkCapacity(prefix.length);
  for (let index = 0; index < capacity; index++) {
    const subnet = meshNetworkSubnet(prefix, index)!;
    if (used.some((other) => prefixesOverlap(other, subnet))) continue;
    return { subnet: formatPrefix(subnet), gateway: formatIpv4(subnet.base + 1), options: { [GATEWAY_MODE_OPTION]: GATEWAY_MODE } };
  }
  throw new InvalidInputError(`mesh: the host's block ${block} holds ${capacity} project networks and all are in use: remove a project network, or give hosts larger blocks (a shorter blockPrefix)`);
}

/**
 * A project network's spec as a mesh host creates it: with a subnet of the block when the compose
 * file left addressing to the engine (a bridge network without `ipam.config`); undefined when the
 * file chose its own (kept as written) or the block is full (the engine's pool, reachable from
 * this host only: the plan says so). The network's identity (its spec hash) stays the file's.
 */
export function meshNetworkSpec(spec: NetworkSpec, block: string, usedSubnets: readonly string[]): { readonly spec: NetworkSpec; readonly subnet: string } | 'full' | undefined {
  if ((spec.ipam?.config?.length ?? 0) > 0 || (spec.driver !== undefined && spec.driver !== 'bridge') || spec.external === true) return undefined;
  let placement: MeshNetworkPlacement;
  try {
    placement = meshNetworkPlacement(block, usedSubnets);
  } catch (error) {
    if (error instanceof InvalidInputError) return 'full';
    throw error;
  }
  return {
    subnet: placement.subnet,
    spec: { ...spec, ipam: { ...spec.ipam, config: [{ subnet: placement.subnet, gateway: placement.gateway }] }, driver_opts: { ...placement.options, ...spec.driver_opts } },
  };
}
