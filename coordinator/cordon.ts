import { compareStrings } from '../shared/compare.js';
import { InvalidInputError } from '../shared/errors.js';
import type { FleetFile } from '../shared/fleet-spec.js';
import type { HostDesired } from '../shared/host-desired.js';
import { placeServices, type HostInfo } from './placement.js';

// A cordoned host gets no new placements: what it already runs of a project stays (and is updated),
// a selector's new match is skipped and said so, and a placement naming the host is refused.

/** A cordon as placement reads it. */
export interface Cordon {
  readonly reason?: string | undefined;
  /** The host is drained: it keeps only these services of a project, as `project/service` (what the drain left). */
  readonly drain?: { readonly keep: ReadonlySet<string> };
}

/** Services of a project a selector would have placed on a cordoned host, left out there. */
export interface CordonSkip {
  readonly hostId: string;
  readonly reason: string | undefined;
  readonly services: readonly string[];
}

/**
 * Pure: the services of `fleet` that `host` (cordoned) would newly run, given what it was told
 * before (`previous`); these are left out. A service whose placement names the host by id is
 * refused, naming the cordon and its reason.
 */
export function cordonedServices(fleet: FleetFile, host: HostInfo, previous: HostDesired | undefined, cordon: Cordon): string[] {
  const running = new Set(Object.keys(previous?.services ?? {}));
  const fresh = Object.keys(placeServices(fleet, host)).filter((name) => !running.has(name)).sort(compareStrings);
  const named = fresh.filter((name) => {
    const placement = fleet.services[name]?.placement;
    return placement !== undefined && 'hosts' in placement;
  });
  if (named.length > 0) {
    throw new InvalidInputError(
      `project ${fleet.project} places ${named.join(', ')} on host ${host.hostId} by name, but ${host.hostId} is cordoned${cordon.reason ? ` (${cordon.reason})` : ''}: a cordoned host gets no new placements. Place ${named.length === 1 ? 'it' : 'them'} elsewhere, or run \`hostwright hosts uncordon ${host.hostId}\` first.`,
    );
  }
  return fresh;
}

/**
 * Pure: the services of `fleet` a drained host is not given: every one placement puts there but
 * those the drain left running (it is ineligible for existing placements too, not only new ones).
 */
export function drainedServices(fleet: FleetFile, host: HostInfo, drain: NonNullable<Cordon['drain']>): string[] {
  return Object.keys(placeServices(fleet, host)).filter((name) => !drain.keep.has(`${fleet.project}/${name}`)).sort(compareStrings);
}

/** Pure: every cordoned host's skipped services of the project, sorted by host; hosts with none left out. */
export function cordonSkips(fleet: FleetFile, hosts: readonly HostInfo[], previous: ReadonlyMap<string, { readonly document: HostDesired }>, cordons: ReadonlyMap<string, Cordon>): CordonSkip[] {
  return hosts
    .filter((host) => cordons.has(host.hostId))
    .map((host) => ({ hostId: host.hostId, reason: cordons.get(host.hostId)?.reason, services: skippedServices(fleet, host, previous.get(host.hostId)?.document, cordons.get(host.hostId) as Cordon) }))
    .filter((skip) => skip.services.length > 0)
    .sort((a, b) => compareStrings(a.hostId, b.hostId));
}

/** Pure: what a cordoned host is not given of the project: a drained host everything the drain did not leave, else the new placements. */
export function skippedServices(fleet: FleetFile, host: HostInfo, previous: HostDesired | undefined, cordon: Cordon): string[] {
  return cordon.drain ? drainedServices(fleet, host, cordon.drain) : cordonedServices(fleet, host, previous, cordon);
}
