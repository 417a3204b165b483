import { z } from 'zod';
import { boundedArray, boundedRecord, boundedString } from './bounded.js';
import { compareStrings } from './compare.js';
import { MAX_SERVICES } from './limits.js';

// compose's `depends_on`: the order in which a host starts a project's services, and what it waits for.
// It changes order, not the container: it is not part of the runtime config or the spec hash.

export const dependencyConditionSchema = z.enum(['service_started', 'service_healthy', 'service_completed_successfully']);
export type DependencyCondition = z.infer<typeof dependencyConditionSchema>;

const dependencySchema = z.strictObject({
  /** What the dependency must reach before the dependent starts (default service_started). */
  condition: dependencyConditionSchema.optional(),
  /** Restart the dependent after the dependency is replaced or restarted (default false). */
  restart: z.boolean().optional(),
  /** false: a dependency with no instance on the host is skipped instead of blocking (default true). */
  required: z.boolean().optional(),
});

const emptyAsObject = (value: unknown): unknown => (value === null ? {} : value);
const serviceRefSchema = boundedString(63).min(1);

/** A list of service names, or a mapping of them to { condition, restart, required } (null: all defaults). */
export const dependsOnSchema = z.union([boundedArray(serviceRefSchema, MAX_SERVICES), boundedRecord(serviceRefSchema, z.preprocess(emptyAsObject, dependencySchema), MAX_SERVICES, 'dependencies')]);
export type DependsOn = z.infer<typeof dependsOnSchema>;

/** One dependency with compose's defaults filled in. */
export interface Dependency {
  readonly service: string;
  readonly condition: DependencyCondition;
  readonly restart: boolean;
  readonly required: boolean;
}

/** The dependencies of a service, in the order written (the list form's defaults filled in). */
export function dependenciesOf(dependsOn: DependsOn | undefined): Dependency[] {
  if (dependsOn === undefined) return [];
  if (Array.isArray(dependsOn)) return dependsOn.map((service) => ({ service, condition: 'service_started', restart: false, required: true }));
  return Object.entries(dependsOn).map(([service, dependency]) => ({ service, condition: dependency.condition ?? 'service_started', restart: dependency.restart ?? false, required: dependency.required ?? true }));
}

interface DependentService {
  readonly depends_on?: DependsOn | undefined;
  readonly healthcheck?: { readonly disable?: boolean | undefined } | undefined;
}

/**
 * The depends_on entries of a project that do not hold, each with its path: a service depending on
 * itself, on an unknown service (`unknown: 'refused'`, a fleet file; a host's document leaves out
 * the services placed elsewhere), twice on one, on a disabled health check, and every cycle.
 */
export function dependsOnIssues(services: Readonly<Record<string, DependentService>>, unknown: 'refused' | 'allowed'): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  // Most projects have no depends_on: no sort or graph for them (desired state is validated on every read).
  if (!Object.values(services).some((service) => service.depends_on !== undefined)) return issues;
  for (const name of Object.keys(services).sort(compareStrings)) {
    const dependsOn = services[name]?.depends_on;
    const seen = new Set<string>();
    for (const [index, dependency] of dependenciesOf(dependsOn).entries()) {
      const at = Array.isArray(dependsOn) ? index : dependency.service;
      const path = ['services', name, 'depends_on', at];
      const target = Object.hasOwn(services, dependency.service) ? services[dependency.service] : undefined;
      if (seen.has(dependency.service)) issues.push({ path, message: `${dependency.service} is listed twice` });
      seen.add(dependency.service);
      if (dependency.service === name) issues.push({ path, message: 'a service cannot depend on itself' });
      else if (target === undefined && unknown === 'refused') issues.push({ path, message: `no service ${dependency.service} in this project` });
      else if (target?.healthcheck?.disable === true && dependency.condition === 'service_healthy') issues.push({ path: Array.isArray(dependsOn) ? path : [...path, 'condition'], message: `${dependency.service} has its health check disabled, so it can never be healthy` });
    }
  }
  for (const cycle of dependencyCycles(services)) {
    issues.push({ path: ['services', cycle[0] as string, 'depends_on'], message: `depends_on forms a cycle: ${[...cycle, cycle[0]].join(' -> ')}` });
  }
  return issues;
}

/**
 * The services in start order (Kahn's algorithm, ties by name): each after every dependency it has
 * among `services`, with its rank (0 without dependencies, else one more than its highest
 * dependency's). `blocked`: the services in a cycle or depending on one, left out of the order.
 */
export function startOrder(services: Readonly<Record<string, { readonly depends_on?: DependsOn | undefined }>>): { ranks: Map<string, number>; blocked: string[] } {
  const names = Object.keys(services).sort(compareStrings);
  const waitingOn = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const name of names) {
    const dependencies = new Set(dependenciesOf(services[name]?.depends_on).map((dependency) => dependency.service).filter((service) => Object.hasOwn(services, service)));
    waitingOn.set(name, dependencies.size);
    for (const dependency of dependencies) dependents.set(dependency, [...(dependents.get(dependency) ?? []), name]);
  }
  const ranks = new Map<string, number>();
  const ready = names.filter((name) => waitingOn.get(name) === 0);
  for (const name of ready) ranks.set(name, 0);
  // Iterative (a chain of thousands of services must not exhaust the stack).
  for (let next = 0; next < ready.length; next += 1) {
    const name = ready[next] as string;
    for (const dependent of dependents.get(name) ?? []) {
      ranks.set(dependent, Math.max(ranks.get(dependent) ?? 0, (ranks.get(name) as number) + 1));
      const left = (waitingOn.get(dependent) as number) - 1;
      waitingOn.set(dependent, left);
      if (left === 0) ready.push(dependent);
    }
  }
  const blocked = names.filter((name) => (waitingOn.get(name) as number) > 0);
  for (const name of blocked) ranks.delete(name);
  return { ranks, blocked };
}

/** Start ranks of the services (see startOrder); services caught in a cycle go last, so the order stays total. */
export function startRanks(services: Readonly<Record<string, { readonly depends_on?: DependsOn | undefined }>>): Map<string, number> {
  const { ranks, blocked } = startOrder(services);
  const last = Math.max(0, ...ranks.values()) + 1;
  for (const name of blocked) ranks.set(name, last);
  return ranks;
}

/** Every cycle of depends_on among the given services, once each, starting at its smallest name. */
export function dependencyCycles(services: Readonly<Record<string, DependentService>>): string[][] {
  const { blocked } = startOrder(services);
  const inCycleOrAfter = new Set(blocked);
  const walked = new Set<string>();
  const cycles: string[][] = [];
  // From each blocked service, follow a blocked dependency until a service repeats: a cycle, found once.
  for (const first of blocked) {
    if (walked.has(first)) continue;
    const path: string[] = [];
    const onPath = new Map<string, number>();
    let current: string | undefined = first;
    while (current !== undefined && !walked.has(current)) {
      walked.add(current);
      onPath.set(current, path.length);
      path.push(current);
      current = dependenciesOf(services[current]?.depends_on)
        .map((dependency) => dependency.service)
        .filter((service) => inCycleOrAfter.has(service) && service !== path[path.length - 1])
        .sort(compareStrings)[0];
      if (current !== undefined && onPath.has(current)) {
        const cycle = path.slice(onPath.get(current));
        const start = cycle.indexOf([...cycle].sort(compareStrings)[0] as string);
        cycles.push([...cycle.slice(start), ...cycle.slice(0, start)]);
        break;
      }
    }
  }
  return cycles.sort((a, b) => compareStrings(a[0] as string, b[0] as string));
}
