import { projectOfAction, type Action } from '../../shared/actions.js';
import { compareStrings } from '../../shared/compare.js';

/**
 * Pure: the projects each action of a plan acts for. An action belongs to its project; an image
 * pull to the projects it names (every project on the host that uses the image), else to every project
 * whose create in the same plan needs it, so that its failure fails those projects and no other.
 */
export function actionProjects(actions: readonly Action[]): (action: Action) => readonly string[] {
  const users = new Map<string, Set<string>>();
  for (const action of actions) {
    if (action.kind !== 'create') continue;
    const projects = users.get(action.config.image) ?? new Set<string>();
    projects.add(action.key.project);
    users.set(action.config.image, projects);
  }
  const sorted = new Map([...users].map(([image, projects]) => [image, [...projects].sort(compareStrings)]));
  return (action) => {
    if (action.kind === 'pull-image') return action.projects ?? sorted.get(action.image) ?? [];
    const project = projectOfAction(action);
    return project === undefined ? [] : [project];
  };
}
