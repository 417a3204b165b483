import fc from 'fast-check';
import type { DriftPolicyInput, ServiceSpec } from '../../shared/fleet-spec.js';
import type { HostDesired } from '../../shared/host-desired.js';
import type { DependencyCondition, DependsOn } from '../../shared/depends-on.js';
import { compareStrings } from '../../shared/compare.js';
import type { PlanMode } from '../../agent/core/planner.js';
import { proveOwnership } from '../../agent/core/ownership.js';
import { testToken, verifyTestToken } from './owner-tokens.js';
import { specHashOf } from '../../agent/core/spec-hash.js';
import { runtimeConfigOf } from '../../shared/fleet-spec.js';
import { containerName, type ContainerState, type Health, type InstanceKey, type LabelledIdentity, type ObservedContainer, type OwnerRecord, type RuntimeSnapshot } from '../../agent/core/snapshot.js';
import { desired, service } from './builders.js';
import { configView } from './simulated-runtime.js';

export const HOST_ID = 'h1';
export const NAME_PREFIX = 'hw-';
export const OBSERVED_AT = '2025-01-01T00:00:00.000Z';

/** Names without "-": `${project}-${service}` is unambiguous across projects. */
const PROJECTS = ['alpha', 'beta', 'gamma', 'delta'] as const;
const SERVICES = ['web', 'api', 'db', 'worker', 'cache'] as const;
/** Names where ("shop", "api-web") and ("shop-api", "web") give the same container name. */
const AMBIGUOUS_PROJECTS = ['shop', 'shop-api', 'gamma'] as const;
const AMBIGUOUS_SERVICES = ['web', 'api-web', 'db'] as const;

/** "busybox" and "docker.io/library/busybox:latest" are the same image under different references. */
export const IMAGES = ['hw/busybox:test', 'busybox', 'docker.io/library/busybox:latest', 'nginx:1.27', 'redis:7'] as const;
const ENVS: readonly Readonly<Record<string, string>>[] = [{}, { MODE: 'a' }, { MODE: 'b', DEBUG: '1' }];
const FOREIGN = ['postgres', 'traefik', 'hw-legacy', 'watchtower'] as const;

// --- desired documents -------------------------------------------------------------------------

export interface ServiceRecipe {
  readonly name: string;
  readonly image: number;
  readonly env: number;
  readonly replicas: number;
  readonly drift: DriftPolicyInput | undefined;
  readonly pullPolicy: 'missing' | 'never';
  readonly healthcheck: boolean;
  readonly stopTimeout: '1s' | '10s';
  /** Mounts the project volume `data`, in the short or the long syntax. */
  readonly volume?: 'short' | 'long' | undefined;
  /** depends_on: each picks one of the project's services that sort before this one (so never a cycle). */
  readonly dependsOn: readonly DependencyRecipe[];
}

export interface DependencyRecipe {
  readonly target: number;
  readonly condition: DependencyCondition;
  readonly restart: boolean;
  readonly required: boolean;
}

export interface ProjectRecipe {
  readonly project: string;
  readonly revision: number;
  readonly drift: DriftPolicyInput | undefined;
  readonly allowEmpty: boolean;
  readonly services: readonly ServiceRecipe[];
}

const driftActionArb = fc.constantFrom<'repair' | 'report'>('repair', 'report');

export const driftPolicyArb: fc.Arbitrary<DriftPolicyInput | undefined> = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 3 },
  { arbitrary: driftActionArb, weight: 1 },
  {
    arbitrary: fc.record({ missing: driftActionArb, stopped: driftActionArb, modified: driftActionArb }, { requiredKeys: [] }),
    weight: 2,
  },
);

function serviceRecipeArb(names: readonly string[]): fc.Arbitrary<ServiceRecipe> {
  return fc.record({
    name: fc.constantFrom(...names),
    image: fc.nat({ max: IMAGES.length - 1 }),
    env: fc.nat({ max: ENVS.length - 1 }),
    replicas: fc.integer({ min: 0, max: 3 }),
    drift: driftPolicyArb,
    pullPolicy: fc.constantFrom<'missing' | 'never'>('missing', 'missing', 'never'),
    healthcheck: fc.boolean(),
    stopTimeout: fc.constantFrom<'1s' | '10s'>('1s', '10s'),
    volume: fc.constantFrom<'short' | 'long' | undefined>(undefined, undefined, 'short', 'long'),
    dependsOn: fc.array(fc.record({ target: fc.nat({ max: 7 }), condition: fc.constantFrom<DependencyCondition>('service_started', 'service_healthy', 'service_completed_successfully'), restart: fc.boolean(), required: fc.boolean() }), { maxLength: 2 }),
  });
}

function projectRecipeArb(projects: readonly string[], services: readonly string[]): fc.Arbitrary<ProjectRecipe> {
  return fc.record({
    project: fc.constantFrom(...projects),
    revision: fc.integer({ min: 1, max: 5 }),
    drift: driftPolicyArb,
    allowEmpty: fc.boolean(),
    services: fc.uniqueArray(serviceRecipeArb(services), { maxLength: 4, selector: (recipe) => recipe.name }),
  });
}

export function serviceOf(recipe: Omit<ServiceRecipe, 'name' | 'dependsOn'>, dependsOn?: DependsOn): ServiceSpec {
  const fields: Partial<Record<keyof ServiceSpec, unknown>> = {
    image: IMAGES[recipe.image],
    env: ENVS[recipe.env],
    replicas: recipe.replicas,
    pull_policy: recipe.pullPolicy,
    stop_timeout: recipe.stopTimeout,
  };
  if (recipe.drift !== undefined) fields.drift = recipe.drift;
  if (recipe.healthcheck) fields.healthcheck = { test: ['CMD', 'true'] };
  if (dependsOn !== undefined) fields.depends_on = dependsOn;
  if (recipe.volume === 'short') fields.volumes = ['data:/data'];
  if (recipe.volume === 'long') fields.volumes = [{ type: 'volume', source: 'data', target: '/data' }];
  return service(fields);
}

export function desiredOf(recipe: ProjectRecipe): HostDesired {
  const services: Record<string, ServiceSpec> = {};
  const names = recipe.services.map((entry) => entry.name).sort(compareStrings);
  for (const entry of recipe.services) services[entry.name] = serviceOf(entry, dependsOnOf(entry, names));
  const fields: Partial<HostDesired> = { hostId: HOST_ID, revision: recipe.revision, allowEmpty: recipe.allowEmpty };
  if (recipe.services.some((entry) => entry.volume !== undefined && entry.replicas > 0)) fields.volumes = { data: {} };
  if (recipe.drift !== undefined) fields.drift = recipe.drift;
  return desired(recipe.project, services, fields);
}

/** The recipe's dependencies on services named before it (absent, a list or a mapping), or undefined. */
function dependsOnOf(recipe: ServiceRecipe, names: readonly string[]): DependsOn | undefined {
  const earlier = names.filter((name) => compareStrings(name, recipe.name) < 0);
  if (earlier.length === 0 || recipe.dependsOn.length === 0) return undefined;
  const picked = new Map(recipe.dependsOn.map((dependency) => [earlier[dependency.target % earlier.length] as string, dependency]));
  if (recipe.dependsOn[0]?.condition === 'service_started' && recipe.dependsOn.every((dependency) => !dependency.restart && dependency.required)) return [...picked.keys()];
  return Object.fromEntries([...picked].map(([name, { condition, restart, required }]) => [name, { condition, restart, required }]));
}

export interface DesiredOptions {
  /** Allow hyphenated project and service names whose container names can coincide across projects. */
  readonly ambiguousNames?: boolean;
}

function projectRecipesArb(options: DesiredOptions): fc.Arbitrary<ProjectRecipe[]> {
  const projects = options.ambiguousNames ? AMBIGUOUS_PROJECTS : PROJECTS;
  const services = options.ambiguousNames ? AMBIGUOUS_SERVICES : SERVICES;
  return fc.uniqueArray(projectRecipeArb(projects, services), { minLength: 1, maxLength: 3, selector: (recipe) => recipe.project });
}

/** 1-3 desired documents for host h1: 0-4 services each, 0-3 replicas, image/env/drift variants. */
export function desiredDocsArb(options: DesiredOptions = {}): fc.Arbitrary<HostDesired[]> {
  return projectRecipesArb(options).map((recipes) => recipes.map(desiredOf));
}

// --- snapshots consistent with a journal -------------------------------------------------------

type SpecVariant = 'current' | 'old-image' | 'old-env';

export interface ContainerRecipe {
  readonly spec: SpecVariant;
  readonly state: Exclude<ContainerState, 'paused' | 'removing' | 'dead'>;
  readonly health: Health;
  readonly modified: boolean;
  /** The journal has the create intent but not its result yet (crash between create and record). */
  readonly pending: boolean;
  readonly createdAt: number;
  readonly restartCount: number | undefined;
}

export type UnownedKind = 'copied' | 'unknown-token' | 'mismatched' | 'stale-spec-label';

export interface UnownedRecipe {
  readonly kind: UnownedKind;
  /** Take the instance's expected name when it is free (a name conflict). */
  readonly canonicalName: boolean;
  readonly state: 'running' | 'exited' | 'created';
}

/** Everything on the host and in the journal about one instance key. */
export interface SlotRecipe {
  /** An older record of a container Hostwright removed. */
  readonly removedHistory: boolean;
  /** A record of a live container that is gone from the engine (removed by hand). */
  readonly vanished: boolean;
  readonly primary: ContainerRecipe | undefined;
  readonly duplicates: readonly ContainerRecipe[];
  /** A newer create intent that never produced a container. */
  readonly pendingNewer: boolean;
  readonly unowned: readonly UnownedRecipe[];
}

const containerRecipeArb: fc.Arbitrary<ContainerRecipe> = fc
  .record({
    spec: fc.constantFrom<SpecVariant>('current', 'current', 'current', 'old-image', 'old-env'),
    state: fc.constantFrom<ContainerRecipe['state']>('running', 'running', 'running', 'exited', 'created', 'restarting'),
    health: fc.constantFrom<Health>('none', 'none', 'healthy', 'starting', 'unhealthy'),
    modified: fc.constantFrom(false, false, false, true),
    pending: fc.constantFrom(false, false, false, true),
    createdAt: fc.integer({ min: 0, max: 3 }),
    restartCount: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
  })
  .map((recipe) => (recipe.state === 'running' || recipe.state === 'restarting' ? recipe : { ...recipe, health: 'none' as const }));

const unownedRecipeArb: fc.Arbitrary<UnownedRecipe> = fc.record({
  kind: fc.constantFrom<UnownedKind>('copied', 'unknown-token', 'mismatched', 'stale-spec-label'),
  canonicalName: fc.boolean(),
  state: fc.constantFrom<UnownedRecipe['state']>('running', 'exited', 'created'),
});

export const slotRecipeArb: fc.Arbitrary<SlotRecipe> = fc.record({
  removedHistory: fc.boolean(),
  vanished: fc.constantFrom(false, false, true),
  primary: fc.option(containerRecipeArb, { nil: undefined, freq: 4 }),
  duplicates: fc.oneof({ arbitrary: fc.constant([]), weight: 5 }, { arbitrary: fc.array(containerRecipeArb, { minLength: 1, maxLength: 2 }), weight: 1 }),
  pendingNewer: fc.constantFrom(false, false, false, false, true),
  unowned: fc.oneof({ arbitrary: fc.constant([]), weight: 5 }, { arbitrary: fc.array(unownedRecipeArb, { minLength: 1, maxLength: 2 }), weight: 1 }),
});

export interface ScenarioOptions extends DesiredOptions {
  /** Unowned labelled containers and foreign containers may hold the name of a desired instance. */
  readonly nameConflicts?: boolean;
  /** Every image any spec could use is present locally. */
  readonly allImagesPresent?: boolean;
  /** 'mixed' picks converge or maintain per project; 'converge' leaves the map empty (= converge). */
  readonly modes?: 'converge' | 'mixed';
}

export interface Scenario {
  readonly desired: readonly HostDesired[];
  readonly snapshot: RuntimeSnapshot;
  /** Owner records, as the journal holds them (keyed by token in a Map for the journal view). */
  readonly owners: readonly OwnerRecord[];
  readonly modes: ReadonlyMap<string, PlanMode>;
}

interface SlotPlan {
  readonly key: InstanceKey;
  readonly spec: ServiceSpec;
  readonly recipe: SlotRecipe;
}

interface WorldRecipe {
  readonly slots: readonly SlotRecipe[];
  readonly removedServices: readonly { readonly service: number; readonly instances: number }[];
  readonly orphan: SlotRecipe | undefined;
  readonly foreign: readonly { readonly conflict: boolean; readonly index: number }[];
  readonly images: readonly boolean[];
  readonly modes: readonly PlanMode[];
}

/**
 * Desired documents plus a snapshot and journal consistent with each other: owned containers
 * (matching, old spec, stopped/created, unhealthy, modified, duplicates, scaled down, for removed
 * services, for a project no longer desired), unowned labelled containers (copied labels, unknown
 * token, mismatched labels), foreign containers, images present or not. Ownership is computed
 * with proveOwnership, as the observer does; names are unique across the engine.
 */
export function scenarioArb(options: ScenarioOptions = {}): fc.Arbitrary<Scenario> {
  const projects = options.ambiguousNames ? AMBIGUOUS_PROJECTS : PROJECTS;
  const services = options.ambiguousNames ? AMBIGUOUS_SERVICES : SERVICES;
  return projectRecipesArb(options).chain((recipes) => {
    const docs = recipes.map(desiredOf);
    const slotCount = docs.reduce((sum, doc) => sum + Object.values(doc.services).reduce((n, spec) => n + spec.replicas + 1, 0), 0);
    const world: fc.Arbitrary<WorldRecipe> = fc.record({
      slots: fc.array(slotRecipeArb, { minLength: slotCount, maxLength: slotCount }),
      removedServices: fc.array(fc.record({ service: fc.nat({ max: services.length - 1 }), instances: fc.integer({ min: 1, max: 2 }) }), { maxLength: docs.length }),
      orphan: fc.option(slotRecipeArb, { nil: undefined, freq: 3 }),
      foreign: fc.array(fc.record({ conflict: fc.boolean(), index: fc.nat({ max: 40 }) }), { maxLength: 3 }),
      images: fc.array(fc.boolean(), { minLength: IMAGES.length, maxLength: IMAGES.length }),
      modes: fc.array(fc.constantFrom<PlanMode>('converge', 'maintain'), { minLength: docs.length, maxLength: docs.length }),
    });
    return world.map((recipe) => buildScenario(docs, recipe, options, projects, services));
  });
}

function buildScenario(docs: readonly HostDesired[], world: WorldRecipe, options: ScenarioOptions, projects: readonly string[], services: readonly string[]): Scenario {
  const nameConflicts = options.nameConflicts ?? true;
  const slots: SlotPlan[] = [];
  let next = 0;
  const slotRecipe = (): SlotRecipe => world.slots[next++] ?? EMPTY_SLOT;
  docs.forEach((doc, index) => {
    for (const serviceName of Object.keys(doc.services)) {
      const spec = doc.services[serviceName] as ServiceSpec;
      // One slot beyond replicas: a scaled-down instance when something is there.
      for (let instance = 1; instance <= spec.replicas + 1; instance += 1) slots.push({ key: { project: doc.project, service: serviceName, instance }, spec, recipe: slotRecipe() });
    }
    const removed = world.removedServices[index];
    const removedName = removed === undefined ? undefined : services[removed.service];
    if (removed && removedName !== undefined && doc.services[removedName] === undefined) {
      const spec = serviceOf({ image: removed.service % IMAGES.length, env: 0, replicas: removed.instances, drift: undefined, pullPolicy: 'missing', healthcheck: false, stopTimeout: '1s' });
      for (let instance = 1; instance <= removed.instances; instance += 1) slots.push({ key: { project: doc.project, service: removedName, instance }, spec, recipe: { ...EMPTY_SLOT, primary: RUNNING } });
    }
  });
  const orphanProject = projects.find((project) => !docs.some((doc) => doc.project === project));
  if (world.orphan && orphanProject !== undefined) {
    slots.push({ key: { project: orphanProject, service: services[0] as string, instance: 1 }, spec: serviceOf({ image: 0, env: 0, replicas: 1, drift: undefined, pullPolicy: 'missing', healthcheck: false, stopTimeout: '1s' }), recipe: world.orphan });
  }

  const desiredNames = docs.flatMap((doc) => Object.entries(doc.services).flatMap(([serviceName, spec]) => Array.from({ length: spec.replicas }, (_, i) => containerName(NAME_PREFIX, { project: doc.project, service: serviceName, instance: i + 1 }))));
  const builder = new WorldBuilder();
  for (const slot of slots) builder.addSlot(slot, nameConflicts);
  for (const entry of world.foreign) {
    const name = entry.conflict && nameConflicts && desiredNames.length > 0 ? desiredNames[entry.index % desiredNames.length] : FOREIGN[entry.index % FOREIGN.length];
    if (name !== undefined) builder.addForeign(name);
  }

  const images = IMAGES.filter((_, i) => options.allImagesPresent || world.images[i] === true);
  const modes = new Map<string, PlanMode>();
  if ((options.modes ?? 'mixed') === 'mixed') docs.forEach((doc, i) => modes.set(doc.project, world.modes[i] ?? 'converge'));
  return { desired: docs, modes, ...builder.finish(images) };
}

const EMPTY_SLOT: SlotRecipe = { removedHistory: false, vanished: false, primary: undefined, duplicates: [], pendingNewer: false, unowned: [] };
const RUNNING: ContainerRecipe = { spec: 'current', state: 'running', health: 'none', modified: false, pending: false, createdAt: 0, restartCount: 0 };

/** An observed container before its ownership is proven against the generated journal. */
type PendingContainer = Omit<ObservedContainer, 'ownership'>;

/** Accumulates containers and records; ownership and intent sequence numbers are settled at the end. */
class WorldBuilder {
  readonly #names = new Set<string>();
  readonly #containers: PendingContainer[] = [];
  readonly #foreign: string[] = [];
  /** Records by phase: history, then live containers, then newer pending intents. */
  readonly #records: [Omit<OwnerRecord, 'intentSeq'>[], Omit<OwnerRecord, 'intentSeq'>[], Omit<OwnerRecord, 'intentSeq'>[]] = [[], [], []];
  #ids = 0;
  #tokens = 0;

  addSlot(slot: SlotPlan, nameConflicts: boolean): void {
    const canonical = containerName(NAME_PREFIX, slot.key);
    const { recipe } = slot;
    if (recipe.removedHistory) this.#records[0].push(this.#record(slot, 'current', this.#newId(), true));
    if (recipe.vanished) this.#records[1].push(this.#record(slot, 'current', this.#newId(), false));
    const owned: { container: PendingContainer; record: Omit<OwnerRecord, 'intentSeq'> }[] = [];
    const addOwned = (container: ContainerRecipe, name: string): void => {
      if (this.#names.has(name)) return;
      const id = this.#newId();
      const record = this.#record(slot, container.spec, container.pending ? undefined : id, false, name);
      const made: PendingContainer = {
        id,
        name,
        state: container.state,
        health: container.health,
        createdAt: container.createdAt,
        identity: { ...slot.key, hostId: HOST_ID, specHash: record.specHash, ownerToken: record.ownerToken },
        modifiedFields: container.modified ? ['env'] : [],
        restartCount: container.restartCount,
      };
      this.#names.add(name);
      this.#records[1].push(record);
      this.#containers.push(made);
      owned.push({ container: made, record });
    };
    if (recipe.primary) addOwned(recipe.primary, canonical);
    recipe.duplicates.forEach((duplicate, i) => addOwned(duplicate, `${canonical}-dup${i + 1}`));
    if (recipe.pendingNewer) this.#records[2].push(this.#record(slot, 'current', undefined, false));

    recipe.unowned.forEach((entry, i) => {
      const name = entry.canonicalName && nameConflicts && !this.#names.has(canonical) ? canonical : `${canonical}-copy${i + 1}`;
      if (this.#names.has(name)) return;
      const source = owned[i % Math.max(1, owned.length)];
      const pendingRecord = this.#records[2].find((record) => record.project === slot.key.project && record.service === slot.key.service && record.instance === slot.key.instance);
      const base: LabelledIdentity = { ...slot.key, hostId: HOST_ID, specHash: specHashOf(slot.spec), ownerToken: `unknown-${this.#tokens++}` };
      let identity = base;
      if (entry.kind === 'copied' && source) identity = source.container.identity;
      else if (entry.kind === 'mismatched' && source) identity = { ...source.container.identity, instance: slot.key.instance + 10 };
      else if (entry.kind === 'stale-spec-label' && pendingRecord) identity = { ...base, ownerToken: pendingRecord.ownerToken, specHash: 'stale-spec-hash' };
      this.#names.add(name);
      this.#containers.push({ id: this.#newId(), name, state: entry.state, health: 'none', createdAt: 0, identity, modifiedFields: [], restartCount: undefined });
    });
  }

  addForeign(name: string): void {
    if (this.#names.has(name)) return;
    this.#names.add(name);
    this.#foreign.push(name);
  }

  finish(images: readonly string[]): { snapshot: RuntimeSnapshot; owners: OwnerRecord[] } {
    const owners = this.#records.flat().map((record, index): OwnerRecord => ({ ...record, intentSeq: index + 1 }));
    const byToken = new Map(owners.map((record) => [record.ownerToken, record]));
    const containers: ObservedContainer[] = this.#containers.map((container) => {
      const ownership = proveOwnership(container.id, container.identity, byToken.get(container.identity.ownerToken), verifyTestToken);
      // The observer reads modified fields and restart counts only for owned containers.
      return ownership.owned ? { ...container, ownership } : { ...container, ownership, modifiedFields: [], restartCount: undefined };
    });
    containers.sort((a, b) => compareStrings(a.name, b.name) || compareStrings(a.id, b.id));
    return {
      snapshot: { hostId: HOST_ID, observedAt: OBSERVED_AT, containers, foreignNames: [...this.#foreign].sort(compareStrings), images: [...images].sort(compareStrings), networks: [], volumes: [], foreignNetworks: [], foreignVolumes: [] },
      owners,
    };
  }

  #newId(): string {
    const n = this.#ids++;
    return `${n.toString(16).padStart(12, '0')}${'e'.repeat(52)}`;
  }

  #record(slot: SlotPlan, variant: SpecVariant, containerId: string | undefined, removed: boolean, name?: string): Omit<OwnerRecord, 'intentSeq'> {
    const spec = variantOf(slot.spec, variant);
    const specHash = specHashOf(spec);
    const ownerToken = testToken({ ...slot.key, hostId: HOST_ID, specHash }, `token-${this.#tokens++}`);
    const config = runtimeConfigOf(spec);
    const recordName = containerName(NAME_PREFIX, slot.key);
    const identity: LabelledIdentity = { ...slot.key, hostId: HOST_ID, specHash, ownerToken };
    return {
      ownerToken,
      hostId: HOST_ID,
      ...slot.key,
      name: recordName,
      specHash,
      config,
      containerId,
      createdView: containerId === undefined ? undefined : configView(name ?? recordName, config, identity),
      removed,
    };
  }
}

/** An earlier version of a spec: another image or another environment. */
export function variantOf(spec: ServiceSpec, variant: SpecVariant): ServiceSpec {
  if (variant === 'current') return spec;
  if (variant === 'old-image') {
    const index = IMAGES.indexOf(spec.image as (typeof IMAGES)[number]);
    return { ...spec, image: IMAGES[(index + 1) % IMAGES.length] as string };
  }
  const index = ENVS.findIndex((env) => JSON.stringify(env) === JSON.stringify(spec.env));
  return { ...spec, env: { ...(ENVS[(index + 1) % ENVS.length] as Record<string, string>) } };
}

