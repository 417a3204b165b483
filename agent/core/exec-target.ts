import { compareStrings } from '../../shared/compare.js';
import type { ObservedContainer } from './snapshot.js';

export interface ExecTargetQuery {
  readonly project?: string | undefined;
  readonly service: string;
  readonly instance?: number | undefined;
}

/**
 * The container an exec runs in: a running container of the service that this agent owns (proved
 * against its journal, as for any change), the instance asked for or the lowest-numbered running
 * one. A string says why there is none. Pure.
 */
export function execTarget(containers: readonly ObservedContainer[], query: ExecTargetQuery): ObservedContainer | string {
  const named = containers.filter((container) => container.identity.service === query.service && (query.project === undefined || container.identity.project === query.project));
  const what = `service ${query.service}${query.project === undefined ? '' : ` of project ${query.project}`}`;
  if (named.length === 0) return `no container of ${what} on this host`;
  const owned = named.filter((container) => container.ownership.owned);
  if (owned.length === 0) {
    const first = named[0] as ObservedContainer;
    return `container ${first.name} is not this agent's (${first.ownership.owned ? '' : first.ownership.reason}); exec runs only in containers the agent owns`;
  }
  const projects = [...new Set(owned.map((container) => container.identity.project))].sort(compareStrings);
  if (projects.length > 1) return `${what} is in projects ${projects.join(', ')} on this host: pass --project`;
  const instances = query.instance === undefined ? owned : owned.filter((container) => container.identity.instance === query.instance);
  if (instances.length === 0) return `${what} has no instance ${query.instance} on this host (it has ${owned.map((container) => container.identity.instance).sort((a, b) => a - b).join(', ')})`;
  const running = instances.filter((container) => container.state === 'running').sort((a, b) => a.identity.instance - b.identity.instance);
  const chosen = running[0];
  if (!chosen) return `container ${(instances[0] as ObservedContainer).name} is ${(instances[0] as ObservedContainer).state}, not running`;
  return chosen;
}
