import { maskEnv } from '../shared/secret-env.js';
import { maskFileSecret } from '../shared/file-secrets.js';
import { describeAction } from '../shared/actions.js';
import type { DiffEntry, ResourceEntry } from './core/diff.js';
import type { UnusedVolume } from './core/planner.js';
import type { PlanReport, DiffEntryReport, ResourceReport } from '../shared/plan-report.js';
import type { CycleReport } from './cycle.js';

/** A cycle's plan as `plan --json` prints it and an agent answers a dry-run request (schema hostwright.plan/v1). */
export function planReport(report: CycleReport): PlanReport {
  const runnable = new Set(report.runnable.map((action) => action.id));
  return {
    schema: 'hostwright.plan/v1',
    hostId: report.plan.hostId,
    observedAt: report.plan.observedAt,
    observationFingerprint: report.plan.observationFingerprint,
    projects: [...report.plan.projects],
    changes: report.plan.actions.length > 0,
    diff: report.diff.projects.flatMap((project) => project.entries.filter((entry) => entry.kind !== 'in-sync').map(diffEntryReport)),
    resources: report.diff.projects.flatMap((project) => project.resources.flatMap((entry) => resourceReport(project.project, entry, report.plan.unusedVolumes))),
    // Secret env values never leave the agent in a plan: only their digests.
    actions: report.plan.actions.map((action) => ({ ...(action.kind === 'create' ? { ...action, config: { ...action.config, env: maskEnv(action.config.env), ...(action.config.secrets === undefined ? {} : { secrets: action.config.secrets.map(maskFileSecret) }) } } : action), description: describeAction(action), blocked: !runnable.has(action.id) })),
    blocked: [...report.blocks],
    drift: report.plan.drift.map((finding) => ({ kind: finding.kind, ...finding.key, action: finding.action, message: finding.message })),
  };
}

function diffEntryReport(entry: DiffEntry): DiffEntryReport {
  const key = entry.kind === 'unowned' ? entry.container.identity : entry.key;
  const container = 'container' in entry ? entry.container : undefined;
  const name = 'name' in entry ? entry.name : (container?.name ?? '');
  const changes = entry.kind === 'replace' ? entry.changes : entry.kind === 'modified' ? (entry.container.modifications ?? []) : undefined;
  return { kind: entry.kind, project: key.project, service: key.service, instance: key.instance, name, containerId: container?.id ?? null, detail: diffDetail(entry), ...(changes === undefined ? {} : { changes: [...changes] }) };
}

function diffDetail(entry: DiffEntry): string {
  switch (entry.kind) {
    case 'create':
      return entry.cause === 'missing' ? 'missing (drift): will be recreated' : 'new instance';
    case 'replace':
      return `spec changed: ${entry.changedFields.join(', ')} (forces replacement)`;
    case 'modified':
      return `modified outside Hostwright: ${entry.container.modifiedFields.join(', ') || 'name'}`;
    case 'stopped':
      return entry.neverStarted ? 'created but never started' : `container is ${entry.container.state}`;
    case 'unhealthy':
      return 'unhealthy (reported, not restarted)';
    case 'remove':
      return entry.cause === 'duplicate' ? 'duplicate of the same instance' : entry.cause === 'scaled-down' ? 'beyond replicas' : 'service removed';
    case 'name-conflict':
      return `name taken by ${entry.holder}`;
    case 'unowned':
      return `not owned: ${entry.reason} (never touched)`;
    case 'in-sync':
      return 'in sync';
    case 'restart':
      return `restart requested (generation ${entry.generation}): stopped and started in place, one instance of the service at a time`;
  }
}

function resourceReport(project: string, entry: ResourceEntry, unusedVolumes: readonly UnusedVolume[]): ResourceReport[] {
  if (entry.kind === 'in-sync') return [];
  if (entry.kind === 'unused') {
    const { identity, name } = entry.observed;
    const kept = identity.kind === 'volume' && unusedVolumes.some((volume) => volume.project === project && volume.name === name);
    const users = entry.observed.foreignUsers ?? [];
    if (identity.kind === 'network' && users.length > 0) return [{ kind: 'kept', resourceKind: 'network', project, resource: identity.resource, name, detail: `no service uses it: kept while containers Hostwright does not own are attached (${users.join(', ')})` }];
    const detail = identity.kind === 'network' ? 'no service uses it: removed after its containers' : kept ? 'no service uses it: kept with its data (apply --prune-volumes removes it)' : 'no service uses it: removed (--prune-volumes)';
    return [{ kind: kept ? 'kept' : 'unused', resourceKind: identity.kind, project, resource: identity.resource, name, detail }];
  }
  const { wanted } = entry;
  const detail =
    entry.kind === 'create'
      ? entry.cause === 'missing'
        ? `missing (drift): will be created again`
        : `new ${wanted.kind}`
      : entry.kind === 'changed'
        ? wanted.kind === 'network'
          ? 'made from another definition: Docker cannot change a network in place (blocked)'
          : 'made from another definition: kept as it is, with its data (Docker cannot change a volume in place)'
        : entry.kind === 'name-conflict'
          ? `name taken by ${entry.holder}`
          : `external ${wanted.kind}: does not exist on this host`;
  return [{ kind: entry.kind, resourceKind: wanted.kind, project, resource: wanted.resource, name: wanted.name, detail }];
}
