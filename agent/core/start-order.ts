import type { ActionDraft, ActionOf } from '../../shared/actions.js';
import { compareStrings } from '../../shared/compare.js';
import { parseDurationMs } from '../../shared/duration.js';
import { dependenciesOf, startRanks, type Dependency } from '../../shared/depends-on.js';
import type { HostDesired } from '../../shared/host-desired.js';
import type { ProjectDiff } from './diff.js';
import { instanceKeyString, type InstanceKey } from './snapshot.js';

// depends_on: a project's instance chains in start order, each chain that starts a container
// opened by a wait for its dependencies (here, or on the other hosts `remotes` names), and `restart: true` dependents restarted after
// a dependency the plan replaces or restarts.

/** How long a dependent waits for a dependency that must be running, or must complete. */
export const STARTED_TIMEOUT_SECONDS = 60;
export const COMPLETED_TIMEOUT_SECONDS = 600;

export interface StartOrderInput {
  /** The project's drafts of the instances phase, chains in instance order. */
  readonly drafts: readonly ActionDraft[];
  readonly desired: HostDesired;
  readonly diff: ProjectDiff;
  /** How long a service's health check may take to pass (the start-first wait's bound). */
  readonly healthTimeoutSeconds: (service: string) => number;
}

/**
 * Pure: the drafts with dependency waits and restarts added, chains ordered by their service's
 * start rank (then as they came). A chain waits only for chains before it, so any number of
 * chains in parallel cannot wait on each other in a circle.
 */
export function orderByDependencies(input: StartOrderInput): ActionDraft[] {
  const { desired, diff } = input;
  const services = desired.services;
  if (!Object.values(services).some((service) => service.depends_on !== undefined)) return [...input.drafts];
  const ranks = startRanks(services);
  const chains = new Map<string, ActionDraft[]>();
  for (const draft of input.drafts) {
    if (draft.kind === 'pull-image' || !('key' in draft)) continue;
    const chain = chains.get(draft.chain);
    if (chain) chain.push(draft);
    else chains.set(draft.chain, [draft]);
  }
  const serviceOf = (chain: readonly ActionDraft[]): string => ((chain[0] as { key: InstanceKey }).key).service;

  // restart: true — in start order, so a restart passes on to the dependents of the restarted.
  const replaced = new Set<string>();
  for (const chain of chains.values()) if (chain.some((draft) => draft.kind === 'stop' || draft.kind === 'create')) replaced.add(serviceOf(chain));
  const byRank = Object.keys(services).sort((a, b) => (ranks.get(a) ?? 0) - (ranks.get(b) ?? 0) || compareStrings(a, b));
  for (const service of byRank) {
    const cause = dependenciesOf(services[service]?.depends_on).find((dependency) => dependency.restart && replaced.has(dependency.service));
    if (cause === undefined) continue;
    for (const entry of diff.entries) {
      // One still starting (a start-first successor on its way) is left to finish: it starts after the dependency anyway.
      if ((entry.kind !== 'in-sync' && entry.kind !== 'unhealthy') || entry.key.service !== service || entry.container.state !== 'running' || entry.container.health === 'starting') continue;
      const chain = instanceKeyString(entry.key);
      if (chains.has(chain)) continue;
      const base = { phase: 'instances' as const, chain, key: entry.key, name: entry.container.name, containerId: entry.container.id, reason: `restart after ${cause.service} (depends_on restart: true)` };
      chains.set(chain, [
        { ...base, kind: 'stop', timeoutSeconds: stopSecondsOf(services[service]?.stop_timeout) },
        { ...base, kind: 'start', repair: false },
      ]);
      replaced.add(service);
    }
  }

  const names = instanceNames(diff);
  const ordered = [...chains.values()].map((chain, index) => ({ chain: withWaits(chain, serviceOf(chain), input, names), rank: ranks.get(serviceOf(chain)) ?? 0, index }));
  ordered.sort((a, b) => a.rank - b.rank || a.index - b.index);
  return ordered.flatMap((entry) => entry.chain);
}

/** A chain that starts a container begins with one wait per dependency that has instances here. */
function withWaits(chain: ActionDraft[], service: string, input: StartOrderInput, names: ReadonlyMap<string, string[]>): ActionDraft[] {
  const last = chain.findLast((draft) => draft.kind === 'create' || draft.kind === 'start') as Omit<ActionOf<'create'>, 'id'> | Omit<ActionOf<'start'>, 'id'> | undefined;
  if (last === undefined) return chain;
  const here = (dependency: Dependency): boolean => (input.desired.services[dependency.service]?.replicas ?? 0) > 0;
  const waits = dependenciesOf(input.desired.services[service]?.depends_on)
    .filter((dependency) => here(dependency) || remoteHosts(input.desired, dependency.service).length > 0)
    .map((dependency): ActionDraft => ({
      kind: 'await-dependency',
      phase: 'instances',
      chain: last.chain,
      key: last.key,
      name: last.name,
      dependency: dependency.service,
      condition: dependency.condition,
      containers: names.get(dependency.service) ?? [],
      // Another host's health check is not in this document: the started bound stands for it there.
      timeoutSeconds: here(dependency) ? timeoutOf(dependency, input) : STARTED_TIMEOUT_SECONDS,
      // Not here: waited for through the endpoint registry, on the hosts the desired state placed it on.
      ...(here(dependency) ? {} : { hosts: remoteHosts(input.desired, dependency.service) }),
      reason: `depends_on ${dependency.service} (${dependency.condition})`,
    }));
  return [...waits, ...chain];
}

/** The other hosts the desired document places a service of its project on (`remotes`), sorted. */
export function remoteHosts(desired: HostDesired, service: string): string[] {
  return Object.keys(desired.remotes?.[service] ?? {}).sort(compareStrings);
}

function timeoutOf(dependency: Dependency, input: StartOrderInput): number {
  if (dependency.condition === 'service_healthy') return input.healthTimeoutSeconds(dependency.service);
  return dependency.condition === 'service_completed_successfully' ? COMPLETED_TIMEOUT_SECONDS : STARTED_TIMEOUT_SECONDS;
}

/** The engine name of each desired instance, per service, in instance order. */
function instanceNames(diff: ProjectDiff): Map<string, string[]> {
  const names = new Map<string, string[]>();
  for (const entry of diff.entries) {
    if (entry.kind === 'remove' || entry.kind === 'unowned') continue;
    const name = 'name' in entry ? entry.name : entry.container.name;
    const ofService = names.get(entry.key.service);
    if (ofService) ofService.push(name);
    else names.set(entry.key.service, [name]);
  }
  return names;
}

function stopSecondsOf(stopTimeout: string | undefined): number {
  return Math.ceil(parseDurationMs(stopTimeout ?? '10s') / 1000);
}
