import { HOST_PROJECT, type EventDraft } from '../../shared/events.js';
import { isImageAction, isResourceAction, type Action } from '../../shared/actions.js';
import { compareStrings } from '../../shared/compare.js';
import { actionProjects } from './action-projects.js';
import type { ActionPlan } from './planner.js';

/** The event a finished action deserves: cleanups are `cleaned`, drift repairs of a stopped container `restarted`. */
export function actionResultEvent(action: Action, result: { ok: boolean; message: string; containerId: string | undefined }): EventDraft {
  const where = isImageAction(action) ? { project: HOST_PROJECT } : isResourceAction(action) ? { project: action.project } : { project: action.key.project, service: action.key.service, instance: action.key.instance };
  const runtimeRef = result.containerId;
  if (!result.ok) return { type: 'failed', severity: 'error', ...where, runtimeRef, message: `${action.id} ${action.kind} failed: ${result.message}` };
  const type = (action.kind === 'remove' && action.cleanup) || action.kind === 'remove-image' ? 'cleaned' : (action.kind === 'start' && (action.repair || action.restartGeneration !== undefined)) || action.kind === 'unpause' ? 'restarted' : 'applied';
  return { type, severity: 'info', ...where, runtimeRef, message: `${result.message} (${action.reason})` };
}

/** One `planned` event per project with runnable actions, counting them by kind (a pull under each project that needs its image). */
export function plannedEvents(plan: ActionPlan, runnable: readonly Action[]): EventDraft[] {
  const byProject = new Map<string, Map<string, number>>();
  const projectsOf = actionProjects(runnable);
  for (const action of runnable) {
    for (const project of projectsOf(action)) {
      const counts = byProject.get(project) ?? new Map<string, number>();
      counts.set(action.kind, (counts.get(action.kind) ?? 0) + 1);
      byProject.set(project, counts);
    }
  }
  const revisions = new Map<string, ActionPlan['projects'][number]>();
  for (const entry of plan.projects) if (!revisions.has(entry.project)) revisions.set(entry.project, entry);
  return [...byProject.entries()]
    .sort(([a], [b]) => compareStrings(a, b))
    .map(([project, counts]) => {
      const revision = revisions.get(project);
      const summary = [...counts.entries()].sort(([a], [b]) => compareStrings(a, b)).map(([kind, count]) => `${count} ${kind}`).join(', ');
      return { type: 'planned' as const, severity: 'info' as const, project, message: `revision ${revision?.revision ?? '?'} (${revision?.mode ?? 'converge'}): ${summary}` };
    });
}
