import type { HostDesired } from '../../shared/host-desired.js';
import type { GateBlock } from '../../shared/host-status.js';
import { projectOfAction, type Action } from '../../shared/actions.js';
import { compareStrings } from '../../shared/compare.js';
import { dependenciesOf } from '../../shared/depends-on.js';
import { namedVolumeOf } from '../../shared/volume-mounts.js';
import type { HostDiff } from './diff.js';
import { normalizeImageRef } from './images.js';
import type { ActionPlan } from './planner.js';
import type { RuntimeSnapshot } from './snapshot.js';
import { portConflicts } from './port-gates.js';
import { foreignHolderText } from './holders.js';
import { STRICT_HOST_POLICY, networkRefusals, policyRefusals, volumeRefusals, type HostPolicy } from './host-policy.js';
import { networkKeysOf } from './resources.js';
import { remoteHosts } from './start-order.js';

export type { GateBlock };

export interface GateInput {
  readonly plan: ActionPlan;
  readonly diff: HostDiff;
  readonly desired: readonly HostDesired[];
  readonly snapshot: RuntimeSnapshot;
  /** What this host lets a service ask for (its agent's own configuration); strict when omitted. */
  readonly policy?: HostPolicy;
}

/** Pure: every gate that blocks a project, in project then gate order. */
export function evaluateGates(input: GateInput): GateBlock[] {
  const blocks: GateBlock[] = [];
  const ownedIds = new Set(input.snapshot.containers.filter((c) => c.ownership.owned).map((c) => c.id));
  const present = new Set(input.snapshot.images.map(normalizeImageRef));
  const foreignHolders = new Map<string, string>(input.snapshot.foreignNames.map((name) => [name, foreignHolderText(name, input.snapshot.foreignOwners?.[name])]));
  for (const container of input.snapshot.containers) {
    if (!container.ownership.owned) foreignHolders.set(container.name, `container ${container.id.slice(0, 12)} (not owned by Hostwright)`);
  }
  const createsByName = new Map<string, number>();
  for (const action of input.plan.actions) if (action.kind === 'create') createsByName.set(action.name, (createsByName.get(action.name) ?? 0) + 1);
  // Grouped once by project: each project's gates look only at its own actions, entries and containers.
  const actionsByProject = new Map<string, Action[]>();
  for (const action of input.plan.actions) {
    const project = projectOfAction(action);
    if (project === undefined) continue;
    const group = actionsByProject.get(project);
    if (group) group.push(action);
    else actionsByProject.set(project, [action]);
  }
  const diffByProject = new Map(input.diff.projects.map((projectDiff) => [projectDiff.project, projectDiff]));
  const runningByProject = new Map<string, number>();
  for (const c of input.snapshot.containers) {
    if (c.ownership.owned && c.state === 'running') runningByProject.set(c.identity.project, (runningByProject.get(c.identity.project) ?? 0) + 1);
  }

  const policy = input.policy ?? STRICT_HOST_POLICY;
  for (const desired of input.desired) {
    const project = desired.project;
    const actions = actionsByProject.get(project) ?? [];

    // Everything that reaches the host beyond an ordinary container only where this host allows it.
    const mountedVolumes = new Set<string>();
    const joinedNetworks = new Set<string>();
    for (const [name, service] of Object.entries(desired.services)) {
      if (service.replicas === 0) continue;
      for (const message of policyRefusals(name, service, policy)) blocks.push({ project, gate: 'host-policy', message });
      for (const volume of service.volumes.flatMap((entry) => namedVolumeOf(entry) ?? [])) mountedVolumes.add(volume);
      for (const key of networkKeysOf(service)) joinedNetworks.add(key);
    }
    for (const [key, network] of Object.entries(desired.networks ?? {})) {
      if (!joinedNetworks.has(key)) continue;
      for (const message of networkRefusals(key, network, policy)) blocks.push({ project, gate: 'host-policy', message });
    }
    for (const [key, volume] of Object.entries(desired.volumes ?? {})) {
      if (!mountedVolumes.has(key)) continue;
      for (const message of volumeRefusals(key, volume, policy)) blocks.push({ project, gate: 'host-policy', message });
    }

    // Never touch a container without ownership proof, whatever its name or labels say.
    for (const action of actions) {
      if ((action.kind === 'stop' || action.kind === 'remove' || action.kind === 'unpause' || action.kind === 'rename' || (action.kind === 'start' && action.containerId !== undefined)) && !ownedIds.has(action.containerId as string)) {
        blocks.push({ project, gate: 'unowned-target', message: `${action.kind} of ${action.name} targets container ${String(action.containerId).slice(0, 12)}, which Hostwright does not own` });
      }
    }

    const projectDiff = diffByProject.get(project);
    for (const entry of projectDiff?.resources ?? []) {
      if (entry.kind === 'name-conflict') blocks.push({ project, gate: 'name-conflict', message: `${entry.wanted.kind} ${entry.wanted.name} is taken by ${entry.holder}; rename or remove it by hand` });
      if (entry.kind === 'external-missing') blocks.push({ project, gate: 'external-missing', message: `external ${entry.wanted.kind} ${entry.wanted.name} does not exist on this host; create it (docker ${entry.wanted.kind} create ${entry.wanted.name}) or drop external: true` });
      if (entry.kind === 'changed' && entry.wanted.kind === 'network') {
        blocks.push({ project, gate: 'resource-changed', message: `network ${entry.wanted.name} was created from another definition, and Docker cannot change a network in place; remove the services from it (or the project) and apply again, or give the network another key` });
      }
    }
    for (const [name, service] of Object.entries(desired.services)) {
      const target = service.network_mode?.startsWith('service:') ? service.network_mode.slice('service:'.length) : undefined;
      if (service.replicas > 0 && target !== undefined && (desired.services[target]?.replicas ?? 0) === 0) {
        blocks.push({ project, gate: 'service-not-here', message: `${name} shares the network stack of ${target} (network_mode: service:${target}), which has no instance on this host; place both on the same hosts` });
      }
    }
    // depends_on: a required dependency must have an instance here, or be placed on other hosts
    // (waited for through the endpoint registry), where only started and healthy can be seen.
    for (const [name, service] of Object.entries(desired.services)) {
      if (service.replicas === 0) continue;
      for (const dependency of dependenciesOf(service.depends_on)) {
        if (!dependency.required || (desired.services[dependency.service]?.replicas ?? 0) > 0) continue;
        const elsewhere = remoteHosts(desired, dependency.service);
        if (elsewhere.length > 0 && dependency.condition !== 'service_completed_successfully') continue;
        if (elsewhere.length > 0) {
          blocks.push({ project, gate: 'service-not-here', message: `${name} depends on ${dependency.service} (depends_on) with service_completed_successfully, but ${dependency.service} runs on ${elsewhere.join(', ')}: a completion can be waited for on one host only; place both on the same hosts, or use service_started or service_healthy` });
          continue;
        }
        blocks.push({ project, gate: 'service-not-here', message: `${name} depends on ${dependency.service} (depends_on), which is placed on no host (none here, none elsewhere); place it, or set required: false` });
      }
    }
    for (const entry of projectDiff?.entries ?? []) {
      if (entry.kind === 'name-conflict') blocks.push({ project, gate: 'name-conflict', message: `${entry.name} is taken by ${entry.holder}; rename or remove it by hand` });
    }
    // Every create, also one that replaces a container kept under another name, needs its name free.
    for (const action of actions) {
      if (action.kind === 'rename') {
        const holder = foreignHolders.get(action.newName);
        if (holder !== undefined) blocks.push({ project, gate: 'name-conflict', message: `${action.newName} (to move ${action.name} aside) is taken by ${holder}; rename or remove it by hand` });
      }
      if (action.kind !== 'create') continue;
      const holder = foreignHolders.get(action.name) ?? (createsByName.get(action.name)! > 1 ? 'another create of this plan (rename a project or service)' : undefined);
      if (holder !== undefined) blocks.push({ project, gate: 'name-conflict', message: `${action.name} is taken by ${holder}; rename or remove it by hand` });
    }

    const running = runningByProject.get(project) ?? 0;
    const desiredInstances = Object.values(desired.services).reduce((sum, service) => sum + service.replicas, 0);
    if (running > 0 && desiredInstances === 0 && !desired.allowEmpty) {
      blocks.push({ project, gate: 'empty-project', message: `the plan removes all ${running} running instance(s) of project ${project}; pass --allow-empty to permit it` });
    }

    for (const action of actions) {
      if (action.kind !== 'create' || present.has(normalizeImageRef(action.config.image))) continue;
      const service = desired.services[action.key.service];
      if (service?.pull_policy === 'never') {
        blocks.push({ project, gate: 'image-unavailable', message: `image ${action.config.image} for ${action.name} is not present locally and pull_policy is "never"` });
      }
    }
  }
  blocks.push(...portConflicts(input.desired, input.plan.actions, input.snapshot.foreignPorts ?? []));
  return dedupe(blocks).sort((a, b) => compareStrings(a.project, b.project));
}

/**
 * The actions allowed to run: none from a blocked project nor from a held one (its revision
 * rejected, or backing off after a failure), and only the image pulls a remaining create needs.
 */
export function runnableActions(plan: ActionPlan, blocks: readonly GateBlock[], held: ReadonlySet<string> = new Set()): Action[] {
  const blocked = new Set([...blocks.map((block) => block.project), ...held]);
  const kept = plan.actions.filter((action) => action.kind === 'pull-image' || !blocked.has(projectOfAction(action) as string));
  const neededImages = new Set(kept.flatMap((action) => (action.kind === 'create' ? [action.config.image] : [])));
  // A re-pull (pull_policy always, daily, …) has no create behind it: it runs for a project not blocked.
  return kept.filter((action) => action.kind !== 'pull-image' || neededImages.has(action.image) || (action.projects ?? []).some((project) => !blocked.has(project)));
}

function dedupe(blocks: GateBlock[]): GateBlock[] {
  const seen = new Set<string>();
  return blocks.filter((block) => {
    const key = `${block.project}\u0000${block.gate}\u0000${block.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
