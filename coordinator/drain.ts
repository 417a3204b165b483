import { compareStrings } from '../shared/compare.js';
import type { DrainLeft, DrainMove } from '../shared/host-control.js';
import { instanceCount, type HostDesired } from '../shared/host-desired.js';
import { MAX_INSTANCES_PER_HOST } from '../shared/limits.js';
import type { DesiredEntry } from './fleet-client.js';
import type { HostTarget } from './fleet-targets.js';
import { desiredContentHash } from './placement.js';

// A drain moves a host's instances to the other hosts that run the same service (placement put them
// there, so it allows them), raising their replicas by what the drained host ran: the fleet keeps
// as many instances of each service as before. Desired state does not carry the placement itself, so
// a service no other eligible host runs (placed on this host by name, or matched nowhere else) is left.

/** What a drain does to one host: the moves, and the services that can run nowhere else. */
export interface DrainPlan {
  readonly hostId: string;
  readonly moves: readonly DrainMove[];
  readonly left: readonly DrainLeft[];
}

/**
 * Pure: the drain of `hostId`. `desired` is every project's documents by host (the drained host's
 * projects); `eligible` the hosts that may receive (registered, fresh, not cordoned, not `hostId`).
 * Each moved instance goes to the receiving host that runs the fewest of the service (ties by id).
 */
export function planDrain(hostId: string, desired: ReadonlyMap<string, ReadonlyMap<string, HostDesired>>, eligible: ReadonlySet<string>): DrainPlan {
  const moves: DrainMove[] = [];
  const left: DrainLeft[] = [];
  for (const project of [...desired.keys()].sort(compareStrings)) {
    const documents = desired.get(project) as ReadonlyMap<string, HostDesired>;
    const drained = documents.get(hostId);
    if (drained === undefined) continue;
    // Instances each receiving host will run of the project, as the moves so far raise them.
    const totals = new Map([...documents].map(([id, document]) => [id, instanceCount(document.services)]));
    for (const service of Object.keys(drained.services).sort(compareStrings)) {
      const instances = drained.services[service]?.replicas ?? 0;
      if (instances === 0) continue;
      const runners = [...documents].filter(([id, document]) => id !== hostId && (document.services[service]?.replicas ?? 0) > 0).map(([id]) => id).sort(compareStrings);
      const receivers = runners.filter((id) => eligible.has(id));
      if (receivers.length === 0) {
        const reason = runners.length === 0 ? 'no other host runs it (its placement names this host, or matches no other host)' : `the other hosts that run it are cordoned or not reporting (${runners.join(', ')})`;
        left.push({ project, service, instances, reason });
        continue;
      }
      const replicas = new Map(receivers.map((id) => [id, documents.get(id)?.services[service]?.replicas ?? 0]));
      const added = new Map<string, number>();
      for (let i = 0; i < instances; i += 1) {
        const next = receivers.filter((id) => (totals.get(id) ?? 0) < MAX_INSTANCES_PER_HOST).sort((a, b) => (replicas.get(a) ?? 0) - (replicas.get(b) ?? 0) || compareStrings(a, b))[0];
        if (next === undefined) break;
        replicas.set(next, (replicas.get(next) ?? 0) + 1);
        totals.set(next, (totals.get(next) ?? 0) + 1);
        added.set(next, (added.get(next) ?? 0) + 1);
      }
      const placed = [...added.values()].reduce((sum, n) => sum + n, 0);
      if (placed < instances) {
        // Half a move would leave fewer instances than before: none of it is made.
        for (const [id, n] of added) totals.set(id, (totals.get(id) ?? 0) - n);
        left.push({ project, service, instances, reason: `the other hosts that run it (${receivers.join(', ')}) are at ${MAX_INSTANCES_PER_HOST} instances of the project` });
        continue;
      }
      moves.push({ project, service, instances, to: Object.fromEntries([...added.keys()].sort(compareStrings).map((id) => [id, replicas.get(id) as number])) });
    }
  }
  return { hostId, moves, left };
}

/**
 * Pure: one project's documents for a drain, over what each host holds now (`current`): each
 * receiving host with the moved services' replicas raised to the drain's (never lowered; one raised
 * before is listed unchanged, so the move still waits for it), and the
 * drained host without the moved services (nor, with `force`, the left ones). A receiving host
 * that no longer runs a service takes none of it; a move nobody can take stays on the drained host.
 * In a project spread over hosts, the other hosts' documents stop naming the drained host (`remotes`)
 * for the services it gives up.
 */
export function drainTargets(plan: DrainPlan, project: string, current: ReadonlyMap<string, DesiredEntry>, options: { readonly force: boolean; readonly correlationID: string }): HostTarget[] {
  const raised = new Map<string, HostDesired>();
  const gone = new Set<string>();
  for (const move of plan.moves.filter((m) => m.project === project)) {
    let taken = false;
    for (const [hostId, replicas] of Object.entries(move.to)) {
      const document = raised.get(hostId) ?? current.get(hostId)?.document;
      const spec = document?.services[move.service];
      if (document === undefined || spec === undefined) continue;
      taken = true;
      if (spec.replicas >= replicas) {
        raised.set(hostId, document);
        continue;
      }
      raised.set(hostId, { ...document, services: { ...document.services, [move.service]: { ...spec, replicas } } });
    }
    if (taken) gone.add(move.service);
  }
  if (options.force) for (const entry of plan.left) if (entry.project === project) gone.add(entry.service);
  const drained = current.get(plan.hostId);
  const kept = Object.keys(drained?.document.services ?? {}).filter((service) => !gone.has(service));
  const changed = new Map(raised);
  if (drained !== undefined && kept.length < Object.keys(drained.document.services).length) {
    const services = Object.fromEntries(kept.map((service) => [service, drained.document.services[service]])) as HostDesired['services'];
    // What the drain takes away is meant to go: the project may end up empty on the drained host.
    changed.set(plan.hostId, { ...drained.document, services, allowEmpty: kept.length === 0 ? true : drained.document.allowEmpty });
  }
  // A spread project's readers take endpoint records only from the hosts their document names
  // (`remotes`): the other hosts stop naming the drained host for what it gives up, so it is no
  // longer trusted for it, and readers stop using its instances in the first phase, before they stop.
  for (const [hostId, entry] of current) {
    if (hostId === plan.hostId) continue;
    const document = changed.get(hostId) ?? entry.document;
    const remotes = withoutHost(document.remotes, plan.hostId, [...gone]);
    if (remotes !== document.remotes) changed.set(hostId, { ...document, remotes });
  }
  const targets: HostTarget[] = [];
  for (const [hostId, document] of [...changed].sort(([a], [b]) => compareStrings(a, b))) {
    const entry = current.get(hostId) as DesiredEntry;
    // Unchanged (written by an earlier run) it is still a receiving host: the move waits for it to run them.
    if (desiredContentHash(document) === desiredContentHash(entry.document)) {
      if (raised.has(hostId)) targets.push({ hostId, document: entry.document, kvRevision: entry.kvRevision, changed: false });
      continue;
    }
    targets.push({ hostId, document: { ...document, revision: entry.document.revision + 1, correlationID: options.correlationID }, kvRevision: entry.kvRevision, changed: true });
  }
  return targets;
}

/**
 * Pure: `remotes` without `hostId` for `services` (the same object when it names none of them). An
 * emptied entry goes, unless none would be left: a document with remotes keeps some, so its
 * containers keep the fleet resolver as their `dns:` and the drain replaces none of them.
 */
export function withoutHost(remotes: HostDesired['remotes'], hostId: string, services: readonly string[]): HostDesired['remotes'] {
  if (remotes === undefined || !services.some((service) => remotes[service]?.[hostId] !== undefined)) return remotes;
  const narrowed = Object.fromEntries(Object.entries(remotes).map(([service, hosts]) => [service, services.includes(service) ? Object.fromEntries(Object.entries(hosts).filter(([id]) => id !== hostId)) : hosts]));
  const nonEmpty = Object.fromEntries(Object.entries(narrowed).filter(([, hosts]) => Object.keys(hosts).length > 0));
  return Object.keys(nonEmpty).length > 0 ? nonEmpty : narrowed;
}

/** Pure: the instances of each service the drained host is still told to run, by project (what a deadline leaves). */
export function remainingOnHost(plan: DrainPlan, documents: ReadonlyMap<string, HostDesired>, force: boolean): { project: string; service: string; instances: number }[] {
  const leaving = new Set([...plan.moves, ...(force ? plan.left : [])].map((entry) => `${entry.project}/${entry.service}`));
  return [...documents]
    .sort(([a], [b]) => compareStrings(a, b))
    .flatMap(([project, document]) => Object.entries(document.services).filter(([service, spec]) => spec.replicas > 0 && leaving.has(`${project}/${service}`)).map(([service, spec]) => ({ project, service, instances: spec.replicas })));
}
