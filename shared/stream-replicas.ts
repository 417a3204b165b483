import type { NatsConnection, ServerInfo } from '@nats-io/transport-node';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
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

/** Creates (or binds to, when they exist with the same settings) the event stream and the KV buckets. */
export async function ensureFleetStorage(nc: NatsConnection, jsm: JetStreamManager, js: JetStreamClient): Promise<FleetBuckets> {
  const replicas = replicasFor(nc.info);
  try {
    await jsm.streams.info(EVENTS_STREAM);
  } catch {
    await jsm.streams.add({ name: EVENTS_STREAM, subjects: [EVENTS_SUBJECTS], duplicate_window: EVENTS_DUPLICATE_WINDOW_NS, max_age: 30 * 24 * 3600 * 1_000_000_000, num_replicas: replicas, deny_delete: true, deny_purge: true });
  }
  const kvm = new Kvm(js);
  // Direct gets only where there is one copy: on a cluster they are answered by any replica, and
  // a follower can answer with an old value (nats-server 2.9 did so for minutes after a node's
  // restart, nats-io/nats-server#4162). The compare-and-set writes of desired state and the
  // rollout's health gate need the latest value, so a cluster's reads go to the stream leader.
  const allow_direct = replicas === 1;
  const [desired, hosts, status, rollouts] = await Promise.all([
    kvm.create(BUCKETS.desired, { history: DESIRED_HISTORY, replicas, allow_direct }),
    kvm.create(BUCKETS.hosts, { history: 1, replicas, allow_direct }),
    kvm.create(BUCKETS.status, { history: 1, replicas, allow_direct }),
    kvm.create(BUCKETS.rollouts, { history: 8, replicas, allow_direct }),
  ]);
  await Promise.all([...[BUCKETS.hosts, BUCKETS.status].map((bucket) => tighten(jsm, `KV_${bucket}`, { allow_rollup_hdrs: false })), tighten(jsm, EVENTS_STREAM, { deny_delete: true, deny_purge: true })]);
  return { desired, hosts, status, rollouts };
}

/**
 * Hosts write their own keys and events: a `Nats-Rollup: all` header on a key write would purge
 * every other host's entry, so those buckets refuse rollups (KV puts never send one), and nobody
 * deletes or purges events (age and size limits still apply). Streams made without these
 * settings get them.
 */
async function tighten(jsm: JetStreamManager, stream: string, settings: { allow_rollup_hdrs?: false; deny_delete?: true; deny_purge?: true }): Promise<void> {
  const info = await jsm.streams.info(stream);
  const loose = Object.entries(settings).some(([name, value]) => (info.config as unknown as Record<string, unknown>)[name] !== value);
  if (loose) await jsm.streams.update(stream, { ...info.config, ...settings });
}
