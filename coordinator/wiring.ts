import { compareStrings } from '../shared/compare.js';
import { dependenciesOf, type DependencyCondition } from '../shared/depends-on.js';
import type { HostDesired } from '../shared/host-desired.js';

// The wiring of a project spread over hosts: which service waits for which (depends_on), on which
// hosts each runs, and whether the wait crosses hosts (through the endpoint registry,
// docs/networking.md) or has nothing to wait for (a gate on the dependent's host). Pure.

/** One depends_on edge of a project, with the hosts its two ends run on. */
export interface WiringEdge {
  readonly project: string;
  readonly from: string;
  readonly fromHosts: string[];
  readonly to: string;
  /** Empty: the dependency is placed on no host. */
  readonly toHosts: string[];
  readonly via: 'depends_on';
  readonly condition: DependencyCondition;
  readonly required: boolean;
  /** `same-host`: every host of `from` runs `to` too; `across-hosts`: some wait through the registry; `nowhere`: no host runs `to`. */
  readonly reach: 'same-host' | 'across-hosts' | 'nowhere';
}

/** The depends_on edges of the projects in `documents` (each host's document of each project), sorted by project, dependent, dependency. */
export function projectWiring(documents: readonly HostDesired[]): WiringEdge[] {
  const byProject = new Map<string, HostDesired[]>();
  for (const document of documents) byProject.set(document.project, [...(byProject.get(document.project) ?? []), document]);
  const edges: WiringEdge[] = [];
  for (const [project, ofProject] of byProject) {
    const hostsOf = (service: string): string[] => ofProject.filter((document) => (document.services[service]?.replicas ?? 0) > 0).map((document) => document.hostId).sort(compareStrings);
    const services = new Set(ofProject.flatMap((document) => Object.keys(document.services)));
    for (const from of services) {
      const fromHosts = hostsOf(from);
      if (fromHosts.length === 0) continue;
      const spec = ofProject.find((document) => (document.services[from]?.replicas ?? 0) > 0)?.services[from];
      for (const dependency of dependenciesOf(spec?.depends_on)) {
        const toHosts = hostsOf(dependency.service);
        const reach = toHosts.length === 0 ? 'nowhere' : fromHosts.every((host) => toHosts.includes(host)) ? 'same-host' : 'across-hosts';
        edges.push({ project, from, fromHosts, to: dependency.service, toHosts, via: 'depends_on', condition: dependency.condition, required: dependency.required, reach });
      }
    }
  }
  return edges.sort((a, b) => compareStrings(a.project, b.project) || compareStrings(a.from, b.from) || compareStrings(a.to, b.to));
}

/** One line per edge: `web (h1) -> api (h2, h3): depends_on service_healthy, across hosts (endpoint registry)`. */
export function wiringLines(edges: readonly WiringEdge[], printable: (text: string) => string): string[] {
  return edges.map((edge) => {
    const reach = edge.reach === 'same-host' ? 'same host' : edge.reach === 'across-hosts' ? 'across hosts (endpoint registry)' : edge.required ? 'PLACED ON NO HOST (a gate)' : 'placed on no host (required: false, skipped)';
    const to = edge.toHosts.length === 0 ? 'no host' : edge.toHosts.map(printable).join(', ');
    return `${printable(edge.from)} (${edge.fromHosts.map(printable).join(', ')}) -> ${printable(edge.to)} (${to}): ${edge.via} ${edge.condition}, ${reach}`;
  });
}
