import type { NatsConnection, ServerInfo } from '@nats-io/transport-node';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { parseByteSize } from './byte-size.js';
import { parseDurationMs } from './duration.js';
import { InvalidInputError } from './errors.js';
import { BUCKETS, DESIRED_HISTORY, EVENTS_DUPLICATE_WINDOW_NS, EVENTS_STREAM, EVENTS_SUBJECTS } from './subjects.js';

/** R3 survives the loss of one node; more copies cost writes without a gain for a fleet's control plane. */
export const CLUSTER_REPLICAS = 3;

export interface FleetBuckets {
  readonly desired: KV;
  readonly hosts: KV;
  readonly status: KV;
  readonly rollouts: KV;
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
}

const MIB = 2 ** 20;

/** Sized for about a thousand hosts (docs/fleet.md says how to size them): 1.9 GiB in all, per replica. */
export const DEFAULT_STORAGE_LIMITS: StorageLimits = {
  eventsMaxBytes: 1024 * MIB,
  eventsMaxAgeMs: 30 * 24 * 3600 * 1000,
  desiredMaxBytes: 512 * MIB,
  hostsMaxBytes: 32 * MIB,
  statusMaxBytes: 256 * MIB,
  rolloutsMaxBytes: 64 * MIB,
};

/** The names HOSTWRIGHT_STORAGE_LIMITS takes, by limit. */
const LIMIT_NAMES: Record<string, keyof StorageLimits> = { events: 'eventsMaxBytes', 'events-age': 'eventsMaxAgeMs', desired: 'desiredMaxBytes', hosts: 'hostsMaxBytes', status: 'statusMaxBytes', rollouts: 'rolloutsMaxBytes' };

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
 * Creates (or binds to) the event stream and the KV buckets, with their byte limits (and the
 * stream's age limit). One that exists with no limit, or a looser one, gets the limit; a tighter
 * limit set by hand is kept.
 */
export async function ensureFleetStorage(nc: NatsConnection, jsm: JetStreamManager, js: JetStreamClient, limits: StorageLimits = DEFAULT_STORAGE_LIMITS): Promise<FleetBuckets> {
  const replicas = replicasFor(nc.info);
  const eventsMaxAgeNs = limits.eventsMaxAgeMs * 1_000_000;
  try {
    await jsm.streams.info(EVENTS_STREAM);
  } catch {
    // Discard old (the default): past a limit the oldest events go, the newest are always taken.
    await jsm.streams.add({ name: EVENTS_STREAM, subjects: [EVENTS_SUBJECTS], duplicate_window: EVENTS_DUPLICATE_WINDOW_NS, max_age: eventsMaxAgeNs, max_bytes: limits.eventsMaxBytes, num_replicas: replicas, deny_delete: true, deny_purge: true });
  }
  const kvm = new Kvm(js);
  // Direct gets only where there is one copy: on a cluster they are answered by any replica, and
  // a follower can answer with an old value (nats-server 2.9 did so for minutes after a node's
  // restart, nats-io/nats-server#4162). The compare-and-set writes of desired state and the
  // rollout's health gate need the latest value, so a cluster's reads go to the stream leader.
  const allow_direct = replicas === 1;
  // A KV bucket discards new (nats.js sets it): a full one refuses the write rather than drop a key's only value.
  const [desired, hosts, status, rollouts] = await Promise.all([
    kvm.create(BUCKETS.desired, { history: DESIRED_HISTORY, replicas, allow_direct, max_bytes: limits.desiredMaxBytes }),
    kvm.create(BUCKETS.hosts, { history: 1, replicas, allow_direct, max_bytes: limits.hostsMaxBytes }),
    kvm.create(BUCKETS.status, { history: 1, replicas, allow_direct, max_bytes: limits.statusMaxBytes }),
    kvm.create(BUCKETS.rollouts, { history: 8, replicas, allow_direct, max_bytes: limits.rolloutsMaxBytes }),
  ]);
  await Promise.all([
    tighten(jsm, `KV_${BUCKETS.desired}`, {}, { max_bytes: limits.desiredMaxBytes }),
    tighten(jsm, `KV_${BUCKETS.hosts}`, { allow_rollup_hdrs: false }, { max_bytes: limits.hostsMaxBytes }),
    tighten(jsm, `KV_${BUCKETS.status}`, { allow_rollup_hdrs: false }, { max_bytes: limits.statusMaxBytes }),
    tighten(jsm, `KV_${BUCKETS.rollouts}`, {}, { max_bytes: limits.rolloutsMaxBytes }),
    tighten(jsm, EVENTS_STREAM, { deny_delete: true, deny_purge: true }, { max_bytes: limits.eventsMaxBytes, max_age: eventsMaxAgeNs }),
  ]);
  return { desired, hosts, status, rollouts };
}

/**
 * Hosts write their own keys and events: a `Nats-Rollup: all` header on a key write would purge
 * every other host's entry, so those buckets refuse rollups (KV puts never send one), and nobody
 * deletes or purges events (age and size limits still apply). Streams made without these
 * settings get them, and a limit (0 or -1: none) looser than the wanted one is lowered to it.
 */
async function tighten(jsm: JetStreamManager, stream: string, settings: { allow_rollup_hdrs?: false; deny_delete?: true; deny_purge?: true }, limits: { max_bytes?: number; max_age?: number }): Promise<void> {
  const info = await jsm.streams.info(stream);
  const config = info.config as unknown as Record<string, unknown>;
  const changes: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(settings)) if (config[name] !== value) changes[name] = value;
  for (const [name, value] of Object.entries(limits)) {
    const current = Number(config[name] ?? 0);
    if (current <= 0 || current > value) changes[name] = value;
  }
  if (Object.keys(changes).length > 0) await jsm.streams.update(stream, { ...info.config, ...changes });
}
