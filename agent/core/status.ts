import { projectOfAction } from '../../shared/actions.js';
import type { EventDraft } from '../../shared/events.js';
import type { HostDiff } from './diff.js';
import type { GateBlock, HostStatus, InstanceStatus, ProjectStatus, UnownedContainer } from '../../shared/host-status.js';
import type { DriftKind } from './drift-policy.js';
import type { ActionPlan } from './planner.js';
import { containerName, instanceKeyString } from './snapshot.js';
import type { InstanceCondition } from '../../shared/instance-condition.js';

export interface StatusInput {
  readonly diff: HostDiff;
  /** A plan in converge mode over the same diff: what would still change. */
  readonly plan: ActionPlan;
  readonly blocks: readonly GateBlock[];
  readonly appliedRevisions: ReadonlyMap<string, number>;
  readonly namePrefix: string;
  /** Crash loops and failed one-shots by container id (agent/core/instance-condition.ts); none when omitted. */
  readonly conditions?: ReadonlyMap<string, InstanceCondition>;
}

/** Pure: per-instance state, health and drift from one diff and its converge plan. */
export function hostStatus(input: StatusInput): HostStatus {
  // Grouped once (not filtered again per project): findings by instance, actions and blocks by project.
  const driftByKey = new Map<string, DriftKind[]>();
  for (const finding of input.plan.drift) {
    const key = instanceKeyString(finding.key);
    const kinds = driftByKey.get(key);
    if (kinds) kinds.push(finding.kind);
    else driftByKey.set(key, [finding.kind]);
  }
  const pendingByProject = new Map<string, number>();
  for (const action of input.plan.actions) {
    const project = projectOfAction(action);
    if (project !== undefined) pendingByProject.set(project, (pendingByProject.get(project) ?? 0) + 1);
  }
  const blocksByProject = new Map<string, GateBlock[]>();
  for (const block of input.blocks) {
    const group = blocksByProject.get(block.project);
    if (group) group.push(block);
    else blocksByProject.set(block.project, [block]);
  }
  const projects = input.diff.projects.map((projectDiff): ProjectStatus => {
    const instances: InstanceStatus[] = [];
    const unowned: UnownedContainer[] = [];
    for (const entry of projectDiff.entries) {
      if (entry.kind === 'unowned') {
        unowned.push({ project: projectDiff.project, containerId: entry.container.id, name: entry.container.name, reason: entry.reason });
        continue;
      }
      if (entry.kind === 'remove') continue;
      const container = 'container' in entry ? entry.container : undefined;
      const condition = container === undefined ? undefined : input.conditions?.get(container.id);
      instances.push({
        ...entry.key,
        name: container?.name ?? containerName(input.namePrefix, entry.key),
        containerId: container?.id,
        state: container?.state ?? 'missing',
        health: container?.health ?? 'none',
        specHash: container?.identity.specHash,
        restartCount: container?.restartCount,
        ...(container?.startedAt === undefined ? {} : { startedAt: container.startedAt }),
        ...(container?.image ? { imageId: container.image.id, ...(container.image.digest === undefined ? {} : { imageDigest: container.image.digest }) } : {}),
        drift: driftByKey.get(instanceKeyString(entry.key)) ?? [],
        ...(condition ? { condition } : {}),
      });
    }
    const pendingActions = pendingByProject.get(projectDiff.project) ?? 0;
    const blocked = blocksByProject.get(projectDiff.project) ?? [];
    return {
      project: projectDiff.project,
      desiredRevision: projectDiff.revision,
      appliedRevision: input.appliedRevisions.get(projectDiff.project),
      // An instance the runtime keeps restarting (or that failed) is not converged, whatever the drift policy does about it.
      converged: pendingActions === 0 && blocked.length === 0 && instances.every((instance) => instance.condition === undefined),
      pendingActions,
      instances,
      unowned,
      blocked,
    };
  });
  return { hostId: input.diff.hostId, observedAt: input.plan.observedAt, projects };
}

/** Pure: the events that the change from one status to the next deserves (health, drift, restarts, ownership). */
export function statusTransitionEvents(previous: HostStatus | undefined, current: HostStatus): EventDraft[] {
  const before = new Map<string, InstanceStatus>();
  const unownedBefore = new Set<string>();
  const blocksBeforeByProject = new Map<string, ReadonlySet<string>>();
  for (const project of previous?.projects ?? []) {
    if (!blocksBeforeByProject.has(project.project)) blocksBeforeByProject.set(project.project, new Set(project.blocked.map((block) => block.message)));
    for (const instance of project.instances) before.set(instanceKeyString(instance), instance);
    for (const container of project.unowned) unownedBefore.add(container.containerId);
  }
  const events: EventDraft[] = [];
  for (const project of current.projects) {
    for (const instance of project.instances) {
      const prior = before.get(instanceKeyString(instance));
      const where = { project: instance.project, service: instance.service, instance: instance.instance };
      const runtimeRef = instance.containerId;
      const sameContainer = prior !== undefined && prior.containerId === instance.containerId && instance.containerId !== undefined;
      if (sameContainer && prior.health !== instance.health) {
        events.push({ type: 'health_changed', severity: instance.health === 'unhealthy' ? 'warning' : 'info', ...where, runtimeRef, message: `${instance.name} health ${prior.health} -> ${instance.health}` });
      }
      if (sameContainer && prior.restartCount !== undefined && instance.restartCount !== undefined && instance.restartCount > prior.restartCount) {
        const exit = instance.condition?.exitCode === undefined ? '' : `, last exit code ${instance.condition.exitCode}${instance.condition.oomKilled ? ', OOMKilled' : ''}`;
        events.push({ type: 'restarted', severity: 'warning', ...where, runtimeRef, message: `${instance.name} was restarted by the runtime (restart count ${instance.restartCount}${exit})` });
      }
      if (instance.condition && !(sameContainer && prior.condition?.kind === instance.condition.kind)) {
        events.push({ type: 'failed', severity: 'error', ...where, runtimeRef, message: conditionMessage(instance.name, instance.condition) });
      }
      for (const kind of instance.drift) {
        if (prior?.drift.includes(kind)) continue;
        events.push({ type: 'drift_detected', severity: 'warning', ...where, runtimeRef, message: `${instance.name}: ${kind}` });
      }
    }
    const blocksBefore = blocksBeforeByProject.get(project.project) ?? new Set<string>();
    for (const block of project.blocked) {
      if (!blocksBefore.has(block.message)) events.push({ type: 'failed', severity: 'error', project: project.project, message: `plan blocked by the ${block.gate} gate: ${block.message}` });
    }
    for (const container of project.unowned) {
      if (unownedBefore.has(container.containerId)) continue;
      events.push({ type: 'drift_detected', severity: 'warning', project: project.project, runtimeRef: container.containerId, message: `${container.name} carries Hostwright labels but is not owned (${container.reason}); it will not be touched` });
    }
  }
  return events;
}

/** A condition's event message: what it is, its exit code, OOMKilled and restart count, then its last lines (already bounded and masked). */
function conditionMessage(name: string, condition: InstanceCondition): string {
  const facts = [...(condition.exitCode === undefined ? [] : [`exit code ${condition.exitCode}`]), ...(condition.oomKilled ? ['OOMKilled'] : []), `restart count ${condition.restartCount}`];
  const head = `${name} ${condition.kind === 'crashloop' ? 'is crash-looping' : 'failed'} (${facts.join(', ')})`;
  return condition.lastLines.length === 0 ? `${head}; no output` : `${head}; last output:\n${condition.lastLines.join('\n')}`;
}
