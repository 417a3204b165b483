import { contentHash } from '../shared/canonical.js';
import { maskServices } from '../shared/secret-env.js';
import { validate } from '../shared/codec.js';
import type { FleetFile, Placement, ServiceSpec } from '../shared/fleet-spec.js';
import { hostDesiredSchema } from '../shared/host-desired.js';
import type { HostDesired } from '../shared/host-desired.js';

export interface HostInfo {
  readonly hostId: string;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * The services of `fleet` that run on `host`, keyed by name in sorted order, without their
 * `placement` (the host runs the rest of the spec as is).
 */
export function placeServices(fleet: FleetFile, host: HostInfo): Record<string, ServiceSpec> {
  return selectServices(fleet, host, false);
}

/** The desired-state document for one host, validated against hostDesiredSchema. */
export function desiredForHost(
  fleet: FleetFile,
  host: HostInfo,
  options: { revision: number; allowEmpty?: boolean; correlationID?: string; ignorePlacement?: boolean },
): HostDesired {
  const document: HostDesired = {
    hostId: host.hostId,
    project: fleet.project,
    revision: options.revision,
    ...(fleet.drift === undefined ? {} : { drift: fleet.drift }),
    services: selectServices(fleet, host, options.ignorePlacement ?? false),
    allowEmpty: options.allowEmpty ?? false,
    ...(options.correlationID === undefined ? {} : { correlationID: options.correlationID }),
  };
  return validate(hostDesiredSchema, document, `desired state of project ${fleet.project} for host ${host.hostId}`);
}

/**
 * Hash of what the host should run: equal content gives an equal hash whatever the revision or
 * correlation id, so an unchanged fleet does not need a new revision.
 */
export function desiredContentHash(document: HostDesired): string {
  // Masked: a saved plan (which holds digests, not secret values) hashes like the document it came from.
  const content: Partial<HostDesired> = maskServices(document);
  delete content.revision;
  delete content.correlationID;
  return contentHash(content);
}

function selectServices(fleet: FleetFile, host: HostInfo, ignorePlacement: boolean): Record<string, ServiceSpec> {
  const placed: Record<string, ServiceSpec> = {};
  // Sorted insertion makes the document's key order, and so its JSON, independent of the file's order.
  for (const name of Object.keys(fleet.services).sort()) {
    const service = fleet.services[name];
    if (service === undefined) continue;
    const { placement, ...spec } = service;
    if (ignorePlacement || runsOn(placement, host)) placed[name] = spec;
  }
  return placed;
}

function runsOn(placement: Placement | undefined, host: HostInfo): boolean {
  if (placement === undefined) return true;
  if ('hosts' in placement) return placement.hosts.includes(host.hostId);
  return Object.entries(placement.selector).every(([label, value]) => Object.hasOwn(host.labels, label) && host.labels[label] === value);
}
