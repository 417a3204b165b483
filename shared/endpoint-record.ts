import { z } from 'zod';
import { boundedString } from './bounded.js';
import { hostIdSchema, nameSchema } from './fleet-spec.js';
import { openReport, type HostKeys } from './host-report.js';
import { endpointKey } from './subjects.js';

/** One running, healthy instance of a service on the record's host, as other hosts reach it. */
export const endpointInstanceSchema = z.strictObject({
  /** The container's name without the host's name prefix (`shop-api-2`), and its instance number. */
  name: boundedString(128),
  instance: z.number().int().min(1),
  /** Its IPv4 address on each project network it is attached to, by the network's key in the project. */
  addresses: z.record(nameSchema, boundedString(45)).refine((value) => Object.keys(value).length <= 16, 'at most 16 networks'),
  /** The ports it publishes on the host. */
  ports: z.array(z.strictObject({ port: z.number().int().min(1).max(65_535), protocol: z.enum(['tcp', 'udp']) })).max(64),
});
export type EndpointInstance = z.infer<typeof endpointInstanceSchema>;

/**
 * The value of `hw_endpoints` key `<hostId>.<project>.<service>`: what the host runs of the service
 * that others may reach now. An empty `instances` withdraws the host's endpoints of it at once.
 */
export const endpointRecordSchema = z.strictObject({
  hostId: hostIdSchema,
  project: nameSchema,
  service: nameSchema,
  /** The host's address on the fleet's mesh, when it has one (docs/networking.md). */
  meshAddress: boundedString(45).optional(),
  instances: z.array(endpointInstanceSchema).max(256),
  /** How many instances run on the host, healthy or not yet (cross-host depends_on service_started waits for one). */
  running: z.number().int().min(0).max(10_000).optional(),
  /** When the host last re-put the record (ISO; readers time it by their own clock, not this). */
  refreshedAt: boundedString(40),
});
export type EndpointRecord = z.infer<typeof endpointRecordSchema>;

/** The hosts the signed desired state placed a remote service on, with their public keys when the coordinator knew them. */
export type RemotePlacement = Readonly<Record<string, string | undefined>>;

export type EndpointVerdict = { readonly accepted: EndpointRecord } | { readonly refused: string };

/** The host, project and service a key names; undefined for a key that is not one. Pure. */
export function parseEndpointKey(key: string): { hostId: string; project: string; service: string } | undefined {
  const parts = key.split('.');
  if (parts.length !== 3) return undefined;
  const [hostId = '', project = '', service = ''] = parts;
  if (!hostIdSchema.safeParse(hostId).success || !nameSchema.safeParse(project).success || !nameSchema.safeParse(service).success) return undefined;
  return { hostId, project, service };
}

/**
 * Whether a reader may use a record that arrived on `key`: the key names a host the signed desired
 * state placed the service on (`placement`), the record is signed by that host's key (when the
 * placement carries it), and it names the same host, project and service as its key. Pure; never throws.
 */
export function checkEndpointRecord(key: string, bytes: Uint8Array, placement: RemotePlacement | undefined): EndpointVerdict {
  const named = parseEndpointKey(key);
  if (!named) return { refused: `${key} is not an endpoint key (<host>.<project>.<service>)` };
  if (placement === undefined || !Object.hasOwn(placement, named.hostId)) return { refused: `service ${named.service} of project ${named.project} is not placed on host ${named.hostId}` };
  const key0 = placement[named.hostId];
  const hostKeys: HostKeys | undefined = key0 === undefined ? undefined : { keyOf: (hostId) => (hostId === named.hostId ? key0 : undefined) };
  const report = openReport(endpointRecordSchema, bytes, {
    hostId: named.hostId,
    what: `endpoint key ${key}`,
    check: (record) => (endpointKey(record.hostId, record.project, record.service) === key ? undefined : `the record is for ${endpointKey(record.hostId, record.project, record.service)}, but it arrived on key ${key}`),
  }, hostKeys);
  if (report.value === undefined) return { refused: report.trust.verdict === 'refused' ? report.trust.reason : 'refused' };
  return { accepted: report.value };
}
