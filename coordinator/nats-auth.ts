import { z } from 'zod';
import { compareStrings } from '../shared/compare.js';
import { hostIdSchema } from '../shared/fleet-spec.js';
import { MAX_PLAN_REPLY_PARTS } from '../shared/plan-reply-parts.js';
import { BUCKETS, DESIRED_STREAM, ENDPOINTS_FEED_PREFIX, EVENTS_STREAM, desiredFeedConsumer, desiredFeedCreatedSubject, execIoRpcSubject, execRpcSubject, hostInboxPrefix, hostJetStreamPrefix, logsRpcSubject, planRpcSubject, pullRpcSubject, retryRpcSubject } from '../shared/subjects.js';

/** The NATS account of the coordinator, JetStream and every bucket and stream. */
export const FLEET_ACCOUNT = 'HOSTWRIGHT';

/** Each host has an account of its own: what JetStream answers it can only reach that account. */
export function hostAccount(hostId: string): string {
  return `HOST_${hostId}`;
}

/** nkey public keys: users start with "U", the desired-state signing key (an operator key) with "O". */
const userKeySchema = z.string().regex(/^U[A-Z2-7]{55}$/, 'expected an nkey user public key (U…, 56 characters)');
const operatorKeySchema = z.string().regex(/^O[A-Z2-7]{55}$/, 'expected an nkey operator public key (O…, 56 characters)');

/**
 * What a coordinator user may do: `reader` reads (status, events, hosts, ps, logs), `deployer`
 * also writes desired state and host controls and sends plan, retry and pull requests (today's
 * coordinator.nk), `admin` also runs exec and sets up the streams and buckets (admin.nk).
 */
export const ROLES = ['reader', 'deployer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const USER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** `<dir>/fleet-auth.json`: public keys only, so the config can be regenerated without any seed. */
export const fleetAuthManifestSchema = z.strictObject({
  schema: z.literal('hostwright.fleet-auth/v1'),
  coordinator: z.strictObject({ publicKey: userKeySchema }),
  /** The user that creates and updates the streams and buckets (`fleet setup`); fleets made before it have none. */
  admin: z.strictObject({ publicKey: userKeySchema }).optional(),
  signingPublicKey: operatorKeySchema,
  /** curveKey: the host's X25519 key (X…) that secrets are sealed to; hosts added before it have none. */
  hosts: z.array(z.strictObject({ hostId: hostIdSchema, publicKey: userKeySchema, curveKey: z.string().regex(/^X[A-Z2-7]{55}$/, 'expected a curve public key (X…)').optional() })),
  /** Users by role (`fleet add-user`), each with users/<name>.nk; fleets made before roles have none. */
  users: z.array(z.strictObject({ name: z.string().regex(USER_NAME_PATTERN, 'expected letters, digits, "-", "_" or "." (max 63)'), role: z.enum(ROLES), publicKey: userKeySchema })).optional(),
});
export type FleetAuthManifest = z.infer<typeof fleetAuthManifestSchema>;

/**
 * How long a host may answer a request, and the fleet account waits for an answer through the
 * host's export: a pull request is answered when its pulls end, which for large images on a slow
 * link takes minutes (the coordinator's `pull --timeout` is 10 minutes by default).
 */
export const HOST_REPLY_WINDOW = '15m';

export interface Permissions {
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
  /** How many replies a user may send to the reply subject of a message it received (0: none). */
  readonly responses: number;
}

/**
 * One subject of the fleet account a host may send to, imported as a service into the host's
 * account: JetStream's answer goes back through the import to the host's account, whatever reply
 * subject the host set, so it can never land on a subject of the fleet account.
 */
export interface HostImport {
  /** The subject in the fleet account. */
  readonly subject: string;
  /** The subject the host publishes to in its own account. */
  readonly local: string;
  /** More than one reply per request (the messages of a pull request). */
  readonly streamed: boolean;
}

const kvSubject = (bucket: string, key: string): string => `$KV.${bucket}.${key}`;

/**
 * Everything a host sends to the fleet: its registry and status keys, its events, the registry's
 * size, and its desired-state feed (a consumer the coordinator made; the host reads it, acknowledges it, and can
 * create, change or delete no consumer). JetStream API subjects are mapped under the host's own
 * prefix, since `$JS.API` in an account without JetStream is answered "not enabled".
 */
export function hostImports(hostId: string): HostImport[] {
  const feed = desiredFeedConsumer(hostId);
  const plain = (subject: string): HostImport => ({ subject, local: subject, streamed: false });
  const api = (rest: string, streamed: boolean): HostImport => ({ subject: `$JS.API.${rest}`, local: `${hostJetStreamPrefix(hostId)}.${rest}`, streamed });
  return [
    plain(kvSubject(BUCKETS.hosts, hostId)),
    plain(kvSubject(BUCKETS.status, hostId)),
    // Its endpoint records: keys that start with its own id only (docs/networking.md).
    plain(kvSubject(BUCKETS.endpoints, `${hostId}.>`)),
    plain(`hw.events.${hostId}.>`),
    api(`CONSUMER.INFO.${DESIRED_STREAM}.${feed}`, false),
    api(`CONSUMER.MSG.NEXT.${DESIRED_STREAM}.${feed}`, true),
    // The registry's size (its stream info: counts and settings, no key or value), which spaces its heartbeats (shared/heartbeat-period.ts).
    api(`STREAM.INFO.KV_${BUCKETS.hosts}`, false),
    plain(`$JS.ACK.${DESIRED_STREAM}.${feed}.>`),
  ];
}

/**
 * Within its own account a host may publish only to its imports, receive only on its inbox prefix,
 * its plan, retry, pull and logs subjects and the advisory that its feed was made, and answer a request with at most MAX_PLAN_REPLY_PARTS
 * messages within HOST_REPLY_WINDOW.
 */
export function hostPermissions(hostId: string): Permissions {
  return {
    publish: hostImports(hostId).map((entry) => entry.local),
    subscribe: [`${hostInboxPrefix(hostId)}.>`, planRpcSubject(hostId), retryRpcSubject(hostId), pullRpcSubject(hostId), desiredFeedCreatedSubject(hostId), logsRpcSubject(hostId), execRpcSubject(hostId), execIoRpcSubject(hostId), `${ENDPOINTS_FEED_PREFIX}.>`],
    responses: MAX_PLAN_REPLY_PARTS,
  };
}

/**
 * Reading any host's logs (`hostwright logs`): requests on each host's logs subject, answered on
 * the requester's inbox. Kept as one entry so a role that may read logs can be given exactly it.
 */
export function logsReaderPublish(): string[] {
  return [logsRpcSubject('*')];
}

/** The fleet's streams: the buckets' and the event stream. */
function fleetStreams(): string[] {
  return [...[BUCKETS.desired, BUCKETS.hosts, BUCKETS.status, BUCKETS.rollouts, BUCKETS.hostctl, BUCKETS.endpoints].map((bucket) => `KV_${bucket}`), EVENTS_STREAM];
}

/**
 * The coordinator makes each host's desired-state feed, reads every bucket (ordered consumers,
 * direct get), writes desired state, rollouts and host controls (cordons, labels), reads events,
 * and sends plan, retry and pull requests. It never writes a host's status, registry or events, and it cannot change, purge or
 * delete a stream or any consumer but the hosts' feeds it makes again: stolen, its credentials
 * cannot erase history. It may create a missing stream (the server refuses to create one that
 * exists with another config), so a fleet set up by an older version keeps working.
 */
export function coordinatorPermissions(hostIds: readonly string[]): Permissions {
  const buckets = [BUCKETS.desired, BUCKETS.hosts, BUCKETS.status, BUCKETS.rollouts, BUCKETS.hostctl, BUCKETS.endpoints];
  const streams = fleetStreams();
  return {
    publish: [
      '$JS.API.INFO',
      ...streams.map((stream) => `$JS.API.STREAM.CREATE.${stream}`),
      ...streams.map((stream) => `$JS.API.STREAM.INFO.${stream}`),
      ...streams.map((stream) => `$JS.API.CONSUMER.CREATE.${stream}.>`),
      ...streams.map((stream) => `$JS.API.CONSUMER.INFO.${stream}.*`),
      // A host's feed is made again from the start when its agent's journal is new (see fleet-client.ts).
      ...[...hostIds].sort(compareStrings).map((hostId) => `$JS.API.CONSUMER.DELETE.${DESIRED_STREAM}.${desiredFeedConsumer(hostId)}`),
      `$JS.API.CONSUMER.MSG.NEXT.${EVENTS_STREAM}.*`,
      ...buckets.map((bucket) => `$JS.API.DIRECT.GET.KV_${bucket}.>`),
      // The KV client falls back to this when a bucket was made without direct get.
      ...buckets.map((bucket) => `$JS.API.STREAM.MSG.GET.KV_${bucket}`),
      kvSubject(BUCKETS.desired, '>'),
      kvSubject(BUCKETS.rollouts, '>'),
      // Cordons and labels (shared/host-control.ts): the coordinator's alone, no host imports them.
      kvSubject(BUCKETS.hostctl, '>'),
      planRpcSubject('*'),
      retryRpcSubject('*'),
      pullRpcSubject('*'),
      ...logsReaderPublish(),
    ],
    subscribe: ['_INBOX.>'],
    // Flow control of the ordered consumers the coordinator reads with.
    responses: 1,
  };
}

/**
 * The admin user (`fleet setup`): creates the streams and buckets and updates their settings and
 * limits, and does nothing else. Keep its seed off the machines that run day-to-day commands.
 */
export function adminPermissions(): Permissions {
  const streams = fleetStreams();
  return {
    publish: ['$JS.API.INFO', ...streams.flatMap((stream) => [`$JS.API.STREAM.CREATE.${stream}`, `$JS.API.STREAM.UPDATE.${stream}`, `$JS.API.STREAM.INFO.${stream}`])],
    subscribe: ['_INBOX.>'],
    responses: 0,
  };
}

/**
 * The reader role: what status, events, hosts and ps read (stream info, ordered consumers, direct
 * gets) and `logs` (a host's logs subject), and nothing that writes a bucket or asks a host to act.
 */
export function readerPermissions(): Permissions {
  const buckets = [BUCKETS.desired, BUCKETS.hosts, BUCKETS.status, BUCKETS.rollouts, BUCKETS.hostctl];
  const streams = fleetStreams();
  return {
    publish: [
      '$JS.API.INFO',
      ...streams.map((stream) => `$JS.API.STREAM.INFO.${stream}`),
      ...streams.map((stream) => `$JS.API.CONSUMER.CREATE.${stream}.>`),
      ...streams.map((stream) => `$JS.API.CONSUMER.INFO.${stream}.*`),
      `$JS.API.CONSUMER.MSG.NEXT.${EVENTS_STREAM}.*`,
      ...buckets.map((bucket) => `$JS.API.DIRECT.GET.KV_${bucket}.>`),
      ...buckets.map((bucket) => `$JS.API.STREAM.MSG.GET.KV_${bucket}`),
      ...logsReaderPublish(),
    ],
    subscribe: ['_INBOX.>'],
    responses: 1,
  };
}

/** exec's subjects on every host: only the admin role may start a session or send its bytes. */
export const EXEC_SUBJECTS = [execRpcSubject('*'), execIoRpcSubject('*')] as const;

/** The admin role: the deployer's permissions, exec on any host, and stream and bucket setup. */
export function adminRolePermissions(hostIds: readonly string[]): Permissions {
  const deployer = coordinatorPermissions(hostIds);
  const setup = adminPermissions();
  return { publish: [...new Set([...deployer.publish, ...setup.publish, ...EXEC_SUBJECTS])], subscribe: deployer.subscribe, responses: deployer.responses };
}

/** The permissions of a role; deployer is the coordinator's. */
export function rolePermissions(role: Role, hostIds: readonly string[]): Permissions {
  return role === 'reader' ? readerPermissions() : role === 'deployer' ? coordinatorPermissions(hostIds) : adminRolePermissions(hostIds);
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
    permissions.responses > 1 ? `          allow_responses: { max: ${permissions.responses}, expires: ${JSON.stringify(HOST_REPLY_WINDOW)} }` : `          allow_responses: ${permissions.responses === 1}`,
    '        }',
    '      }',
  ];
}

function exportLine(subject: string, account: string, streamed: boolean, replyWindow?: string): string {
  return `      { service: ${JSON.stringify(subject)}, accounts: [${JSON.stringify(account)}]${streamed ? ', response_type: "stream"' : ''}${replyWindow ? `, response_threshold: ${JSON.stringify(replyWindow)}` : ''} }`;
}

/** A stream (messages only, no replies): the server's advisory that the host's feed was made. */
function streamExportLine(subject: string, account: string): string {
  return `      { stream: ${JSON.stringify(subject)}, accounts: [${JSON.stringify(account)}] }`;
}

function importLine(account: string, subject: string, local: string): string {
  return `      { service: { account: ${JSON.stringify(account)}, subject: ${JSON.stringify(subject)} }${local === subject ? '' : `, to: ${JSON.stringify(local)}`} }`;
}

/**
 * The `accounts` block for nats-server (no legacy top-level `authorization`), following NATS's
 * multi-tenant design: the fleet account holds JetStream and the coordinator; each host's user
 * lives in an account of its own that imports only its own subjects from the fleet account and
 * exports its plan, retry and pull subjects to it. Every name is quoted, since an unquoted `$JS…` would be read as
 * a variable.
 */
export function accountsConfig(manifest: FleetAuthManifest): string {
  const hosts = [...manifest.hosts].sort((a, b) => compareStrings(a.hostId, b.hostId));
  const lines = [
    '# Generated by `hostwright fleet init` / `fleet add-host` from fleet-auth.json; do not edit.',
    '# Reload a running server after a change: nats-server --signal reload=<pid> (or kill -HUP <pid>).',
    'accounts {',
    `  ${JSON.stringify(FLEET_ACCOUNT)}: {`,
    '    jetstream: enabled',
    '    users: [',
    ...userBlock('coordinator', manifest.coordinator.publicKey, coordinatorPermissions(hosts.map((host) => host.hostId))),
    ...(manifest.admin ? userBlock('admin (fleet setup)', manifest.admin.publicKey, adminRolePermissions(hosts.map((host) => host.hostId))) : []),
    ...[...(manifest.users ?? [])].sort((a, b) => compareStrings(a.name, b.name)).flatMap((user) => userBlock(`user ${user.name} (role ${user.role})`, user.publicKey, rolePermissions(user.role, hosts.map((host) => host.hostId)))),
    '    ]',
    '    exports: [',
    ...hosts.flatMap((host) => [...hostImports(host.hostId).map((entry) => exportLine(entry.subject, hostAccount(host.hostId), entry.streamed)), streamExportLine(desiredFeedCreatedSubject(host.hostId), hostAccount(host.hostId))]),
    // Every host reads the endpoint records (addresses, no secrets) of the services its projects use:
    // the bucket republishes each stored put under hw.endpoints (a put that arrived through a host's
    // service import is not passed on to other accounts' stream imports; a republished one is).
    ...(hosts.length > 0 ? [`      { stream: ${JSON.stringify(`${ENDPOINTS_FEED_PREFIX}.>`)}, accounts: ${quoted(hosts.map((host) => hostAccount(host.hostId)))} }`] : []),
    '    ]',
    '    imports: [',
    ...hosts.flatMap((host) => [planRpcSubject(host.hostId), retryRpcSubject(host.hostId), pullRpcSubject(host.hostId), logsRpcSubject(host.hostId), execRpcSubject(host.hostId), execIoRpcSubject(host.hostId)].map((subject) => importLine(hostAccount(host.hostId), subject, subject))),
    '    ]',
    '  }',
  ];
  for (const host of hosts) {
    lines.push(
      `  ${JSON.stringify(hostAccount(host.hostId))}: {`,
      '    users: [',
      ...userBlock(`host ${host.hostId}`, host.publicKey, hostPermissions(host.hostId)),
      '    ]',
      '    imports: [',
      ...hostImports(host.hostId).map((entry) => importLine(FLEET_ACCOUNT, entry.subject, entry.local)),
      `      { stream: { account: ${JSON.stringify(FLEET_ACCOUNT)}, subject: ${JSON.stringify(desiredFeedCreatedSubject(host.hostId))} } }`,
      `      { stream: { account: ${JSON.stringify(FLEET_ACCOUNT)}, subject: ${JSON.stringify(`${ENDPOINTS_FEED_PREFIX}.>`)} } }`,
      '    ]',
      '    exports: [',
      exportLine(planRpcSubject(host.hostId), FLEET_ACCOUNT, true),
      exportLine(retryRpcSubject(host.hostId), FLEET_ACCOUNT, false),
      exportLine(pullRpcSubject(host.hostId), FLEET_ACCOUNT, false, HOST_REPLY_WINDOW),
      // A logs request is answered with up to its credit of chunks, for as long as the stream follows.
      exportLine(logsRpcSubject(host.hostId), FLEET_ACCOUNT, true, HOST_REPLY_WINDOW),
      exportLine(execRpcSubject(host.hostId), FLEET_ACCOUNT, false),
      exportLine(execIoRpcSubject(host.hostId), FLEET_ACCOUNT, false),
      '    ]',
      '  }',
    );
  }
  lines.push('}', '');
  return lines.join('\n');
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
export function withHost(manifest: FleetAuthManifest, hostId: string, publicKey: string, curveKey?: string): FleetAuthManifest {
  return { ...manifest, hosts: [...manifest.hosts.filter((host) => host.hostId !== hostId), { hostId, publicKey, ...(curveKey === undefined ? {} : { curveKey }) }].sort((a, b) => compareStrings(a.hostId, b.hostId)) };
}

export function withoutHost(manifest: FleetAuthManifest, hostId: string): FleetAuthManifest {
  return { ...manifest, hosts: manifest.hosts.filter((host) => host.hostId !== hostId) };
}
