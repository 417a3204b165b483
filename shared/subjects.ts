/** Every NATS name Hostwright uses, in one place. */
export const BUCKETS = {
  /** key `<hostId>.<project>`: the HostDesired document; history kept for rollback. */
  desired: 'hw_desired',
  /** key `<hostId>`: labels, agent version, start time, heartbeat. */
  hosts: 'hw_hosts',
  /** key `<hostId>`: the host's latest status. */
  status: 'hw_status',
  /** key `<rolloutId>`: a rollout's waves and per-host progress, so any coordinator can resume it. */
  rollouts: 'hw_rollouts',
  /** key `<hostId>`: what the coordinator says about a host (cordon, labels), signed; hosts cannot read it. */
  hostctl: 'hw_hostctl',
  /** key `<hostId>.<project>.<service>`: the addresses of the service's running, healthy instances on the host, signed by it (docs/networking.md). */
  endpoints: 'hw_endpoints',
} as const;

/** Revisions of desired state kept per host and project (`history`, `diff`, `rollback --to`): NATS KV's maximum. */
export const DESIRED_HISTORY = 64;
/** What the desired bucket kept before (a fleet set up by 0.2.0): `fleet setup` raises it. */
export const PREVIOUS_DESIRED_HISTORY = 16;

export const EVENTS_STREAM = 'HW_EVENTS';
export const EVENTS_SUBJECTS = 'hw.events.>';
/** The server drops a re-send with the same msg id within this window (the outbox re-sends until acked). */
export const EVENTS_DUPLICATE_WINDOW_NS = 60 * 60 * 1_000_000_000;

export function desiredKey(hostId: string, project: string): string {
  return `${hostId}.${project}`;
}

/** The subject a KV key's values are stored under (what a KV put publishes to). */
export function kvKeySubject(bucket: string, key: string): string {
  return `$KV.${bucket}.${key}`;
}

export function eventSubject(hostId: string, project: string, type: string): string {
  return `hw.events.${hostId}.${project}.${type}`;
}

/** Filter for `events`: any of host, project and type may be left open. */
export function eventFilter(filter: { hostId?: string; project?: string; type?: string }): string {
  return `hw.events.${filter.hostId ?? '*'}.${filter.project ?? '*'}.${filter.type ?? '*'}`;
}

export function planRpcSubject(hostId: string): string {
  return `hw.rpc.${hostId}.plan`;
}

/** Request/reply: lift a project's rejected revision (and cut its backoff short) on one host. */
export function retryRpcSubject(hostId: string): string {
  return `hw.rpc.${hostId}.retry`;
}

/** Request/reply: pull the images a candidate revision of a project needs, before it is rolled out. */
export function pullRpcSubject(hostId: string): string {
  return `hw.rpc.${hostId}.pull`;
}

/** Request/reply: open a `hostwright logs` stream of a service on one host, or grant it more credit (shared/log-stream.ts). */
export function logsRpcSubject(hostId: string): string {
  return `hw.rpc.${hostId}.logs`;
}

/** The stream behind the desired-state bucket. */
export const DESIRED_STREAM = `KV_${BUCKETS.desired}`;

/**
 * The durable pull consumer the coordinator makes for each host on the desired stream, filtered
 * to the host's keys: a host reads its desired state only through it and may create no consumer.
 */
export function desiredFeedConsumer(hostId: string): string {
  return `hw_host_${hostId}`;
}

/** The server's advisory that a host's feed was made: its agent, waiting for one, reads it at once. */
export function desiredFeedCreatedSubject(hostId: string): string {
  return `$JS.EVENT.ADVISORY.CONSUMER.CREATED.${DESIRED_STREAM}.${desiredFeedConsumer(hostId)}`;
}

/**
 * The fleet's JetStream API as a host's own NATS account imports it (nats.js `apiPrefix`). The
 * host account has no JetStream of its own, and its `$JS.API` answers "not enabled".
 */
export function hostJetStreamPrefix(hostId: string): string {
  return `hw.fleet.${hostId}.API`;
}

/** An agent's reply inbox prefix: its NATS user may subscribe only below it. */
export function hostInboxPrefix(hostId: string): string {
  return `_INBOX_${hostId}`;
}

/** Request/reply: start a command in a container the host owns (`hostwright exec`); signed, single-use, admin only. */
export function execRpcSubject(hostId: string): string {
  return `hw.rpc.${hostId}.exec`;
}

/** Request/reply: a running exec session's stdin, resize and output polls (shared/exec-wire.ts). */
export function execIoRpcSubject(hostId: string): string {
  return `hw.rpc.${hostId}.exec.io`;
}

export function endpointKey(hostId: string, project: string, service: string): string {
  return `${hostId}.${project}.${service}`;
}

/**
 * Where a host's account receives the endpoint bucket's puts (the fleet account's `$KV.hw_endpoints.>`
 * imported as a stream under this prefix, so that it never meets the host's own write import).
 */
export const ENDPOINTS_FEED_PREFIX = 'hw.endpoints';

/** What a host subscribes to for one service's endpoints on every host. */
export function endpointsFeedSubject(project: string, service: string): string {
  return `${ENDPOINTS_FEED_PREFIX}.*.${project}.${service}`;
}
