import type { HostDesired } from '../../shared/host-desired.js';

// Pure: which containers are given the fleet resolver as their `dns:`. Docker's embedded DNS
// answers the names of its own network and forwards the others there, so a service placed on
// another host resolves by its compose name.

/** This host's part in the mesh, as the reconciler plans with it. */
export interface HostMesh {
  /** The host's block: its project networks' subnets come from it. */
  readonly block: string;
  /** Where the fleet resolver listens (the host's mesh address). */
  readonly resolver: string;
  /** The host's own resolvers, after the fleet resolver: it refuses names outside the fleet, and Docker asks the next (agent/resolver/host-upstream.ts). */
  readonly upstream?: readonly string[];
}

/**
 * The documents with `dns: [resolver, ...upstream]` on the services of every project that has
 * services on other hosts (`remotes`), unless the service names its own servers. Part of the service's spec, so
 * turning it on is a replacement the plan shows; projects wholly on this host stay as written.
 */
export function withFleetResolver(documents: readonly HostDesired[], resolver: string, upstream: readonly string[] = []): HostDesired[] {
  return documents.map((document) => {
    if (document.remotes === undefined || Object.keys(document.remotes).length === 0) return document;
    const services = Object.fromEntries(Object.entries(document.services).map(([name, service]) => [name, service.dns === undefined ? { ...service, dns: [resolver, ...upstream] } : service]));
    return { ...document, services };
  });
}
