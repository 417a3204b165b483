import { compareStrings } from '../shared/compare.js';
import { InvalidInputError } from '../shared/errors.js';
import { hostIdSchema, type FleetFile } from '../shared/fleet-spec.js';

// A host id is free text in a fleet file and on the command line: a typo must be refused with the
// hosts that do exist, never written for a host no agent will ever read (the service would run nowhere).

/** A host a placement names that no agent has registered as, and the services placed there. */
export interface UnregisteredPlacement {
  readonly hostId: string;
  readonly services: readonly string[];
}

/**
 * Pure: the hosts the fleet file's placements name (`hosts:`, compose's `node.hostname ==`) that are
 * not registered, sorted; hosts that already hold desired state of the project were written on
 * purpose before (`--allow-unregistered`) and are left out.
 */
export function unregisteredPlacements(fleet: FleetFile, registered: ReadonlySet<string>, holdingDesired: ReadonlySet<string> = new Set()): UnregisteredPlacement[] {
  const services = new Map<string, string[]>();
  for (const [name, service] of Object.entries(fleet.services)) {
    if (!service.placement || !('hosts' in service.placement)) continue;
    for (const hostId of service.placement.hosts) {
      if (registered.has(hostId) || holdingDesired.has(hostId)) continue;
      services.set(hostId, [...(services.get(hostId) ?? []), name]);
    }
  }
  return [...services].sort(([a], [b]) => compareStrings(a, b)).map(([hostId, names]) => ({ hostId, services: names.sort(compareStrings) }));
}

/**
 * Refuses a fleet file that places services on hosts never registered, unless each is in `allowed`
 * (--allow-unregistered): the message lists the registered hosts and the closest names. An allowed
 * host the file places nothing on is refused too (it is a typo of the flag's).
 */
export function checkPlacementHosts(fleet: FleetFile, registered: readonly string[], allowed: readonly string[], holdingDesired: ReadonlySet<string> = new Set()): void {
  const known = new Set(registered);
  const named = new Set(Object.values(fleet.services).flatMap((service) => (service.placement && 'hosts' in service.placement ? service.placement.hosts : [])));
  const stray = allowed.filter((hostId) => !named.has(hostId) && !known.has(hostId));
  if (stray.length > 0) throw new InvalidInputError(`--allow-unregistered ${stray.join(', ')}: project ${fleet.project} places no service there (its placements name: ${[...named].sort(compareStrings).join(', ') || 'no host by id'})`);
  const refused = unregisteredPlacements(fleet, known, holdingDesired).filter((host) => !allowed.includes(host.hostId));
  if (refused.length === 0) return;
  const lines = refused.map((host) => `  ${host.hostId} (${host.services.join(', ')})${suggestion(host.hostId, registered)}`);
  throw new InvalidInputError(
    [
      `project ${fleet.project} places services on ${refused.length === 1 ? 'a host that has' : 'hosts that have'} never registered (NOT REGISTERED):`,
      ...lines,
      knownHostsLine(registered),
      `Correct the name, start the host's agent (\`hostwright agent --host-id ${refused[0]?.hostId} …\`) first, or pass --allow-unregistered ${refused.map((host) => host.hostId).join(',')} to write its desired state now for an agent that registers later.`,
    ].join('\n'),
  );
}

/** `--allow-unregistered h8 --allow-unregistered h9,h10`: the host ids, each checked as a host id. */
export function allowedUnregistered(values: readonly string[] | undefined): string[] {
  const hosts = (values ?? []).flatMap((value) => value.split(',')).map((host) => host.trim()).filter((host) => host !== '');
  for (const host of hosts) if (!hostIdSchema.safeParse(host).success) throw new InvalidInputError(`--allow-unregistered ${host}: not a host id (letters, digits, "-" or "_", at most 63)`);
  return hosts;
}

/**
 * Refuses a `--host` filter naming a host the fleet does not know (no registration, status or
 * desired state), listing the known hosts and the closest names: a filter that matches nothing
 * would print an empty answer and exit 0.
 */
export function requireKnownHost(flag: string, hostId: string, known: readonly string[]): void {
  if (known.includes(hostId)) return;
  throw new InvalidInputError(`${flag} ${hostId}: no such host${suggestion(hostId, known)}\n${knownHostsLine(known)}`);
}

function knownHostsLine(known: readonly string[]): string {
  return known.length === 0 ? 'No host has registered yet: start an agent with `hostwright agent --host-id ID --nats URL`.' : `Known hosts: ${[...known].sort(compareStrings).join(', ')} (see \`hostwright hosts\`).`;
}

/** "; did you mean h1?": the known names closest to `name`, when close enough to be a typo of it. */
export function suggestion(name: string, known: readonly string[]): string {
  const closest = closestNames(name, known);
  if (closest.length === 0) return '';
  return `; did you mean ${closest.length === 1 ? closest[0] : `${closest.slice(0, -1).join(', ')} or ${closest.at(-1)}`}?`;
}

/** Up to three known names at the smallest edit distance from `name`, if at most a third of its length (at least 1). */
export function closestNames(name: string, known: readonly string[]): string[] {
  const limit = Math.max(1, Math.floor(name.length / 3));
  const scored = [...new Set(known)].map((candidate) => ({ candidate, distance: editDistance(name.toLowerCase(), candidate.toLowerCase()) })).filter((entry) => entry.distance <= limit);
  const best = Math.min(...scored.map((entry) => entry.distance));
  return scored
    .filter((entry) => entry.distance === best)
    .map((entry) => entry.candidate)
    .sort(compareStrings)
    .slice(0, 3);
}

/** Levenshtein distance: insertions, deletions and substitutions of one character each cost 1. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    previous = current;
  }
  return previous[b.length] as number;
}
