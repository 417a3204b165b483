import { z } from 'zod';
import { boundedRecord, boundedString } from './bounded.js';
import { driftPolicySchema, hostIdSchema, nameSchema, serviceSpecSchema } from './fleet-spec.js';
import { networksSchema, resourceReferenceIssues, volumesSchema } from './project-resources.js';
import { dependsOnIssues } from './depends-on.js';
import { desiredAuthorSchema } from './desired-author.js';
import { MAX_CORRELATION_ID_LENGTH, MAX_INSTANCES_PER_HOST, MAX_SERVICES } from './limits.js';

/** How many other hosts one remote service of a desired document may name. */
export const MAX_REMOTE_HOSTS = 20_000;

/** A host a remote service is placed on: its nkeys public key, which signs its endpoint records. */
export const remoteHostSchema = z.strictObject({ key: z.string().regex(/^U[A-Z2-7]{55}$/, 'expected an nkey user public key').optional() });

/** Desired state of one project on one host: what the agent reconciles toward. */
export const hostDesiredSchema = z
  .strictObject({
    hostId: hostIdSchema,
    project: nameSchema,
    /** Increases with every change of content; the agent reports which revision it applied. */
    revision: z.number().int().min(1),
    drift: driftPolicySchema.optional(),
    services: boundedRecord(nameSchema, serviceSpecSchema, MAX_SERVICES, 'services'),
    /** The project's declared networks and volumes its services on this host use (absent: none declared). */
    networks: networksSchema.optional(),
    volumes: volumesSchema.optional(),
    /**
     * The project's services placed on other hosts, each with those hosts and their public keys (when
     * the coordinator knew them): which hosts' endpoint records this host may use (docs/networking.md).
     */
    remotes: boundedRecord(nameSchema, boundedRecord(hostIdSchema, remoteHostSchema, MAX_REMOTE_HOSTS, 'hosts of a remote service'), MAX_SERVICES, 'remote services').optional(),
    /** Permits the removal of the project's volumes no service on this host uses (apply --prune-volumes). */
    pruneVolumes: z.boolean().optional(),
    /** Permits a plan that leaves the project with no running instance. */
    allowEmpty: z.boolean().default(false),
    /**
     * Per service, its restart generation (`hostwright restart`): an instance restarted for a lower one
     * (or never) is stopped and started in place, one at a time; not part of the spec, so never a replacement.
     */
    restarts: z.record(nameSchema, z.number().int().min(1)).optional(),
    /** How instances are replaced (a rollout's --order); absent: each service's update_order. */
    updateOrder: z.enum(['stop-first', 'start-first']).optional(),
    /** The desired-state schema the document needs (shared/desired-schema.ts); absent: 1. */
    schemaVersion: z.number().int().min(1).optional(),
    /** The first agent release that reads that schema, for the refusal of an older agent. */
    minAgentVersion: boundedString(32).optional(),
    /** When the coordinator signed it (ISO 8601; schema 3): the agent's replay window (shared/replay-window.ts). */
    signedAt: boundedString(40).optional(),
    /** Correlates the agent's cycle with the request that wrote this document. */
    correlationID: boundedString(MAX_CORRELATION_ID_LENGTH).optional(),
    /** Who wrote it (schema 5): signing key, NATS user, name (shared/desired-author.ts). */
    author: desiredAuthorSchema.optional(),
  })
  .superRefine((document, ctx) => {
    // The diff makes one entry per instance: the sum of replicas bounds an agent's work, not the service count.
    const instances = instanceCount(document.services);
    if (instances > MAX_INSTANCES_PER_HOST) ctx.addIssue({ code: 'custom', path: ['services'], message: `at most ${MAX_INSTANCES_PER_HOST} instances of a project on one host, got ${instances}` });
    for (const issue of resourceReferenceIssues(document, 'engine-volume')) ctx.addIssue({ code: 'custom', ...issue });
    // A dependency placed on another host is not in this document: the agent's gate says so.
    for (const issue of dependsOnIssues(document.services, 'allowed')) ctx.addIssue({ code: 'custom', ...issue });
  });
export type HostDesired = z.infer<typeof hostDesiredSchema>;

/** Instances the services make on one host: the sum of their replicas. */
export function instanceCount(services: Readonly<Record<string, { readonly replicas: number }>>): number {
  let instances = 0;
  for (const service of Object.values(services)) instances += service.replicas;
  return instances;
}
