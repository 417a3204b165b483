import { BUCKETS, DESIRED_HISTORY, ENDPOINTS_FEED_PREFIX, PREVIOUS_DESIRED_HISTORY, EVENTS_DUPLICATE_WINDOW_NS, EVENTS_STREAM, EVENTS_SUBJECTS } from './subjects.js';
import type { StorageLimits } from './stream-replicas.js';

/** A value of a stream's config that Hostwright relies on: a number, a flag, a policy or the subjects. */
export type ConfigValue = number | boolean | string | readonly string[] | Readonly<Record<string, string>>;

/**
 * One stream of the fleet and the settings Hostwright relies on: `checked` must hold on the server,
 * exactly; `created` is what a new stream gets on top (replicas, direct gets, the duplicate window),
 * which an operator may change without weakening anything.
 */
export interface FleetStreamSpec {
  readonly stream: string;
  /** The KV bucket the stream backs; undefined for the event stream. */
  readonly bucket: string | undefined;
  readonly checked: Readonly<Record<string, ConfigValue>>;
  readonly created: Readonly<Record<string, ConfigValue>>;
}

/**
 * The endpoint bucket republishes each stored put under hw.endpoints, which every host account
 * imports: a put that reached the fleet account through a host's service import is not passed on
 * to other accounts, a republished one is (docs/networking.md).
 */
const ENDPOINTS_REPUBLISH = { src: `$KV.${BUCKETS.endpoints}.>`, dest: `${ENDPOINTS_FEED_PREFIX}.>` } as const;

/** How many values of a key each bucket keeps (the KV's history). */
const BUCKET_HISTORY: Record<keyof typeof BUCKETS, number> = { desired: DESIRED_HISTORY, hosts: 1, status: 1, rollouts: 8, hostctl: 8, endpoints: 1 };

const BUCKET_LIMITS: Record<keyof typeof BUCKETS, keyof StorageLimits> = { desired: 'desiredMaxBytes', hosts: 'hostsMaxBytes', status: 'statusMaxBytes', rollouts: 'rolloutsMaxBytes', hostctl: 'hostctlMaxBytes', endpoints: 'endpointsMaxBytes' };

/**
 * Every stream and bucket of a fleet as Hostwright relies on it. Nothing may delete or purge a
 * message, nor roll up a subject (a `Nats-Rollup: all` write would purge every other key of the
 * bucket); no message-count limit may cut history short; the byte and age limits are the
 * configured ones. A KV bucket discards new (a full one refuses a write rather than drop a key's
 * only value); the event stream discards old (the newest events are always taken).
 */
export function fleetStreamSpecs(limits: StorageLimits, replicas: number): FleetStreamSpec[] {
  const untouchable = { deny_delete: true, deny_purge: true, allow_rollup_hdrs: false, sealed: false, retention: 'limits', max_msgs: -1, max_msg_size: -1 } as const;
  const events: FleetStreamSpec = {
    stream: EVENTS_STREAM,
    bucket: undefined,
    checked: { subjects: [EVENTS_SUBJECTS], ...untouchable, discard: 'old', max_msgs_per_subject: -1, max_bytes: limits.eventsMaxBytes, max_age: limits.eventsMaxAgeMs * 1_000_000 },
    created: { num_replicas: replicas, duplicate_window: EVENTS_DUPLICATE_WINDOW_NS, storage: 'file' },
  };
  const buckets = (Object.keys(BUCKETS) as (keyof typeof BUCKETS)[]).map(
    (name): FleetStreamSpec => ({
      stream: `KV_${BUCKETS[name]}`,
      bucket: BUCKETS[name],
      checked: { subjects: [`$KV.${BUCKETS[name]}.>`], ...untouchable, discard: 'new', max_msgs_per_subject: BUCKET_HISTORY[name], max_bytes: limits[BUCKET_LIMITS[name]], max_age: 0, ...(name === 'endpoints' ? { republish: ENDPOINTS_REPUBLISH } : {}) },
      // Direct gets only where there is one copy: on a cluster they are answered by any replica, and
      // a follower can answer with an old value (nats-server 2.9 did so for minutes after a node's
      // restart, nats-io/nats-server#4162). The compare-and-set writes of desired state and the
      // rollout's health gate need the latest value, so a cluster's reads go to the stream leader.
      created: { num_replicas: replicas, allow_direct: replicas === 1, storage: 'file' },
    }),
  );
  return [events, ...buckets];
}

/** What the server leaves out of a stream's config when it holds the default. */
const SERVER_DEFAULTS: Readonly<Record<string, ConfigValue>> = { deny_delete: false, deny_purge: false, allow_rollup_hdrs: false, sealed: false, max_msgs: -1, max_msg_size: -1, max_msgs_per_subject: -1, max_bytes: -1, max_age: 0, subjects: [] };

/** One setting of a stream that is not what Hostwright relies on. */
export interface StorageDrift {
  readonly stream: string;
  readonly field: string;
  readonly expected: ConfigValue;
  readonly found: ConfigValue | undefined;
}

/** The checked settings of a stream that differ on the server, in the spec's order. Pure. */
export function storageDrift(spec: FleetStreamSpec, found: Readonly<Record<string, unknown>>): StorageDrift[] {
  const drift: StorageDrift[] = [];
  for (const [field, expected] of Object.entries(spec.checked)) {
    const value = (found[field] ?? SERVER_DEFAULTS[field]) as ConfigValue | undefined;
    if (!sameValue(expected, value)) drift.push({ stream: spec.stream, field, expected, found: value });
  }
  return drift;
}

function sameValue(expected: ConfigValue, found: ConfigValue | undefined): boolean {
  if (Array.isArray(expected)) return Array.isArray(found) && found.length === expected.length && expected.every((value, index) => found[index] === value);
  if (typeof expected === 'object') return typeof found === 'object' && !Array.isArray(found) && Object.entries(expected).every(([key, value]) => (found as Readonly<Record<string, string>>)[key] === value);
  return expected === found;
}

/** A drifted setting as one line: stream, field, expected and found. */
export function describeDrift(drift: StorageDrift): string {
  return `${drift.stream} ${drift.field}: expected ${shown(drift.expected)}, found ${drift.found === undefined ? 'nothing' : shown(drift.found)}`;
}

function shown(value: ConfigValue): string {
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** The desired bucket's byte limit before DESIRED_HISTORY went from 16 to 64. */
const PREVIOUS_DESIRED_MAX_BYTES = 512 * 2 ** 20;

/**
 * A setting an earlier version made and this one raised (the desired bucket's history and byte
 * limit): `fleet setup` finishes the upgrade. Anything else that differs is tampering. Pure.
 */
export function isUpgradeDrift(drift: StorageDrift): boolean {
  if (drift.stream !== `KV_${BUCKETS.desired}`) return false;
  if (drift.field === 'max_msgs_per_subject') return drift.found === PREVIOUS_DESIRED_HISTORY && drift.expected === DESIRED_HISTORY;
  return drift.field === 'max_bytes' && drift.found === PREVIOUS_DESIRED_MAX_BYTES && typeof drift.expected === 'number' && drift.expected > PREVIOUS_DESIRED_MAX_BYTES;
}
