import { compareStrings } from '../shared/compare.js';
import { didYouMean } from '../shared/did-you-mean.js';
import { InvalidInputError } from '../shared/errors.js';
import type { DesiredEntry } from './fleet-client.js';
import type { HostTarget } from './fleet-targets.js';

// `hostwright restart` goes through desired state: each host that runs the service gets its restart
// generation raised, and its agent restarts the instances in place, one at a time, journaled like any action.

/**
 * The next generation: above the current one, and at least the time in seconds, so that a write that
 * dropped the generation (a rollback to a document before it) cannot make a later restart a no-op.
 */
export function nextGeneration(current: number | undefined, nowSeconds: number): number {
  return Math.max((current ?? 0) + 1, Math.floor(nowSeconds));
}

/**
 * Pure: the documents that restart `services` of the project on every host that runs them (only
 * `hostId` when given), each at the next revision. A service no host runs is refused, naming those that run.
 */
export function restartTargets(project: string, current: ReadonlyMap<string, DesiredEntry>, services: readonly string[], options: { readonly hostId?: string | undefined; readonly correlationID: string; readonly nowSeconds: number }): HostTarget[] {
  const hosts = [...current].filter(([hostId]) => options.hostId === undefined || hostId === options.hostId).sort(([a], [b]) => compareStrings(a, b));
  const running = new Set(hosts.flatMap(([, entry]) => Object.entries(entry.document.services).filter(([, spec]) => spec.replicas > 0).map(([name]) => name)));
  for (const service of services) {
    if (running.has(service)) continue;
    const where = options.hostId === undefined ? `project ${project}` : `project ${project} on host ${options.hostId}`;
    throw new InvalidInputError(`restart ${service}: no instance of it runs in ${where}${didYouMean(service, running)}; its services there: ${[...running].sort(compareStrings).join(', ') || 'none'}`);
  }
  return hosts.flatMap(([hostId, entry]): HostTarget[] => {
    const restarted = services.filter((service) => (entry.document.services[service]?.replicas ?? 0) > 0);
    if (restarted.length === 0) return [];
    const restarts = { ...entry.document.restarts };
    for (const service of restarted) restarts[service] = nextGeneration(restarts[service], options.nowSeconds);
    const sorted = Object.fromEntries(Object.keys(restarts).sort(compareStrings).map((service) => [service, restarts[service] as number]));
    return [{ hostId, document: { ...entry.document, restarts: sorted, revision: entry.document.revision + 1, correlationID: options.correlationID }, kvRevision: entry.kvRevision, changed: true }];
  });
}
