import { compareStrings } from './compare.js';
import { parsePortMapping } from './fleet-spec.js';
import type { HostDesired } from './host-desired.js';

// start-first runs the new instance beside the old one until it is healthy: a fixed host port
// cannot be bound twice, so such a service is replaced stop-first. Said wherever the order is shown.

export type UpdateOrder = 'stop-first' | 'start-first';

/** A service asked to update start-first that will run stop-first, and why. */
export interface UpdateOrderException {
  readonly project: string;
  readonly service: string;
  readonly requested: 'start-first';
  readonly runs: 'stop-first';
  readonly hostPort: number;
  /** "stop-first: service web publishes fixed host port 8080". */
  readonly message: string;
}

/** Why a service with these ports cannot be replaced start-first, or undefined when it can. */
export function startFirstRefusal(service: string, ports: readonly string[]): { hostPort: number; message: string } | undefined {
  for (const text of ports) {
    const hostPort = parsePortMapping(text).hostPort;
    if (hostPort !== undefined) return { hostPort, message: `stop-first: service ${service} publishes fixed host port ${hostPort}` };
  }
  return undefined;
}

/** The order a service of a document is replaced in when asked: the document's (a rollout's --order), else the service's own. */
export function requestedOrder(document: Pick<HostDesired, 'updateOrder' | 'services'>, service: string): UpdateOrder {
  return document.updateOrder ?? document.services[service]?.update_order ?? 'stop-first';
}

/** Every service of the documents asked to update start-first that will run stop-first, once each, sorted. */
export function updateOrderExceptions(documents: readonly Pick<HostDesired, 'project' | 'updateOrder' | 'services'>[]): UpdateOrderException[] {
  const found = new Map<string, UpdateOrderException>();
  for (const document of documents) {
    for (const [service, spec] of Object.entries(document.services)) {
      if (requestedOrder(document, service) !== 'start-first') continue;
      const refusal = startFirstRefusal(service, spec.ports);
      if (refusal) found.set(`${document.project}\u0000${service}`, { project: document.project, service, requested: 'start-first', runs: 'stop-first', ...refusal });
    }
  }
  return [...found.values()].sort((a, b) => compareStrings(a.project, b.project) || compareStrings(a.service, b.service));
}
