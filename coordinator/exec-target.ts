import { compareStrings } from '../shared/compare.js';
import { InvalidInputError } from '../shared/errors.js';
import type { StatusReport } from '../shared/wire.js';

export interface ExecTargetArg {
  readonly service: string;
  readonly instance?: number;
}

/** `SERVICE` or `SERVICE/N` as `exec` takes it. Pure. */
export function parseExecTarget(text: string): ExecTargetArg {
  const match = /^([^/\s]+)(?:\/(\d+))?$/.exec(text);
  if (!match) throw new InvalidInputError(`exec: ${JSON.stringify(text)} is not SERVICE or SERVICE/N (e.g. api or api/2)`);
  const service = match[1] as string;
  if (match[2] === undefined) return { service };
  const instance = Number(match[2]);
  if (!Number.isSafeInteger(instance) || instance < 1) throw new InvalidInputError(`exec: instance ${match[2]} of ${service}: expected a number from 1`);
  return { service, instance };
}

/**
 * The host to exec on when --host is not given: the one whose status lists an instance of the
 * service (of the project, and the instance number, when given). Several: the user picks. Pure.
 */
export function execHostOf(statuses: readonly StatusReport[], target: ExecTargetArg, project: string | undefined): string {
  const hosts = statuses
    .filter((report) => report.status.projects.some((entry) => (project === undefined || entry.project === project) && entry.instances.some((instance) => instance.service === target.service && (target.instance === undefined || instance.instance === target.instance))))
    .map((report) => report.hostId)
    .sort(compareStrings);
  const what = `service ${target.service}${target.instance === undefined ? '' : `/${target.instance}`}${project === undefined ? '' : ` of project ${project}`}`;
  if (hosts.length === 0) throw new InvalidInputError(`exec: no host's status lists ${what} (see \`hostwright ps\`); pass --host to ask a host anyway`);
  if (hosts.length > 1) throw new InvalidInputError(`exec: ${what} runs on ${hosts.join(', ')}: pass --host`);
  return hosts[0] as string;
}
