import type { NatsConnection, ServerInfo } from '@nats-io/transport-node';
import type { JetStreamClient, JetStreamManager, StreamConfig, StreamInfo, StreamUpdateConfig } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { parseByteSize } from './byte-size.js';
import { parseDurationMs } from './duration.js';
import { FleetNotSetUpError, FleetStorageTamperedError, InvalidInputError, errorMessage } from './errors.js';
import { describeDrift, fleetStreamSpecs, isUpgradeDrift, storageDrift, type FleetStreamSpec, type StorageDrift } from './fleet-storage-config.js';
import { BUCKETS } from './subjects.js';

/** R3 survives the loss of one node; more copies cost writes without a gain for a fleet's control plane. */
export const CLUSTER_REPLICAS = 3;

export interface FleetBuckets {
  readonly desired: KV;
  readonly hosts: KV;
  readonly status: KV;
  readonly rollouts: KV;
  readonly hostctl: KV;
  readonly endpoints: KV;
}

/**
 * The replica count the server allows: R3 when it is part of a cluster of at least three JetStream
 * nodes (the INFO of a clustered server lists every node's client URL), R1 on a single server.
 */
export function replicasFor(info: ServerInfo | undefined): number {
  if (!info?.cluster) return 1;
  const nodes = new Set(info.connect_urls ?? []).size;
  return nodes >= CLUSTER_REPLICAS ? CLUSTER_REPLICAS : 1;
}

/**
 * What the fleet's storage may hold at most (docs/fleet.md, "Storage limits"). The event stream drops
 * its oldest events past either limit; a full KV bucket refuses the write (nothing stored is lost).
 */
export interface StorageLimits {
  readonly eventsMaxBytes: number;
  readonly eventsMaxAgeMs: number;
  readonly desiredMaxBytes: number;
  readonly hostsMaxBytes: number;
  readonly statusMaxBytes: number;
  readonly rolloutsMaxBytes: number;
  readonly hostctlMaxBytes: number;
  readonly endpointsMaxBytes: number;
}

const MIB = 2 ** 20;

/** Sized for about a thousand hosts (docs/fleet.md says how to size them): 2.4 GiB in all, per replica. */
export const DEFAULT_STORAGE_LIMITS: StorageLimits = {
  eventsMaxBytes: 1024 * MIB,
  eventsMaxAgeMs: 30 * 24 * 3600 * 1000,
  // 64 revisions per host and project (DESIRED_HISTORY): 1,000 hosts × 4 projects × 64 × 4 KB.
  desiredMaxBytes: 1024 * MIB,
  hostsMaxBytes: 32 * MIB,
  statusMaxBytes: 256 * MIB,
  rolloutsMaxBytes: 64 * MIB,
  hostctlMaxBytes: 8 * MIB,
  // One value per (host, service): a few hundred bytes each, re-put every refresh (history 1).
  endpointsMaxBytes: 64 * MIB,
};

/** The names HOSTWRIGHT_STORAGE_LIMITS takes, by limit. */
const LIMIT_NAMES: Record<string, keyof StorageLimits> = { events: 'eventsMaxBytes', 'events-age': 'eventsMaxAgeMs', desired: 'desiredMaxBytes', hosts: 'hostsMaxBytes', status: 'statusMaxBytes', rollouts: 'rolloutsMaxBytes', hostctl: 'hostctlMaxBytes', endpoints: 'endpointsMaxBytes' };

/**
 * Limits from a text such as `events=4g,events-age=14d,desired=1g` (HOSTWRIGHT_STORAGE_LIMITS): each
 * name given replaces its default. A bad entry is an InvalidInputError naming it.
 */
export function parseStorageLimits(text: string | undefined, where = 'HOSTWRIGHT_STORAGE_LIMITS'): StorageLimits {
  const limits: Record<keyof StorageLimits, number> = { ...DEFAULT_STORAGE_LIMITS };
  for (const entry of (text ?? '').split(',').map((part) => part.trim()).filter((part) => part.length > 0)) {
    const [name = '', value = ''] = entry.split('=', 2).map((part) => part.trim());
    const field = LIMIT_NAMES[name];
    if (field === undefined) throw new InvalidInputError(`${where}: unknown limit "${name}" (expected ${Object.keys(LIMIT_NAMES).join(', ')})`);
    let parsed: number;
    try {
      parsed = field === 'eventsMaxAgeMs' ? ageMs(value) : parseByteSize(value);
    } catch {
      throw new InvalidInputError(`${where}: ${name}=${value} is not ${field === 'eventsMaxAgeMs' ? 'a duration such as 30d or 12h' : 'a size such as 512m or 2g'}`);
    }
    if (!(parsed > 0)) throw new InvalidInputError(`${where}: ${name} must be more than 0`);
    limits[field] = parsed;
  }
  return limits;
}

/** A duration in days ("30d") or in compose's units ("12h", "90m"). */
function ageMs(text: string): number {
  const days = /^(\d+)d$/.exec(text);
  return days ? Number(days[1]) * 24 * 3600 * 1000 : parseDurationMs(text);
}

/**
 * Binds to the event stream and the KV buckets after checking, with one STREAM.INFO each, that every
 * one is configured as Hostwright relies on (fleetStreamSpecs): one that is not is refused with
 * FleetStorageTamperedError, naming each stream, setting, expected and found value. The coordinator
 * changes no existing stream (its NATS user may not); a missing one is created when the credentials
 * allow it (an unsecured server, a test), otherwise FleetNotSetUpError says to run `fleet setup`.
 */
export async function ensureFleetStorage(nc: NatsConnection, jsm: JetStreamManager, js: JetStreamClient, limits: StorageLimits = DEFAULT_STORAGE_LIMITS): Promise<FleetBuckets> {
  const specs = fleetStreamSpecs(limits, replicasFor(nc.info));
  const found = await Promise.all(
    specs.map(async (spec) => {
      const info = (await streamInfo(jsm, spec.stream)) ?? (await createStream(jsm, spec));
      return { spec, config: info.config as unknown as Record<string, unknown> };
    }),
  );
  const drift = found.flatMap(({ spec, config }) => storageDrift(spec, config));
  // Only what an earlier version set (a shorter desired history): not tampering, an upgrade to finish.
  if (drift.length > 0 && drift.every(isUpgradeDrift)) {
    throw new FleetNotSetUpError(
      [
        'the fleet\'s NATS streams were set up by an earlier version of Hostwright:',
        ...drift.map((entry) => `  ${describeDrift(entry)}`),
        'This version keeps 64 revisions of desired state per host and project (`history`, `diff`, `rollback --to`). Run `hostwright fleet setup --nats URL --creds admin.nk` once (the admin credentials `fleet init` wrote); it keeps every value the buckets hold.',
      ].join('\n'),
    );
  }
  if (drift.length > 0) {
    throw new FleetStorageTamperedError(
      [
        `refusing to run: ${drift.length === 1 ? 'a setting' : `${drift.length} settings`} of the fleet's NATS streams ${drift.length === 1 ? 'is' : 'are'} not what Hostwright relies on (changed by someone who could update streams, or made by an older version):`,
        ...drift.map((entry) => `  ${describeDrift(entry)}`),
        'Find out who changed it. To restore the settings, run `hostwright fleet setup --nats URL --creds admin.nk` (the admin credentials `fleet init` wrote); byte and age limits are those of $HOSTWRIGHT_STORAGE_LIMITS, which must be the same for `fleet setup` and the coordinator.',
      ].join('\n'),
    );
  }
  const kvm = new Kvm(js);
  const bind = (bucket: string) => {
    const entry = found.find(({ spec }) => spec.bucket === bucket);
    return kvm.open(bucket, { allow_direct: entry?.config.allow_direct === true });
  };
  const [desired, hosts, status, rollouts, hostctl, endpoints] = await Promise.all([bind(BUCKETS.desired), bind(BUCKETS.hosts), bind(BUCKETS.status), bind(BUCKETS.rollouts), bind(BUCKETS.hostctl), bind(BUCKETS.endpoints)]);
  return { desired, hosts, status, rollouts, hostctl, endpoints };
}

/** What `fleet setup` did to one stream. */
export type StreamSetup = { readonly stream: string; readonly outcome: 'created' | 'unchanged' } | { readonly stream: string; readonly outcome: 'updated'; readonly changes: readonly StorageDrift[] };

/**
 * `hostwright fleet setup`: creates every missing stream and bucket and sets every checked setting of
 * an existing one to what Hostwright relies on (limits included). Idempotent: a second run changes
 * nothing. Needs credentials that may create and update streams (the admin user `fleet init` writes).
 */
export async function setupFleetStorage(nc: NatsConnection, jsm: JetStreamManager, limits: StorageLimits = DEFAULT_STORAGE_LIMITS): Promise<StreamSetup[]> {
  const results: StreamSetup[] = [];
  for (const spec of fleetStreamSpecs(limits, replicasFor(nc.info))) {
    const info = await streamInfo(jsm, spec.stream);
    if (!info) {
      await jsm.streams.add(creationConfig(spec));
      results.push({ stream: spec.stream, outcome: 'created' });
      continue;
    }
    const changes = storageDrift(spec, info.config as unknown as Record<string, unknown>);
    if (changes.length === 0) {
      results.push({ stream: spec.stream, outcome: 'unchanged' });
      continue;
    }
    await jsm.streams.update(spec.stream, { ...info.config, ...Object.fromEntries(changes.map((change) => [change.field, change.expected])) } as Partial<StreamUpdateConfig>);
    results.push({ stream: spec.stream, outcome: 'updated', changes });
  }
  return results;
}

function creationConfig(spec: FleetStreamSpec): Partial<StreamConfig> & { name: string } {
  return { ...spec.created, ...spec.checked, name: spec.stream } as unknown as Partial<StreamConfig> & { name: string };
}

/** The stream's info; undefined when it does not exist. */
async function streamInfo(jsm: JetStreamManager, stream: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(stream);
  } catch (error) {
    if (/stream not found/i.test(errorMessage(error))) return undefined;
    throw error;
  }
}

/** Creates a missing stream; another coordinator may create it at the same moment, which is fine. */
async function createStream(jsm: JetStreamManager, spec: FleetStreamSpec): Promise<StreamInfo> {
  try {
    return await jsm.streams.add(creationConfig(spec));
  } catch (error) {
    if (isPermissionDenied(error)) throw new FleetNotSetUpError(`the fleet's stream ${spec.stream} does not exist and these NATS credentials may not create it: run \`hostwright fleet setup --nats URL --creds admin.nk\` once (the admin credentials \`fleet init\` wrote)`, { cause: error });
    const info = /already in use/i.test(errorMessage(error)) ? await streamInfo(jsm, spec.stream) : undefined;
    if (!info) throw error;
    return info;
  }
}

function isPermissionDenied(error: unknown): boolean {
  for (let current = error; current instanceof Error; current = current.cause) {
    if (current.name === 'PermissionViolationError' || /permissions violation/i.test(current.message)) return true;
  }
  return false;
}
