import { LABELS } from '../../shared/labels.js';
import { runtimeConfigOf, type RuntimeConfig, type ServiceSpec } from '../../shared/fleet-spec.js';
import type { HostDesired } from '../../shared/host-desired.js';
import { compareStrings } from '../../shared/compare.js';
import type { Action, ActionOf } from '../../shared/actions.js';
import type { JournalView } from '../../agent/core/diff.js';
import { normalizeImageRef } from '../../agent/core/images.js';
import { planCycle, type CyclePlan } from '../../agent/core/cycle-plan.js';
import type { ImageRemoval } from '../../agent/core/image-cleanup.js';
import { proveOwnership } from '../../agent/core/ownership.js';
import type { PlanMode, PullTimes } from '../../agent/core/planner.js';
import { expectedNetworkNames, resourceSpecHash } from '../../agent/core/resources.js';
import type { NetworkSpec } from '../../shared/project-resources.js';
import { specHashOf } from '../../agent/core/spec-hash.js';
import { testToken, verifyTestToken } from './owner-tokens.js';
import {
  containerName,
  instanceKeyString,
  type ContainerConfigView,
  type ContainerState,
  type Health,
  type InstanceKey,
  type LabelledIdentity,
  type ObservedContainer,
  type ObservedResource,
  type OwnerRecord,
  type RuntimeSnapshot,
} from '../../agent/core/snapshot.js';

/** A plan asked the simulated engine for something Docker would refuse (or that a sound plan never asks). */
export class SimulationError extends Error {
  override readonly name = 'SimulationError';
}

/**
 * Test-only, pure simulation of the engine and the journal: applies actions to a snapshot the way
 * Docker would, and records the owner records the reconciler would write. `owners` (keyed by owner
 * token) is updated in place; the snapshot is not mutated.
 *
 * Stricter than the executor: a stop/start/remove of a container that does not exist, a create on
 * a name in use, or a create of an image that is not present throws a SimulationError, because a
 * sound plan never asks for them.
 */
export function applyPlanToSnapshot(snapshot: RuntimeSnapshot, actions: readonly Action[], owners: Map<string, OwnerRecord>, hostId: string, nextId: () => string): RuntimeSnapshot {
  const containers = new Map<string, ObservedContainer>(snapshot.containers.map((container) => [container.id, container]));
  const foreign = new Set(snapshot.foreignNames);
  const images = new Set(snapshot.images);
  const createdInChain = new Map<string, string>();
  const networks = new Map<string, ObservedResource>(snapshot.networks.map((network) => [network.name, network]));
  const volumes = new Map<string, ObservedResource>(snapshot.volumes.map((volume) => [volume.name, volume]));
  const foreignNetworks = new Set(snapshot.foreignNetworks);
  const foreignVolumes = new Set(snapshot.foreignVolumes);
  let createdAt = Math.max(0, ...snapshot.containers.map((container) => container.createdAt));
  let intentSeq = Math.max(0, ...[...owners.values()].map((record) => record.intentSeq));

  const target = (action: ActionOf<'start' | 'rename' | 'unpause' | 'stop' | 'remove'>): ObservedContainer => {
    const id = action.containerId ?? createdInChain.get(action.chain);
    if (id === undefined) throw new SimulationError(`${action.id} ${action.kind} ${action.name}: no container id and none created earlier in chain ${action.chain}`);
    const container = containers.get(id);
    if (!container) throw new SimulationError(`${action.id} ${action.kind} ${action.name}: no such container ${id}`);
    return container;
  };

  for (const action of actions) {
    switch (action.kind) {
      case 'pull-image':
        images.add(action.image);
        break;
      case 'create': {
        const taken = foreign.has(action.name) || [...containers.values()].some((container) => container.name === action.name);
        if (taken) throw new SimulationError(`${action.id} create: the name ${action.name} is already in use`);
        const wanted = normalizeImageRef(action.config.image);
        if (![...images].some((image) => normalizeImageRef(image) === wanted)) throw new SimulationError(`${action.id} create ${action.name}: no such image ${action.config.image}`);
        for (const network of action.attach?.networks ?? []) {
          if (!networks.has(network.name) && !foreignNetworks.has(network.name)) throw new SimulationError(`${action.id} create ${action.name}: no such network ${network.name}`);
        }
        const id = nextId();
        if (containers.has(id)) throw new SimulationError(`nextId() returned ${id} twice`);
        const ownerToken = testToken({ ...action.key, hostId, specHash: action.specHash }, `token-${id}`);
        if (owners.has(ownerToken)) throw new SimulationError(`owner token ${ownerToken} issued twice`);
        intentSeq += 1;
        createdAt += 1;
        const identity: LabelledIdentity = { ...action.key, hostId, specHash: action.specHash, ownerToken };
        const record: OwnerRecord = {
          ownerToken,
          intentSeq,
          hostId,
          project: action.key.project,
          service: action.key.service,
          instance: action.key.instance,
          name: action.name,
          specHash: action.specHash,
          config: action.config,
          containerId: id,
          createdView: configView(action.name, action.config, identity),
          removed: false,
        };
        owners.set(ownerToken, record);
        containers.set(id, {
          id,
          name: action.name,
          state: 'created',
          health: 'none',
          createdAt,
          identity,
          ownership: proveOwnership(id, identity, record, verifyTestToken),
          modifiedFields: [],
          restartCount: 0,
          ...(action.attach && expectedNetworkNames(action.attach) ? { networks: expectedNetworkNames(action.attach) } : {}),
        });
        createdInChain.set(action.chain, id);
        break;
      }
      case 'start': {
        const container = target(action);
        if (container.state === 'paused') throw new SimulationError(`${action.id} start ${action.name}: cannot start a paused container, try unpause instead`);
        if (container.state === 'dead') throw new SimulationError(`${action.id} start ${action.name}: a dead container cannot be started`);
        if (container.state === 'running' || container.state === 'restarting') break;
        const record = owners.get(container.identity.ownerToken);
        // A container that reports a health status has a check even when its spec names none (the
        // image's HEALTHCHECK): Docker starts it over at "starting", never at no check at all.
        const health = record?.config.healthcheck || container.health !== 'none' ? 'starting' : 'none';
        containers.set(container.id, { ...container, state: 'running', health });
        break;
      }
      case 'rename': {
        const container = target(action);
        containers.set(container.id, { ...container, name: action.newName });
        break;
      }
      case 'await-healthy':
      case 'await-dependency':
        break;
      case 'unpause': {
        const container = target(action);
        if (container.state === 'paused') containers.set(container.id, { ...container, state: 'running' });
        break;
      }
      case 'stop': {
        const container = target(action);
        if (container.state === 'dead') throw new SimulationError(`${action.id} stop ${action.name}: a dead container cannot be stopped`);
        containers.set(container.id, { ...container, state: container.state === 'running' || container.state === 'paused' || container.state === 'restarting' ? 'exited' : container.state });
        break;
      }
      case 'remove': {
        const container = target(action);
        containers.delete(container.id);
        markRemoved(owners, container.id);
        break;
      }
      case 'create-network':
      case 'create-volume': {
        const [kind, made, foreignOnes] = action.kind === 'create-network' ? (['network', networks, foreignNetworks] as const) : (['volume', volumes, foreignVolumes] as const);
        if (made.has(action.name) || foreignOnes.has(action.name)) throw new SimulationError(`${action.id} ${action.kind}: the name ${action.name} is already in use`);
        const id = kind === 'network' ? nextId() : action.name;
        // The observer's ownership proof is unit-tested on its own; here a made resource is simply owned.
        made.set(action.name, { id, name: action.name, identity: { kind, hostId, project: action.project, resource: action.resource, specHash: action.specHash, ownerToken: `sim-${id}` }, ownership: { owned: true } });
        break;
      }
      case 'remove-network': {
        const network = networks.get(action.name);
        if (!network || network.id !== action.networkId) throw new SimulationError(`${action.id} remove-network: no such network ${action.name} [${action.networkId}]`);
        const users = [...containers.values()].filter((container) => container.networks?.includes(action.name));
        if (users.length > 0) throw new SimulationError(`${action.id} remove-network ${action.name}: containers still attached (${users.map((c) => c.name).join(', ')})`);
        networks.delete(action.name);
        break;
      }
      case 'remove-volume': {
        if (!volumes.has(action.name)) throw new SimulationError(`${action.id} remove-volume: no such volume ${action.name}`);
        volumes.delete(action.name);
        break;
      }
      case 'remove-image':
        for (const reference of action.references) images.delete(reference);
        break;
      default:
        throw new SimulationError(`unknown action ${JSON.stringify(action satisfies never)}`);
    }
  }

  return {
    hostId: snapshot.hostId,
    observedAt: snapshot.observedAt,
    containers: [...containers.values()].sort((a, b) => compareStrings(a.name, b.name) || compareStrings(a.id, b.id)),
    foreignNames: [...foreign].sort(compareStrings),
    images: [...images].sort(compareStrings),
    networks: [...networks.values()].sort((a, b) => compareStrings(a.name, b.name)),
    volumes: [...volumes.values()].sort((a, b) => compareStrings(a.name, b.name)),
    foreignNetworks: [...foreignNetworks].sort(compareStrings),
    foreignVolumes: [...foreignVolumes].sort(compareStrings),
  };
}

/** The journal as the diff sees it: per instance, the owner record with the highest intent sequence. */
export function journalViewOf(owners: ReadonlyMap<string, OwnerRecord>): JournalView {
  return {
    latestRecordFor(key: InstanceKey): OwnerRecord | undefined {
      const wanted = instanceKeyString(key);
      let latest: OwnerRecord | undefined;
      for (const record of owners.values()) {
        if (instanceKeyString(record) !== wanted) continue;
        if (!latest || latest.intentSeq <= record.intentSeq) latest = record;
      }
      return latest;
    },
    latestResourceRecordFor: () => undefined,
  };
}

/** The configuration Docker would report for a container created from `config`. */
export function configView(name: string, config: RuntimeConfig, identity: LabelledIdentity): ContainerConfigView {
  return {
    name,
    image: config.image,
    command: config.command ?? [],
    env: Object.entries(config.env)
      .map(([key, value]) => `${key}=${value}`)
      .sort(compareStrings),
    labels: {
      ...config.labels,
      [LABELS.project]: identity.project,
      [LABELS.service]: identity.service,
      [LABELS.instance]: String(identity.instance),
      [LABELS.host]: identity.hostId,
      [LABELS.specHash]: identity.specHash,
      [LABELS.ownerToken]: identity.ownerToken,
    },
    ports: [...config.ports].sort(compareStrings),
    mounts: config.volumes.map((entry) => (typeof entry === 'string' ? entry : JSON.stringify(entry))).sort(compareStrings),
    restart: config.restart,
    healthcheck: config.healthcheck?.test ?? [],
  };
}

function markRemoved(owners: Map<string, OwnerRecord>, containerId: string): void {
  for (const [token, record] of owners) {
    if (record.containerId === containerId) owners.set(token, { ...record, removed: true });
  }
}


// --- fixtures for example tests ----------------------------------------------------------------

export const FIXTURE_HOST = 'h1';
export const FIXTURE_PREFIX = 'hw-';

export interface OwnedFixtureOptions {
  readonly id: string;
  readonly name?: string;
  readonly state?: ContainerState;
  readonly health?: Health;
  readonly createdAt?: number;
  readonly modifiedFields?: readonly string[];
  readonly restartCount?: number;
  readonly intentSeq?: number;
  /** The record has no container id yet (the create's result was never recorded). */
  readonly pending?: boolean;
  /** The nonce of the fixture's (real, HMAC) owner token; two fixtures with one nonce share a token. */
  readonly ownerToken?: string;
}

/** An owned container and the journal record that proves it, for a service spec as it was created. */
export function ownedFixture(key: InstanceKey, spec: ServiceSpec, options: OwnedFixtureOptions): { container: ObservedContainer; record: OwnerRecord } {
  const name = options.name ?? containerName(FIXTURE_PREFIX, key);
  const specHash = specHashOf(spec);
  const config = runtimeConfigOf(spec);
  const ownerToken = testToken({ ...key, hostId: FIXTURE_HOST, specHash }, options.ownerToken ?? `token-${options.id}`);
  const identity: LabelledIdentity = { ...key, hostId: FIXTURE_HOST, specHash, ownerToken };
  const record: OwnerRecord = {
    ownerToken,
    intentSeq: options.intentSeq ?? 1,
    hostId: FIXTURE_HOST,
    ...key,
    name: containerName(FIXTURE_PREFIX, key),
    specHash,
    config,
    containerId: options.pending ? undefined : options.id,
    createdView: options.pending ? undefined : configView(name, config, identity),
    removed: false,
  };
  const container: ObservedContainer = {
    id: options.id,
    name,
    state: options.state ?? 'running',
    health: options.health ?? 'none',
    createdAt: options.createdAt ?? 0,
    identity,
    ownership: proveOwnership(options.id, identity, record, verifyTestToken),
    modifiedFields: options.modifiedFields ?? [],
    restartCount: options.restartCount ?? 0,
  };
  return { container, record };
}

/** A labelled container that fails the ownership proof against `owners` (keyed by token). */
export function labelledFixture(id: string, name: string, identity: LabelledIdentity, owners: ReadonlyMap<string, OwnerRecord>, state: ContainerState = 'running'): ObservedContainer {
  return { id, name, state, health: 'none', createdAt: 0, identity, ownership: proveOwnership(id, identity, owners.get(identity.ownerToken), verifyTestToken), modifiedFields: [], restartCount: undefined };
}

/**
 * The example tests' host has the default network of each of their projects already (made by an
 * earlier apply), so that their plans show only what they are about; tests of networks pass `networks`.
 */
export const FIXTURE_NETWORKS: readonly ObservedResource[] = ['alpha', 'beta', 'gamma', 'shop', 'zeta'].map((project) => networkFixture(project, 'default'));

/** An owned network of a project, made from `spec`. */
export function networkFixture(project: string, resource: string, spec: NetworkSpec = {}): ObservedResource {
  const name = `${FIXTURE_PREFIX}${project}_${resource}`;
  return { id: `net-${project}-${resource}`, name, identity: { kind: 'network', hostId: FIXTURE_HOST, project, resource, specHash: resourceSpecHash(spec), ownerToken: `token-net-${project}-${resource}` }, ownership: { owned: true } };
}

export function snapshotOf(
  containers: readonly ObservedContainer[],
  fields: { readonly foreignNames?: readonly string[]; readonly images?: readonly string[]; readonly networks?: readonly ObservedResource[]; readonly volumes?: readonly ObservedResource[]; readonly foreignNetworks?: readonly string[]; readonly foreignVolumes?: readonly string[] } = {},
): RuntimeSnapshot {
  return {
    hostId: FIXTURE_HOST,
    observedAt: '2025-01-01T00:00:00.000Z',
    containers: [...containers].sort((a, b) => compareStrings(a.name, b.name) || compareStrings(a.id, b.id)),
    foreignNames: [...(fields.foreignNames ?? [])].sort(compareStrings),
    networks: [...(fields.networks ?? FIXTURE_NETWORKS)].sort((a, b) => compareStrings(a.name, b.name)),
    volumes: [...(fields.volumes ?? [])].sort((a, b) => compareStrings(a.name, b.name)),
    foreignNetworks: [...(fields.foreignNetworks ?? ['bridge', 'host', 'none'])].sort(compareStrings),
    foreignVolumes: [...(fields.foreignVolumes ?? [])].sort(compareStrings),
    images: [...(fields.images ?? [])].sort(compareStrings),
  };
}

export function ownersOf(records: readonly OwnerRecord[]): Map<string, OwnerRecord> {
  return new Map(records.map((record) => [record.ownerToken, record]));
}

export type PlanRound = CyclePlan;

/** diff, plan, gates and runnable actions for one observation, as the reconciler computes them. */
export function planRound(input: { readonly desired: readonly HostDesired[]; readonly snapshot: RuntimeSnapshot; readonly owners: ReadonlyMap<string, OwnerRecord>; readonly modes?: ReadonlyMap<string, PlanMode>; readonly namePrefix?: string; readonly pulls?: PullTimes; readonly imageRemovals?: readonly ImageRemoval[] }): PlanRound {
  return planCycle({ desired: input.desired, snapshot: input.snapshot, journal: journalViewOf(input.owners), namePrefix: input.namePrefix ?? FIXTURE_PREFIX, modes: input.modes ?? new Map(), ...(input.pulls ? { pulls: input.pulls } : {}), ...(input.imageRemovals ? { imageRemovals: input.imageRemovals } : {}) });
}

/** A deterministic id source for simulated creates: 64 hex characters, unique in the first 12. */
export function idSource(prefix = 'f'): () => string {
  let n = 0;
  return () => `${prefix}${(n++).toString(16).padStart(11, '0')}${'d'.repeat(52)}`;
}
