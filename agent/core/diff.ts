import type { HostDesired } from '../../shared/host-desired.js';
import { maskFileSecret, type FileSecret } from '../../shared/file-secrets.js';
import type { DiffKind } from '../../shared/plan-report.js';
import { runtimeConfigOf, type RuntimeConfig, type ServiceSpec } from '../../shared/fleet-spec.js';
import { canonicalJson } from '../../shared/canonical.js';
import { diffFlat, flattenService, type FieldChange } from '../../shared/spec-diff.js';
import { compareStrings } from '../../shared/compare.js';
import type { Attachments } from '../../shared/actions.js';
import { attachmentsOf, expectedNetworkNames, wantedResources, type WantedResource } from './resources.js';
import { normalizeImageRef } from './images.js';
import { followsTag } from './pull-policy.js';
import { specHashOf } from './spec-hash.js';
import { engineLeavesExited } from '../../shared/restart-policy.js';
import { foreignHolderText } from './holders.js';
import { containerName, instanceKeyString, type InstanceKey, type ObservedContainer, type ObservedResource, type OwnerRecord, type ResourceKind, type ResourceRecord, type RuntimeSnapshot } from './snapshot.js';

/** What the journal knows, as the diff needs it: the latest record per instance and per token. */
export interface JournalView {
  latestRecordFor(key: InstanceKey): OwnerRecord | undefined;
  latestResourceRecordFor(kind: ResourceKind, project: string, resource: string): ResourceRecord | undefined;
}

/** One network's or volume's difference between desired and observed. */
export type ResourceEntry =
  | { readonly kind: 'create'; readonly wanted: WantedResource; readonly cause: 'new' | 'missing' }
  | { readonly kind: 'in-sync'; readonly wanted: WantedResource; readonly observed: ObservedResource | undefined }
  /** Owned, but made from another definition: Docker cannot change a network or volume in place. */
  | { readonly kind: 'changed'; readonly wanted: WantedResource; readonly observed: ObservedResource }
  /** Its name is held by a network or volume Hostwright does not own. */
  | { readonly kind: 'name-conflict'; readonly wanted: WantedResource; readonly holder: string }
  | { readonly kind: 'external-missing'; readonly wanted: WantedResource }
  /** Owned by this project, and no service on this host uses it any more. */
  | { readonly kind: 'unused'; readonly observed: ObservedResource };

/** One instance's (or one container's) difference between desired and observed. */
export type DiffEntry =
  | { readonly kind: 'create'; readonly key: InstanceKey; readonly name: string; readonly specHash: string; readonly config: RuntimeConfig; readonly attach: Attachments; readonly cause: 'new' | 'missing' }
  | {
      readonly kind: 'replace';
      readonly key: InstanceKey;
      readonly name: string;
      readonly container: ObservedContainer;
      readonly specHash: string;
      readonly config: RuntimeConfig;
      readonly attach: Attachments;
      readonly changedFields: readonly string[];
      /** The same change typed (shared/spec-diff.ts): empty when the previous spec is not in the journal. */
      readonly changes: readonly FieldChange[];
    }
  | {
      readonly kind: 'stopped';
      readonly key: InstanceKey;
      readonly name: string;
      readonly container: ObservedContainer;
      readonly neverStarted: boolean;
      readonly specHash: string;
      readonly config: RuntimeConfig;
      readonly attach: Attachments;
      /** Starts of this very container the engine refused in a row (from the journal). */
      readonly refusedStarts: OwnerRecord['refusedStarts'];
    }
  | { readonly kind: 'modified'; readonly key: InstanceKey; readonly name: string; readonly container: ObservedContainer; readonly specHash: string; readonly config: RuntimeConfig; readonly attach: Attachments }
  | { readonly kind: 'unhealthy'; readonly key: InstanceKey; readonly container: ObservedContainer }
  | { readonly kind: 'remove'; readonly key: InstanceKey; readonly container: ObservedContainer; readonly cause: 'service-removed' | 'scaled-down' | 'duplicate' }
  | { readonly kind: 'name-conflict'; readonly key: InstanceKey; readonly name: string; readonly holder: string }
  | { readonly kind: 'unowned'; readonly container: ObservedContainer; readonly reason: string }
  | { readonly kind: 'in-sync'; readonly key: InstanceKey; readonly container: ObservedContainer }
  /** In sync, but its service's restart generation is above the one it was last started for (`hostwright restart`). */
  | { readonly kind: 'restart'; readonly key: InstanceKey; readonly name: string; readonly container: ObservedContainer; readonly generation: number };

/** The entries' kinds are exactly the wire's (shared/plan-report.ts): a new kind does not compile until both have it. */
export type { DiffKind };
type SameKinds<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const kindsMatch: SameKinds<DiffEntry['kind'], DiffKind> = true;
void kindsMatch;

export interface ProjectDiff {
  readonly project: string;
  readonly revision: number;
  readonly entries: readonly DiffEntry[];
  /** Its networks, then its volumes, each by key. */
  readonly resources: readonly ResourceEntry[];
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
  for (const name of input.snapshot.foreignNames) foreignHolders.set(name, foreignHolderText(name, input.snapshot.foreignOwners?.[name]));
  const context: ProjectContext = { ...input, claims, containersByProject, foreignHolders, foreignResources: { network: new Set(input.snapshot.foreignNetworks), volume: new Set(input.snapshot.foreignVolumes) } };
  const projects = [...input.desired].sort((a, b) => compareStrings(a.project, b.project)).map((desired) => diffProject(desired, context));
  return { hostId: input.snapshot.hostId, projects };
}

interface ProjectContext extends DiffInput {
  readonly claims: ReadonlyMap<string, readonly string[]>;
  readonly containersByProject: ReadonlyMap<string, readonly ObservedContainer[]>;
  /** Names held by containers of other owners (any project can collide with them). */
  readonly foreignHolders: ReadonlyMap<string, string>;
  /** Names of the engine's networks and volumes not labelled for this host. */
  readonly foreignResources: { readonly [K in ResourceKind]: ReadonlySet<string> };
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
  const resources = diffResources(desired, context);
  // A network about to be made anew is not the one an existing container was plugged into.
  const recreatedNetworks = new Set(resources.flatMap((entry) => (entry.kind === 'create' && entry.wanted.kind === 'network' ? [entry.wanted.name] : [])));
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
      const attach = attachmentsOf(desired, serviceName, instance, namePrefix);
      const rawCandidates = ofService?.get(instance) ?? NONE;
      const candidates = rawCandidates.map((container) => withNetworkDrift(container, attach, recreatedNetworks));
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
        entries.push({ kind: 'create', key, name, specHash, config, attach, cause });
      } else if (current.identity.specHash !== specHash) {
        const previous = journal.latestRecordFor(key);
        const known = previous?.specHash === current.identity.specHash;
        const changedFields = known ? changedConfigFields(previous.config, config) : ['(unknown: previous spec not in journal)'];
        const changes = known ? diffRuntimeConfig(previous.config, config) : [];
        entries.push({ kind: 'replace', key, name, container: current, specHash, config, attach, changedFields, changes });
      } else if (movedImage(service, current, context.snapshot) !== undefined) {
        const moved = movedImage(service, current, context.snapshot) as { text: string; change: FieldChange };
        entries.push({ kind: 'replace', key, name, container: current, specHash, config, attach, changedFields: [moved.text], changes: [moved.change] });
      } else if (current.modifiedFields.some((field) => field !== 'name') || (current.name !== name && !nameKeptByDuplicate)) {
        entries.push({ kind: 'modified', key, name, container: current, specHash, config, attach });
      } else if (leftExited(current, service)) {
        // A one-shot that exited 0 has done its work; one that failed is reported failed (its condition), as the
        // engine leaves it: restarting it every cycle would run a failed migration again and again.
        entries.push({ kind: 'in-sync', key, container: current });
      } else if ((current.state === 'exited' || current.state === 'created') && restartDue(desired, serviceName, journal.latestRecordFor(key), current)) {
        // Stopped by a restart that a crash cut short (or stopped anyway): the restart starts it, and records it.
        entries.push({ kind: 'restart', key, name, container: current, generation: desired.restarts?.[serviceName] as number });
      } else if (current.state !== 'running' && current.state !== 'restarting') {
        const record = journal.latestRecordFor(key);
        const refusedStarts = record?.containerId === current.id ? record.refusedStarts : undefined;
        entries.push({ kind: 'stopped', key, name, container: current, neverStarted: current.state === 'created', specHash, config, attach, refusedStarts });
      } else if (restartDue(desired, serviceName, journal.latestRecordFor(key), current)) {
        entries.push({ kind: 'restart', key, name, container: current, generation: desired.restarts?.[serviceName] as number });
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
  return { project: desired.project, revision: desired.revision, entries: sortEntries(entries), resources };
}

/**
 * A container plugged into other networks than its instance wants (one disconnected by hand, one
 * made before project networks, one whose network is gone) is modified: field `networks`.
 */
function withNetworkDrift(container: ObservedContainer, attach: Attachments, recreatedNetworks: ReadonlySet<string>): ObservedContainer {
  const expected = expectedNetworkNames(attach);
  if (expected === undefined || container.networks === undefined || container.modifiedFields.includes('networks')) return container;
  const same = expected.length === container.networks.length && expected.every((name, i) => container.networks?.[i] === name && !recreatedNetworks.has(name));
  return same ? container : { ...container, modifiedFields: [...container.modifiedFields, 'networks'].sort(compareStrings) };
}

/** The project's networks and volumes: each wanted one made, kept or refused; the owned ones no service uses, found. */
function diffResources(desired: HostDesired, context: ProjectContext): ResourceEntry[] {
  const entries: ResourceEntry[] = [];
  const observedByName = new Map<string, ObservedResource>();
  const ofProject: ObservedResource[] = [];
  for (const observed of [...context.snapshot.networks, ...context.snapshot.volumes]) {
    observedByName.set(`${observed.identity.kind}\u0000${observed.name}`, observed);
    if (observed.identity.project === desired.project && observed.ownership.owned) ofProject.push(observed);
  }
  const wantedNames = new Set<string>();
  for (const wanted of wantedResources(desired, context.namePrefix)) {
    wantedNames.add(`${wanted.kind}\u0000${wanted.name}`);
    const observed = observedByName.get(`${wanted.kind}\u0000${wanted.name}`);
    const foreign = context.foreignResources[wanted.kind].has(wanted.name);
    if (wanted.external) {
      entries.push(observed !== undefined || foreign ? { kind: 'in-sync', wanted, observed } : { kind: 'external-missing', wanted });
    } else if (observed === undefined) {
      if (foreign) {
        entries.push({ kind: 'name-conflict', wanted, holder: `a ${wanted.kind} Hostwright did not create` });
        continue;
      }
      const record = context.journal.latestResourceRecordFor(wanted.kind, desired.project, wanted.resource);
      entries.push({ kind: 'create', wanted, cause: record !== undefined && !record.removed && record.resourceId !== undefined ? 'missing' : 'new' });
    } else if (!observed.ownership.owned || observed.identity.project !== desired.project || observed.identity.resource !== wanted.resource) {
      entries.push({ kind: 'name-conflict', wanted, holder: observed.ownership.owned ? `the ${wanted.kind} of ${observed.identity.project}/${observed.identity.resource}` : `a ${wanted.kind} labelled as Hostwright's but not owned (${observed.ownership.reason})` });
    } else if (observed.identity.specHash !== wanted.specHash) {
      entries.push({ kind: 'changed', wanted, observed });
    } else {
      entries.push({ kind: 'in-sync', wanted, observed });
    }
  }
  for (const observed of ofProject) {
    if (!wantedNames.has(`${observed.identity.kind}\u0000${observed.name}`)) entries.push({ kind: 'unused', observed });
  }
  return entries;
}

/** Exited, and its restart policy says the engine will not start it again: a one-shot done, or failed and reported. */
function leftExited(container: ObservedContainer, service: ServiceSpec): boolean {
  return container.state === 'exited' && engineLeavesExited(service.restart, container);
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
  // Secret files by digest: each write seals them anew.
  const comparable = (config: RuntimeConfig, field: keyof RuntimeConfig): unknown => (field === 'secrets' ? config.secrets?.map(maskFileSecret) : config[field]) ?? null;
  return [...fields]
    .filter((field) => canonicalJson(comparable(before, field)) !== canonicalJson(comparable(after, field)))
    .sort(compareStrings)
    .map((field) => (field === 'secrets' ? `secrets (${secretChanges(before.secrets ?? [], after.secrets ?? []).join(', ')})` : field));
}

/** The typed change between two runtime configs: every field of one forces a replacement. */
export function diffRuntimeConfig(before: RuntimeConfig, after: RuntimeConfig): FieldChange[] {
  return diffFlat(flattenService(before), flattenService(after), () => true);
}

/** Which secret files changed, by name and digest (a keyed HMAC: never the value). */
function secretChanges(before: readonly FileSecret[], after: readonly FileSecret[]): string[] {
  const short = (file: FileSecret | undefined): string => (file?.value.digest === undefined ? 'none' : file.value.digest.slice(0, 12));
  const keyOf = (file: FileSecret): string => `${file.kind} ${file.name}`;
  const keys = [...new Set([...before, ...after].map(keyOf))].sort(compareStrings);
  return keys.flatMap((key) => {
    const old = before.find((file) => keyOf(file) === key);
    const now = after.find((file) => keyOf(file) === key);
    if (old !== undefined && now !== undefined && canonicalJson(maskFileSecret(old)) === canonicalJson(maskFileSecret(now))) return [];
    if (old?.value.digest !== now?.value.digest) return [`${key} digest ${short(old)} → ${short(now)}`];
    return [`${key} mount`];
  });
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

/**
 * "image moved (old -> new)" when a service that follows its tag (pull_policy always, daily, …)
 * runs another image than the one its reference names on the host now (a pull moved the tag).
 */
function movedImage(service: ServiceSpec, container: ObservedContainer, snapshot: RuntimeSnapshot): { text: string; change: FieldChange } | undefined {
  if (!followsTag(service.pull_policy) || container.image === undefined) return undefined;
  const named = snapshot.imageIds?.[normalizeImageRef(service.image)];
  if (named === undefined || named === container.image.id) return undefined;
  const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);
  return { text: `image moved (${short(container.image.id)} -> ${short(named)})`, change: { field: 'image.id', type: 'edited', old: container.image.id, new: named, forces: true } };
}

/** A restart is due when the service's generation is above the one the journal recorded for this very container. */
function restartDue(desired: HostDesired, service: string, record: OwnerRecord | undefined, container: ObservedContainer): boolean {
  const generation = desired.restarts?.[service];
  if (generation === undefined) return false;
  const done = record?.containerId === container.id ? (record.restartGeneration ?? 0) : 0;
  return generation > done;
}
