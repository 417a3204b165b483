import { z } from 'zod';
import { hostIdSchema } from '../shared/fleet-spec.js';
import { BUCKETS, EVENTS_STREAM, desiredKeysOf, hostInboxPrefix, planRpcSubject } from '../shared/subjects.js';

/** The NATS account every Hostwright user lives in; JetStream is enabled for it alone. */
export const FLEET_ACCOUNT = 'HOSTWRIGHT';

/** nkey public keys: users start with "U", the desired-state signing key (an operator key) with "O". */
const userKeySchema = z.string().regex(/^U[A-Z2-7]{55}$/, 'expected an nkey user public key (U…, 56 characters)');
const operatorKeySchema = z.string().regex(/^O[A-Z2-7]{55}$/, 'expected an nkey operator public key (O…, 56 characters)');

/** `<dir>/fleet-auth.json`: public keys only, so the config can be regenerated without any seed. */
export const fleetAuthManifestSchema = z.strictObject({
  schema: z.literal('hostwright.fleet-auth/v1'),
  coordinator: z.strictObject({ publicKey: userKeySchema }),
  signingPublicKey: operatorKeySchema,
  hosts: z.array(z.strictObject({ hostId: hostIdSchema, publicKey: userKeySchema })),
});
export type FleetAuthManifest = z.infer<typeof fleetAuthManifestSchema>;

export interface Permissions {
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
  /** May reply to the reply subject of a message it received (plan requests, JetStream flow control). */
  readonly allowResponses: boolean;
}

const kvStream = (bucket: string): string => `KV_${bucket}`;
const kvSubject = (bucket: string, key: string): string => `$KV.${bucket}.${key}`;
const HOST_BUCKETS = [BUCKETS.desired, BUCKETS.hosts, BUCKETS.status] as const;
const ALL_BUCKETS = [BUCKETS.desired, BUCKETS.hosts, BUCKETS.status, BUCKETS.rollouts] as const;

/**
 * A host may read only its own desired keys, write only its own registry and status keys and
 * events, answer only its own plan subject, and receive only on its own inbox prefix. The
 * JetStream API subjects are the ones nats.js 3.3.1 sends for a bound KV watch and a stream
 * publish (traced against nats-server 2.9.10): a stream existence check, and an ordered consumer
 * whose filter is part of the create subject (the server refuses a body filter that differs).
 */
export function hostPermissions(hostId: string): Permissions {
  return {
    publish: [
      ...[...HOST_BUCKETS.map(kvStream), EVENTS_STREAM].map((stream) => `$JS.API.STREAM.INFO.${stream}`),
      `$JS.API.CONSUMER.CREATE.${kvStream(BUCKETS.desired)}.*.${kvSubject(BUCKETS.desired, desiredKeysOf(hostId))}`,
      kvSubject(BUCKETS.hosts, hostId),
      kvSubject(BUCKETS.status, hostId),
      `hw.events.${hostId}.>`,
    ],
    subscribe: [`${hostInboxPrefix(hostId)}.>`, planRpcSubject(hostId)],
    allowResponses: true,
  };
}

/**
 * The coordinator creates the buckets and the event stream, reads every bucket (ordered
 * consumers, direct get), writes desired state and rollouts, reads events, and sends plan
 * requests. It never writes a host's status, registry or events.
 */
export function coordinatorPermissions(): Permissions {
  const streams = [...ALL_BUCKETS.map(kvStream), EVENTS_STREAM];
  return {
    publish: [
      '$JS.API.INFO',
      ...streams.map((stream) => `$JS.API.STREAM.CREATE.${stream}`),
      ...streams.map((stream) => `$JS.API.STREAM.INFO.${stream}`),
      // Turns off rollup headers on the buckets hosts write to (see shared/stream-replicas.ts).
      ...[BUCKETS.hosts, BUCKETS.status].map((bucket) => `$JS.API.STREAM.UPDATE.${kvStream(bucket)}`),
      ...streams.map((stream) => `$JS.API.CONSUMER.CREATE.${stream}.>`),
      ...streams.map((stream) => `$JS.API.CONSUMER.INFO.${stream}.*`),
      `$JS.API.CONSUMER.MSG.NEXT.${EVENTS_STREAM}.*`,
      ...ALL_BUCKETS.map((bucket) => `$JS.API.DIRECT.GET.${kvStream(bucket)}.>`),
      // The KV client falls back to this when a bucket was made without direct get.
      ...ALL_BUCKETS.map((bucket) => `$JS.API.STREAM.MSG.GET.${kvStream(bucket)}`),
      kvSubject(BUCKETS.desired, '>'),
      kvSubject(BUCKETS.rollouts, '>'),
      planRpcSubject('*'),
    ],
    subscribe: ['_INBOX.>'],
    allowResponses: true,
  };
}

function quoted(values: readonly string[]): string {
  return `[${values.map((value) => JSON.stringify(value)).join(', ')}]`;
}

function userBlock(comment: string, publicKey: string, permissions: Permissions): string[] {
  return [
    `      # ${comment}`,
    '      {',
    `        nkey: ${JSON.stringify(publicKey)}`,
    '        permissions: {',
    `          publish: { allow: ${quoted(permissions.publish)} }`,
    `          subscribe: { allow: ${quoted(permissions.subscribe)} }`,
    `          allow_responses: ${permissions.allowResponses}`,
    '        }',
    '      }',
  ];
}

/**
 * The `accounts` block for nats-server (no legacy top-level `authorization`): one account with
 * JetStream, the coordinator user and one user per host. Every subject is quoted, since an
 * unquoted `$JS…` would be read as a variable.
 */
export function accountsConfig(manifest: FleetAuthManifest): string {
  const hosts = [...manifest.hosts].sort((a, b) => a.hostId.localeCompare(b.hostId));
  return [
    '# Generated by `hostwright fleet init` / `fleet add-host` from fleet-auth.json; do not edit.',
    '# Reload a running server after a change: nats-server --signal reload=<pid> (or kill -HUP <pid>).',
    'accounts {',
    `  ${FLEET_ACCOUNT}: {`,
    '    jetstream: enabled',
    '    users: [',
    ...userBlock('coordinator', manifest.coordinator.publicKey, coordinatorPermissions()),
    ...hosts.flatMap((host) => userBlock(`host ${host.hostId}`, host.publicKey, hostPermissions(host.hostId))),
    '    ]',
    '  }',
    '}',
    '',
  ].join('\n');
}

export interface ServerTls {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

export interface ServerConfigInput {
  readonly listen: string;
  readonly storeDir: string;
  /** Relative to the server config's own directory (nats-server resolves includes that way). */
  readonly accountsFile: string;
  readonly tls: ServerTls | undefined;
}

/** A complete nats-server config that includes the generated accounts file. */
export function serverConfig(input: ServerConfigInput): string {
  return [
    '# Generated by `hostwright fleet init`. Start: nats-server -c nats-server.conf',
    `listen: ${input.listen}`,
    'max_payload: 1MB',
    'jetstream {',
    `  store_dir: ${JSON.stringify(input.storeDir)}`,
    '}',
    ...(input.tls
      ? ['tls {', `  ca_file: ${JSON.stringify(input.tls.caFile)}`, `  cert_file: ${JSON.stringify(input.tls.certFile)}`, `  key_file: ${JSON.stringify(input.tls.keyFile)}`, '  timeout: 2', '}']
      : ['# No TLS: pass --tls-ca/--tls-cert/--tls-key to `fleet init` before listening beyond loopback.']),
    `include ${JSON.stringify(input.accountsFile)}`,
    '',
  ].join('\n');
}

/** The manifest with a host added, or its key replaced (rotation). */
export function withHost(manifest: FleetAuthManifest, hostId: string, publicKey: string): FleetAuthManifest {
  return { ...manifest, hosts: [...manifest.hosts.filter((host) => host.hostId !== hostId), { hostId, publicKey }].sort((a, b) => a.hostId.localeCompare(b.hostId)) };
}

export function withoutHost(manifest: FleetAuthManifest, hostId: string): FleetAuthManifest {
  return { ...manifest, hosts: manifest.hosts.filter((host) => host.hostId !== hostId) };
}
