import type { HostDesired } from '../../shared/host-desired.js';
import type { DiffKind } from '../../shared/plan-report.js';
import { runtimeConfigOf, type RuntimeConfig, type ServiceSpec } from '../../shared/fleet-spec.js';
import { canonicalJson } from '../../shared/canonical.js';
import { compareStrings } from '../../shared/compare.js';
import { specHashOf } from './spec-hash.js';
import { containerName, instanceKeyString, type InstanceKey, type ObservedContainer, type OwnerRecord, type RuntimeSnapshot } from './snapshot.js';

/** What the journal knows, as the diff needs it: the latest record per instance and per token. */
export interface JournalView {
  latestRecordFor(key: InstanceKey): OwnerRecord | undefined;
}

/** One instance's (or one container's) difference between desired and observed. */
export type DiffEntry =
  | { readonly kind: 'create'; readonly key: InstanceKey; readonly name: string; readonly specHash: string; readonly config: RuntimeConfig; readonly cause: 'new' | 'missing' }
  | { readonly kind: 'replace'; readonly key: InstanceKey; readonly name: string; readonly container: ObservedContainer; readonly specHash: string; readonly config: RuntimeConfig; readonly changedFields: readonly string[] }
  | {
      readonly kind: 'stopped';
      readonly key: InstanceKey;
      readonly name: string;
      readonly container: ObservedContainer;
      readonly neverStarted: boolean;
      readonly specHash: string;
      readonly config: RuntimeConfig;
      /** Starts of this very container the engine refused in a row (from the journal). */
      readonly refusedStarts: OwnerRecord['refusedStarts'];
    }
  | { readonly kind: 'modified'; readonly key: InstanceKey; readonly name: string; readonly container: ObservedContainer; readonly specHash: string; readonly config: RuntimeConfig }
  | { readonly kind: 'unhealthy'; readonly key: InstanceKey; readonly container: ObservedContainer }
  | { readonly kind: 'remove'; readonly key: InstanceKey; readonly container: ObservedContainer; readonly cause: 'service-removed' | 'scaled-down' | 'duplicate' }
  | { readonly kind: 'name-conflict'; readonly key: InstanceKey; readonly name: string; readonly holder: string }
  | { readonly kind: 'unowned'; readonly container: ObservedContainer; readonly reason: string }
  | { readonly kind: 'in-sync'; readonly key: InstanceKey; readonly container: ObservedContainer };

/** The entries' kinds are exactly the wire's (shared/plan-report.ts): a new kind does not compile until both have it. */
export type { DiffKind };
type SameKinds<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const kindsMatch: SameKinds<DiffEntry['kind'], DiffKind> = true;
void kindsMatch;

export interface ProjectDiff {
  readonly project: string;
  readonly revision: number;
  readonly entries: readonly DiffEntry[];
}

export interface HostDiff {
  readonly hostId: string;
  readonly projects: readonly ProjectDiff[];
}

export interface DiffInput {
  readonly desired: readonly HostDesired[];
  readonly snapshot: RuntimeSnapshot;
  readonly journal: JournalView;
  readonly namePrefix: string;
}

/** Pure and deterministic: compares desired documents with one snapshot, entries sorted by instance. */
export function diffHost(input: DiffInput): HostDiff {
  const claims = nameClaims(input.desired, input.namePrefix);
  // Grouped once, so that each project looks only at its own containers.
  const containersByProject = new Map<string, ObservedContainer[]>();
  for (const container of input.snapshot.containers) {
    const group = containersByProject.get(container.identity.project);
    if (group) group.push(container);
    else containersByProject.set(container.identity.project, [container]);
  }
  const foreignHolders = new Map<string, string>();
  for (const name of input.snapshot.foreignNames) foreignHolders.set(name, `container ${name} (not managed by Hostwright on this host)`);
  const context: ProjectContext = { ...input, claims, containersByProject, foreignHolders };
  const projects = [...input.desired].sort((a, b) => compareStrings(a.project, b.project)).map((desired) => diffProject(desired, context));
  return { hostId: input.snapshot.hostId, projects };
}

interface ProjectContext extends DiffInput {
  readonly claims: ReadonlyMap<string, readonly string[]>;
  readonly containersByProject: ReadonlyMap<string, readonly ObservedContainer[]>;
  /** Names held by containers of other owners (any project can collide with them). */
  readonly foreignHolders: ReadonlyMap<string, string>;
}

/**
 * Container names every desired instance wants: "a-b" + "c" and "a" + "b-c" both make "a-b-c-1".
 * Names can only collide across projects (an instance number has no "-"), so one project needs no map.
 */
function nameClaims(documents: readonly HostDesired[], namePrefix: string): Map<string, string[]> {
  const claims = new Map<string, string[]>();
  if (documents.length < 2) return claims;
  for (const document of documents) {
    for (const [service, spec] of Object.entries(document.services)) {
      for (let instance = 1; instance <= spec.replicas; instance += 1) {
        const key = { project: document.project, service, instance };
        const name = containerName(namePrefix, key);
        const claimants = claims.get(name);
        if (claimants) claimants.push(instanceKeyString(key));
        else claims.set(name, [instanceKeyString(key)]);
      }
    }
  }
  return claims;
}

function diffProject(desired: HostDesired, context: ProjectContext): ProjectDiff {
  const { journal, namePrefix, claims, foreignHolders } = context;
  const entries: DiffEntry[] = [];
  const mine = context.containersByProject.get(desired.project) ?? NONE;
  const owned = mine.filter((container) => container.ownership.owned);
  for (const container of mine) {
    if (!container.ownership.owned) entries.push({ kind: 'unowned', container, reason: container.ownership.reason });
  }
  const unownedHolders = new Map<string, string>();
  for (const container of mine) {
    if (!container.ownership.owned) unownedHolders.set(container.name, `container ${container.id.slice(0, 12)} (labelled as Hostwright's but not owned: ${container.ownership.reason})`);
  }

  // Owned containers by service, then instance: no string keys on the per-instance path.
  const byService = new Map<string, Map<number, ObservedContainer[]>>();
  for (const container of owned) {
    const instances = byService.get(container.identity.service) ?? new Map<number, ObservedContainer[]>();
    byService.set(container.identity.service, instances);
    const group = instances.get(container.identity.instance);
    if (group) group.push(container);
    else instances.set(container.identity.instance, [container]);
  }
  for (const serviceName of Object.keys(desired.services).sort(compareStrings)) {
    const service = desired.services[serviceName] as ServiceSpec;
    const specHash = specHashOf(service);
    const config = runtimeConfigOf(service);
    const ofService = byService.get(serviceName);
    for (let instance = 1; instance <= service.replicas; instance += 1) {
      const key: InstanceKey = { project: desired.project, service: serviceName, instance };
      const name = containerName(namePrefix, key);
      const candidates = ofService?.get(instance) ?? NONE;
      const sorted = candidates.length > 1 ? [...candidates].sort((a, b) => preferContainer(a, b, name, specHash)) : candidates;
      const current = sorted[0];
      const duplicates = sorted.length > 1 ? sorted.slice(1) : NONE;
      let nameKeptByDuplicate = false;
      const currentNeedsCreate = current !== undefined && (current.identity.specHash !== specHash || current.modifiedFields.some((field) => field !== 'name') || current.state === 'dead');
      for (const duplicate of duplicates) {
        // Never remove the only serving copy: a start-first successor that is not healthy yet keeps its
        // predecessor. (When the current container must be recreated anyway, every duplicate goes.)
        if (current && !currentNeedsCreate && current.state === 'running' && !serving(current) && serving(duplicate)) {
          nameKeptByDuplicate ||= duplicate.name === name;
          continue;
        }
        entries.push({ kind: 'remove', key, container: duplicate, cause: 'duplicate' });
      }
      if (!current) {
        const rivals = (claims.get(name) ?? []).filter((claimant) => claimant !== instanceKeyString(key));
        const holder = unownedHolders.get(name) ?? foreignHolders.get(name) ?? (rivals.length > 0 ? `the desired instance ${rivals.join(', ')} (rename a project or service)` : undefined);
        if (holder !== undefined) {
          entries.push({ kind: 'name-conflict', key, name, holder });
          continue;
        }
        const record = journal.latestRecordFor(key);
        const cause = record !== undefined && !record.removed && record.containerId !== undefined ? 'missing' : 'new';
        entries.push({ kind: 'create', key, name, specHash, config, cause });
      } else if (current.identity.specHash !== specHash) {
        const previous = journal.latestRecordFor(key);
        const changedFields = previous?.specHash === current.identity.specHash ? changedConfigFields(previous.config, config) : ['(unknown: previous spec not in journal)'];
        entries.push({ kind: 'replace', key, name, container: current, specHash, config, changedFields });
      } else if (current.modifiedFields.some((field) => field !== 'name') || (current.name !== name && !nameKeptByDuplicate)) {
        entries.push({ kind: 'modified', key, name, container: current, specHash, config });
      } else if (current.state !== 'running' && current.state !== 'restarting') {
        const record = journal.latestRecordFor(key);
        const refusedStarts = record?.containerId === current.id ? record.refusedStarts : undefined;
        entries.push({ kind: 'stopped', key, name, container: current, neverStarted: current.state === 'created', specHash, config, refusedStarts });
      } else if (current.health === 'unhealthy') {
        entries.push({ kind: 'unhealthy', key, container: current });
      } else {
        entries.push({ kind: 'in-sync', key, container: current });
      }
    }
  }
  for (const [serviceName, instances] of byService) {
    // hasOwn: a label value such as "constructor" must not find an inherited property.
    const service = Object.hasOwn(desired.services, serviceName) ? desired.services[serviceName] : undefined;
    for (const [instance, containers] of instances) {
      if (service && instance >= 1 && instance <= service.replicas) continue;
      for (const container of containers) entries.push({ kind: 'remove', key: container.identity, container, cause: service ? 'scaled-down' : 'service-removed' });
    }
  }
  return { project: desired.project, revision: desired.revision, entries: sortEntries(entries) };
}

/** Running, and healthy or without a health check. */
function serving(container: ObservedContainer): boolean {
  return container.state === 'running' && (container.health === 'healthy' || container.health === 'none');
}

/** Keeps the container that is most nearly right: current spec, serving, expected name, running, newest. */
function preferContainer(a: ObservedContainer, b: ObservedContainer, name: string, specHash: string): number {
  const score = (c: ObservedContainer) => [c.identity.specHash === specHash ? 0 : 1, serving(c) ? 0 : 1, c.name === name ? 0 : 1, c.state === 'running' ? 0 : 1];
  const [sa, sb] = [score(a), score(b)];
  for (let i = 0; i < sa.length; i += 1) {
    const delta = (sa[i] as number) - (sb[i] as number);
    if (delta !== 0) return delta;
  }
  return b.createdAt - a.createdAt || compareStrings(a.id, b.id);
}

export function changedConfigFields(before: RuntimeConfig, after: RuntimeConfig): string[] {
  const fields = new Set([...Object.keys(before), ...Object.keys(after)]) as Set<keyof RuntimeConfig>;
  return [...fields].filter((field) => canonicalJson(before[field] ?? null) !== canonicalJson(after[field] ?? null)).sort(compareStrings);
}

/** Sorted by project, service, instance, kind, container: each entry's key is built once (10,000 services sort in milliseconds). */
function sortEntries(entries: readonly DiffEntry[]): DiffEntry[] {
  const keyed = entries.map((entry): [string, DiffEntry] => {
    const key = entry.kind === 'unowned' ? entry.container.identity : entry.key;
    const containerId = 'container' in entry ? entry.container.id : '';
    // NUL sorts before every character a name may contain, so the joined key orders like the tuple.
    return [`${key.project}\u0000${key.service}\u0000${String(key.instance).padStart(7, '0')}\u0000${entry.kind}\u0000${containerId}`, entry];
  });
  keyed.sort(([a], [b]) => compareStrings(a, b));
  return keyed.map(([, entry]) => entry);
}

const NONE: readonly ObservedContainer[] = [];
