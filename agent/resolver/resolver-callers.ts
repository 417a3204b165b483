import { parseIpv4, parsePrefix, prefixContains } from '../../shared/ipv4.js';
import type { ResourceIdentity } from '../core/snapshot.js';
import type { Caller } from './fleet-names.js';

// Pure: who is asking the fleet resolver. A query's source is a container's address on one of
// this host's project networks; the network's subnet says which project (and network) that is.

export interface CallerNetwork {
  readonly subnet: string;
  readonly project: string;
  /** The network's key in the project (`default`). */
  readonly network: string;
}

/** The project networks Hostwright made for this host, with their subnets, from the engine's list. */
export function callerNetworks(networks: readonly { readonly identity: ResourceIdentity | undefined; readonly subnets?: readonly string[] | undefined }[], hostId: string): CallerNetwork[] {
  return networks.flatMap(({ identity, subnets }) => (identity === undefined || identity.hostId !== hostId ? [] : (subnets ?? []).map((subnet) => ({ subnet, project: identity.project, network: identity.resource }))));
}

/** The caller a source address is, or undefined: not on one of this host's project networks (refused). */
export function callerOf(networks: readonly CallerNetwork[], sourceAddress: string): Caller | undefined {
  const address = parseIpv4(sourceAddress);
  if (address === undefined) return undefined;
  for (const entry of networks) {
    const subnet = parsePrefix(entry.subnet);
    // The gateway is the host itself, not a container: it is nobody's caller.
    if (subnet && prefixContains(subnet, { base: address, length: 32 }) && address !== subnet.base + 1) return { project: entry.project, network: entry.network };
  }
  return undefined;
}
