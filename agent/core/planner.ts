import type { HostDesired } from '../../shared/host-desired.js';
import { requestedOrder, startFirstRefusal, type UpdateOrder } from '../../shared/update-order.js';
import { parseDurationMs } from '../../shared/duration.js';
import { contentHash } from '../../shared/canonical.js';
import { compareStrings } from '../../shared/compare.js';
import { hasHealthcheck, type RuntimeConfig } from '../../shared/fleet-spec.js';
import type { Action, ActionDraft, Attachments, Phase } from '../../shared/actions.js';
import type { NetworkSpec, VolumeSpec } from '../../shared/project-resources.js';
import type { HostDiff } from './diff.js';
import { resolveDriftPolicy, type DriftKind } from './drift-policy.js';
import { normalizeImageRef } from './images.js';
import { repullDue } from './pull-policy.js';
import type { ImageRemoval } from './image-cleanup.js';
import { instanceKeyString, type InstanceKey, type ObservedContainer, type RuntimeSnapshot } from './snapshot.js';
import { orderByDependencies } from './start-order.js';
import { meshNetworkSpec } from '../mesh/mesh-networks.js';

/**
 * converge: bring everything to the desired state (explicit apply, or a revision not yet applied).
 * maintain: the revision is applied; repair only the drift kinds whose policy is "repair".
 */
export type PlanMode = 'converge' | 'maintain';

export interface DriftFinding {
  readonly kind: DriftKind;
  readonly key: InstanceKey;
  readonly containerId: string | undefined;
  readonly action: 'repair' | 'report';
  readonly message: string;
}

export interface ProjectRevision {
  readonly project: string;
  readonly revision: number;
  readonly mode: PlanMode;
}

/** The ordered, deterministic plan for one host. */
export interface ActionPlan {
  readonly hostId: string;
  readonly observedAt: string;
  /** Changes when anything the plan was computed from changes (stale-plan detection). */
  readonly observationFingerprint: string;
  readonly projects: readonly ProjectRevision[];
  readonly actions: readonly Action[];
  readonly drift: readonly DriftFinding[];
  /** Volumes of a project no service on this host uses: kept (they hold data) unless the desired state permits pruning. */
  readonly unusedVolumes: readonly UnusedVolume[];
}

export interface UnusedVolume {
  readonly project: string;
  readonly volume: string;
  readonly name: string;
}

export interface PlanInput {
  readonly diff: HostDiff;
  readonly desired: readonly HostDesired[];
  readonly snapshot: RuntimeSnapshot;
  /** Per project; a project missing here is planned in converge mode. */
  readonly modes: ReadonlyMap<string, PlanMode>;
  /** For pull policies that pull a present image again; none re-pulls when omitted. */
  readonly pulls?: PullTimes;
  /** Images cleanup removes (agent/core/image-cleanup.ts), last of all; none when omitted. */
  readonly imageRemovals?: readonly ImageRemoval[];
  /** This host's block of the fleet's mesh, when it takes part in one: new project networks get a subnet of it. */
  readonly meshBlock?: string;
}

/** When each image was last pulled (by normalized reference, from the journal), and the time now. */
export interface PullTimes {
  readonly lastPulledAt: ReadonlyMap<string, string>;
  readonly now: string;
  /** Pulled earlier in this very cycle: not again. */
  readonly pulledThisCycle?: ReadonlySet<string>;
}

type Draft = ActionDraft;

/** Refused starts of one container after which it is replaced rather than started again. */
export const REPLACE_AFTER_REFUSED_STARTS = 2;

/** Pure: the same diff, desired state, snapshot and mode give the same plan, byte for byte. */
export function planHost(input: PlanInput): ActionPlan {
  const desiredByProject = new Map(input.desired.map((desired) => [desired.project, desired]));
  const modeOf = (project: string): PlanMode => input.modes.get(project) ?? 'converge';
  const setup: Draft[] = [];
  const cleanup: Draft[] = [];
  let instances: Draft[] = [];
  const teardown: Draft[] = [];
  const drift: DriftFinding[] = [];
  const unusedVolumes: UnusedVolume[] = [];
  // Subnets taken on the engine, and by the networks this plan creates before the next one.
  const usedSubnets = [...(input.snapshot.engineSubnets ?? [])];

  for (const projectDiff of input.diff.projects) {
    const desired = desiredByProject.get(projectDiff.project);
    if (!desired) continue;
    const before = instances.length;
    const restarts = new Map<string, ObservedRestart[]>();
    for (const entry of projectDiff.resources) {
      const project = projectDiff.project;
      if (entry.kind === 'create') {
        const { wanted } = entry;
        const base = { phase: 'setup' as const, chain: `${wanted.kind}:${wanted.name}`, project, resource: wanted.resource, name: wanted.name, specHash: wanted.specHash, reason: entry.cause === 'missing' ? `${wanted.kind} is missing` : `new ${wanted.kind}` };
        if (wanted.kind === 'network') {
          const placed = input.meshBlock === undefined ? undefined : meshNetworkSpec(wanted.spec as NetworkSpec, input.meshBlock, usedSubnets);
          if (placed === undefined) setup.push({ ...base, kind: 'create-network', spec: wanted.spec as NetworkSpec });
          else if (placed === 'full') setup.push({ ...base, kind: 'create-network', spec: wanted.spec as NetworkSpec, reason: `${base.reason}; the mesh block ${input.meshBlock} is full, so the engine picks its subnet and other hosts cannot reach it` });
          else {
            usedSubnets.push(placed.subnet);
            setup.push({ ...base, kind: 'create-network', spec: placed.spec, reason: `${base.reason} (subnet ${placed.subnet} of the mesh block)` });
          }
        } else setup.push({ ...base, kind: 'create-volume', spec: wanted.spec as VolumeSpec });
      } else if (entry.kind === 'unused') {
        const { observed } = entry;
        const base = { phase: 'teardown' as const, chain: `${observed.identity.kind}:${observed.name}`, project, resource: observed.identity.resource, name: observed.name };
        // A network holds nothing: it goes with the last service that used it. A volume holds data: only on request.
        if (observed.identity.kind === 'network' && (observed.foreignUsers?.length ?? 0) > 0) continue;
        if (observed.identity.kind === 'network') teardown.push({ ...base, kind: 'remove-network', networkId: observed.id, reason: 'no service on this host uses it' });
        else if (desired.pruneVolumes === true) teardown.push({ ...base, kind: 'remove-volume', reason: 'no service on this host uses it (--prune-volumes)' });
        else unusedVolumes.push({ project, volume: observed.identity.resource, name: observed.name });
      }
    }
    for (const entry of projectDiff.entries) {
      const service = entry.kind === 'unowned' ? undefined : desired.services[entry.key.service];
      const policy = resolveDriftPolicy(desired.drift, service?.drift);
      const repairs = (kind: DriftKind): boolean => modeOf(projectDiff.project) === 'converge' || (kind !== 'unhealthy' && policy[kind as Exclude<DriftKind, 'unhealthy'>] === 'repair');
      switch (entry.kind) {
        case 'create': {
          if (entry.cause === 'missing') {
            drift.push(finding('missing', entry.key, undefined, repairs('missing'), `${entry.name} is missing`));
            if (!repairs('missing')) break;
          }
          instances.push(...createChain(entry.key, entry.name, entry.specHash, entry.config, entry.attach, entry.cause === 'missing' ? 'recreate missing container' : 'new instance'));
          break;
        }
        case 'replace': {
          const reason = `spec changed (${entry.changedFields.join(', ')})`;
          instances.push(...replaceChain(entry.container, entry.key, entry.name, entry.specHash, entry.config, entry.attach, reason, orderOf(desired, entry.key.service)));
          break;
        }
        case 'modified': {
          const fields = entry.container.modifiedFields.length > 0 ? entry.container.modifiedFields.join(', ') : 'name';
          const repair = repairs('modified');
          drift.push(finding('modified', entry.key, entry.container.id, repair, `${entry.container.name} was modified outside Hostwright (${fields})`));
          if (!repair) break;
          if (entry.container.modifiedFields.every((field) => field === 'name') && entry.container.state !== 'dead') {
            // Only the name moved (by hand, or a start-first that did not finish): give it its name back.
            const base = { phase: 'instances' as const, chain: instanceKeyString(entry.key), key: entry.key, containerId: entry.container.id };
            instances.push({ ...base, kind: 'rename', name: entry.container.name, newName: entry.name, reason: 'restore the instance\'s name' });
            if (entry.container.state === 'paused') instances.push({ ...base, kind: 'unpause', name: entry.name, reason: 'container is paused' });
            else if (entry.container.state !== 'running' && entry.container.state !== 'restarting') instances.push({ ...base, kind: 'start', name: entry.name, repair: true, reason: `container is ${entry.container.state}` });
            break;
          }
          instances.push(...replaceChain(entry.container, entry.key, entry.name, entry.specHash, entry.config, entry.attach, `modified outside Hostwright (${fields})`, orderOf(desired, entry.key.service)));
          break;
        }
        case 'stopped': {
          // Created but never started while its revision is still converging: the apply's own create
          // and start were interrupted, which is not drift. Once the revision is applied (or rejected),
          // a container left created (an engine restart, a refused start) is stopped drift like any other.
          const interrupted = entry.neverStarted && modeOf(entry.key.project) === 'converge';
          const repair = interrupted || repairs('stopped');
          if (!interrupted) drift.push(finding('stopped', entry.key, entry.container.id, repair, `${entry.container.name} is ${entry.container.state}`));
          if (!repair) break;
          const chain = instanceKeyString(entry.key);
          const base = { phase: 'instances' as const, chain, key: entry.key, name: entry.container.name, containerId: entry.container.id };
          const replacement =
            // Docker cannot start a dead container again.
            entry.container.state === 'dead'
              ? { removeReason: 'container is dead', createReason: 'replace dead container' }
              : // An engine restarted abruptly can keep refusing one container ("endpoint ... already
                // exists", "task ... already exists"): a new container of the same spec starts cleanly.
                entry.refusedStarts && entry.refusedStarts.count >= REPLACE_AFTER_REFUSED_STARTS
                ? { removeReason: `the engine refused to start it ${entry.refusedStarts.count} times in a row (last: ${entry.refusedStarts.lastError})`, createReason: 'replace a container the engine would not start' }
                : undefined;
          if (entry.container.state === 'paused') {
            instances.push({ ...base, kind: 'unpause', reason: 'container is paused' });
          } else if (replacement) {
            instances.push(...removeChain(entry.container, entry.key, 'instances', replacement.removeReason, false, stopSeconds(entry.config)));
            instances.push(...createChain(entry.key, entry.name, entry.specHash, entry.config, entry.attach, replacement.createReason));
          } else {
            instances.push({ ...base, kind: 'start', repair: !interrupted, reason: interrupted ? 'created but not started' : `container is ${entry.container.state}` });
          }
          break;
        }
        case 'unhealthy':
          drift.push(finding('unhealthy', entry.key, entry.container.id, false, `${entry.container.name} is unhealthy`));
          break;
        case 'remove': {
          const reason = entry.cause === 'duplicate' ? 'duplicate of the same instance' : entry.cause === 'scaled-down' ? 'instance beyond replicas' : 'service removed from desired state';
          const spec = desired.services[entry.key.service];
          cleanup.push(...removeChain(entry.container, entry.key, 'cleanup', reason, true, spec ? stopSeconds(spec) : 10));
          break;
        }
        case 'restart':
          restarts.set(entry.key.service, [...(restarts.get(entry.key.service) ?? []), entry]);
          break;
        case 'name-conflict':
        case 'unowned':
        case 'in-sync':
          break;
        default:
          assertNever(entry);
      }
    }
    // depends_on: this project's chains in start order, with their waits and restarts.
    if (Object.values(desired.services).some((service) => service.depends_on !== undefined)) {
      const healthTimeout = (service: string): number => healthTimeoutSeconds({ healthcheck: desired.services[service]?.healthcheck });
      instances = [...instances.slice(0, before), ...orderByDependencies({ drafts: instances.slice(before), desired, diff: projectDiff, healthTimeoutSeconds: healthTimeout })];
    }
    // A container made now counts as restarted for its service's generation: a restart never follows a create.
    instances = [...instances.slice(0, before), ...instances.slice(before).map((draft) => (draft.kind === 'create' && desired.restarts?.[draft.key.service] !== undefined ? { ...draft, restartGeneration: desired.restarts[draft.key.service] } : draft))];
    for (const service of [...restarts.keys()].sort(compareStrings)) instances.push(...restartChain(restarts.get(service) as ObservedRestart[], desired.services[service]));
  }

  const present = new Set(input.snapshot.images.map(normalizeImageRef));
  const reasons = new Map<string, string>();
  const projectsOf = new Map<string, Set<string>>();
  const needs = (image: string, project: string) => projectsOf.set(image, (projectsOf.get(image) ?? new Set<string>()).add(project));
  for (const draft of instances) {
    if (draft.kind !== 'create') continue;
    needs(draft.config.image, draft.key.project);
    if (!present.has(normalizeImageRef(draft.config.image))) reasons.set(draft.config.image, 'image not present locally');
  }
  // Policies that pull a present image again do so when a project converges (an apply, a new revision).
  const pullTimes = input.pulls;
  if (pullTimes) {
    for (const desired of input.desired) {
      if (modeOf(desired.project) !== 'converge') continue;
      for (const service of Object.values(desired.services)) {
        const image = service.image;
        if (service.replicas === 0 || reasons.has(image) || !present.has(normalizeImageRef(image)) || pullTimes.pulledThisCycle?.has(normalizeImageRef(image))) continue;
        const last = pullTimes.lastPulledAt.get(normalizeImageRef(image));
        if (!repullDue(service.pull_policy, image, last, pullTimes.now)) continue;
        needs(image, desired.project);
        reasons.set(image, `pull_policy: ${service.pull_policy}${service.pull_policy === 'always' ? '' : last === undefined ? ' (no pull recorded)' : ` (last pulled ${last})`}`);
      }
    }
  }
  const pulls = [...reasons.keys()].sort(compareStrings).map((image): Draft => ({ kind: 'pull-image', phase: 'images', chain: `image:${image}`, image, projects: [...(projectsOf.get(image) ?? [])].sort(compareStrings), reason: reasons.get(image) as string }));

  // Last: once the containers a plan replaces are gone, nothing of this plan needs the image.
  for (const removal of input.imageRemovals ?? []) {
    teardown.push({ kind: 'remove-image', phase: 'teardown', chain: `image-remove:${removal.imageId}`, name: removal.references[0] as string, imageId: removal.imageId, references: [...removal.references], reason: `pulled by Hostwright; no revision has named it since ${removal.unreferencedSince}` });
  }
  const actions = [...pulls, ...setup, ...cleanup, ...instances, ...teardown].map((draft, index) => ({ ...draft, id: `a${index + 1}` }) as Action);
  return {
    hostId: input.snapshot.hostId,
    observedAt: input.snapshot.observedAt,
    observationFingerprint: observationFingerprint(input.snapshot, claimedNames(input.diff)),
    projects: input.diff.projects.map((project) => ({ project: project.project, revision: project.revision, mode: modeOf(project.project) })),
    actions,
    drift,
    unusedVolumes,
  };
}

function createChain(key: InstanceKey, name: string, specHash: string, config: RuntimeConfig, attach: Attachments, reason: string): Draft[] {
  const chain = instanceKeyString(key);
  return [
    { kind: 'create', phase: 'instances', chain, key, name, specHash, config, attach, reason },
    { kind: 'start', phase: 'instances', chain, key, name, containerId: undefined, repair: false, reason },
  ];
}

type ObservedRestart = Extract<HostDiff['projects'][number]['entries'][number], { kind: 'restart' }>;

/**
 * `hostwright restart`: the service's instances on this host one at a time, in instance order, in one
 * chain: each stopped and started in place (the container and its spec stay) and waited for until
 * healthy (or running) before the next. A failure ends the chain: the instances after it keep running.
 */
function restartChain(entries: readonly ObservedRestart[], spec: RuntimeConfig | undefined): Draft[] {
  const ordered = [...entries].sort((a, b) => a.key.instance - b.key.instance);
  const first = ordered[0];
  if (first === undefined) return [];
  const chain = `restart:${first.key.project}/${first.key.service}`;
  const timeout = spec ? stopSeconds(spec) : 10;
  return ordered.flatMap((entry): Draft[] => {
    const reason = `restart requested (generation ${entry.generation})`;
    const base = { phase: 'instances' as const, chain, key: entry.key, name: entry.container.name, reason };
    const stop: Draft[] = entry.container.state === 'running' || entry.container.state === 'restarting' ? [{ ...base, kind: 'stop', containerId: entry.container.id, timeoutSeconds: timeout }] : [];
    return [
      ...stop,
      { ...base, kind: 'start', containerId: entry.container.id, repair: false, restartGeneration: entry.generation },
      { ...base, kind: 'await-healthy', timeoutSeconds: healthTimeoutSeconds({ healthcheck: spec?.healthcheck }), reason: `${reason}: healthy before the next instance restarts` },
    ];
  });
}

function orderOf(desired: HostDesired, service: string): UpdateOrder {
  return requestedOrder(desired, service);
}

/**
 * stop-first: stop, remove, create, start. start-first (when no fixed host port forbids two
 * instances at once): move the old one aside, create and start the new one, wait until it is
 * healthy, then stop and remove the old one — at no moment is the instance without a running copy.
 */
function replaceChain(container: ObservedContainer, key: InstanceKey, name: string, specHash: string, config: RuntimeConfig, attach: Attachments, reason: string, order: UpdateOrder): Draft[] {
  const refusal = order === 'start-first' ? startFirstRefusal(key.service, config.ports) : undefined;
  if (order === 'stop-first' || refusal || container.state !== 'running') {
    // Asked for start-first but bound to stop-first: the plan says so where it shows the replacement.
    const why = refusal ? `${reason}; ${refusal.message}` : reason;
    return [...removeChain(container, key, 'instances', why, false, stopSeconds(config)), ...createChain(key, name, specHash, config, attach, why)];
  }
  const chain = instanceKeyString(key);
  const asideName = `${name}-old`;
  const aside: Draft[] = container.name === asideName ? [] : [{ kind: 'rename', phase: 'instances', chain, key, name: container.name, containerId: container.id, newName: asideName, reason: `${reason}; start-first` }];
  const old = { ...container, name: asideName };
  return [
    ...aside,
    ...createChain(key, name, specHash, config, attach, `${reason}; start-first`),
    { kind: 'await-healthy', phase: 'instances', chain, key, name, timeoutSeconds: healthTimeoutSeconds(config), reason: 'start-first: the new instance must be healthy before the old one stops' },
    ...removeChain(old, key, 'instances', `${reason}; replaced by a healthy successor`, false, stopSeconds(config)),
  ];
}

/** Long enough for the health check to pass: start period plus (retries + 1) intervals, at least 10 s. */
function healthTimeoutSeconds(config: Pick<RuntimeConfig, 'healthcheck'>): number {
  const check = config.healthcheck;
  if (!check || !hasHealthcheck(check)) return 10;
  const intervalMs = parseDurationMs(check.interval ?? '30s');
  const timeoutMs = parseDurationMs(check.timeout ?? '30s');
  const total = parseDurationMs(check.start_period ?? '0s') + ((check.retries ?? 3) + 1) * (intervalMs + timeoutMs);
  return Math.max(10, Math.min(600, Math.ceil(total / 1000)));
}

function removeChain(container: ObservedContainer, key: InstanceKey, phase: Phase, reason: string, cleanup: boolean, timeoutSeconds: number): Draft[] {
  const chain = phase === 'cleanup' ? `container:${container.id}` : instanceKeyString(key);
  const base = { phase, chain, key, name: container.name, containerId: container.id, reason };
  const stop: Draft[] = container.state === 'running' || container.state === 'restarting' || container.state === 'paused' ? [{ ...base, kind: 'stop', timeoutSeconds }] : [];
  return [...stop, { ...base, kind: 'remove', cleanup }];
}

function stopSeconds(config: Pick<RuntimeConfig, 'stop_timeout'>): number {
  return Math.ceil(parseDurationMs(config.stop_timeout) / 1000);
}

function finding(kind: DriftKind, key: InstanceKey, containerId: string | undefined, repair: boolean, message: string): DriftFinding {
  return { kind, key, containerId, action: repair ? 'repair' : 'report', message };
}

/**
 * Identity and state of every labelled container, network and volume; health is left out so a
 * flapping check does not stale a plan. Of the engine's other objects only those whose names the
 * desired state claims count (`claimed`; all when omitted): another agent's churn on a shared
 * engine does not stale this host's plan.
 */
export function observationFingerprint(snapshot: RuntimeSnapshot, claimed?: ReadonlySet<string>): string {
  const counts = (name: string) => claimed === undefined || claimed.has(name);
  return contentHash({
    containers: sortedOnce(snapshot.containers.map((container) => `${container.name}\u0000${container.id}:${container.state}:${container.identity.specHash}:${container.ownership.owned}`)),
    foreign: snapshot.foreignNames.filter(counts).sort(),
    resources: [...snapshot.networks, ...snapshot.volumes].map((resource) => `${resource.identity.kind}:${resource.name}:${resource.id}:${resource.identity.specHash}:${resource.ownership.owned}`),
    foreignResources: [...snapshot.foreignNetworks.filter(counts), '\u0000', ...snapshot.foreignVolumes.filter(counts)],
  });
}

/** Every engine name the desired state wants for itself: its instances' (and their start-first stand-ins'), networks' and volumes'. */
function claimedNames(diff: HostDiff): Set<string> {
  const names = new Set<string>();
  for (const project of diff.projects) {
    for (const entry of project.entries) {
      if (!('name' in entry)) continue;
      names.add(entry.name);
      names.add(`${entry.name}-old`);
    }
    for (const entry of project.resources) if (entry.kind !== 'unused') names.add(entry.wanted.name);
  }
  return names;
}

/** The observer already lists containers by name and id: check in one pass before paying for a sort. */
function sortedOnce(items: string[]): string[] {
  for (let i = 1; i < items.length; i += 1) if ((items[i - 1] as string) > (items[i] as string)) return items.sort();
  return items;
}

export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}

