import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { Logger } from 'pino';
import { decode } from '../../shared/codec.js';
import type { DashboardEvent } from '../../shared/dashboard-api.js';
import { errorMessage } from '../../shared/errors.js';
import { keysWithin, type FleetClient, type StreamEvent } from '../fleet-client.js';
import { rolloutStateSchema } from '../rollout/rollout-state.js';
import type { FleetModel } from './fleet-model.js';
import type { LiveHub } from './live-hub.js';

/** How far back the events stream is read at start: enough for every host's last cycles. */
export const EVENTS_LOOKBACK_MS = 15 * 60_000;
/** How long the start waits for the watches to deliver every key's current value. */
const INITIAL_LOAD_MS = 10_000;

/** A fleet event as `events --json` prints a line. */
export function eventLine(item: Extract<StreamEvent, { event: unknown }>): DashboardEvent {
  return { schema: 'hostwright.event/v1', ...item.event, trust: item.trust.verdict === 'verified' ? 'verified' : 'unverified' };
}

/**
 * Feeds the model from NATS: one KV watch per bucket (hosts, status, hostctl, rollouts: each key's
 * current value, then every change) and one ordered consumer of the events stream. Nothing polls
 * the hosts. Resolves once the watches delivered the current values (or INITIAL_LOAD_MS passed);
 * everything runs until `signal` aborts.
 */
export async function startFleetFeeds(client: FleetClient, model: FleetModel, hub: LiveHub, logger: Logger, signal: AbortSignal): Promise<void> {
  const { connection } = client;
  const watched = [
    {
      bucket: 'hosts' as const,
      kv: connection.hosts,
      apply: (entry: KvWatchEntry) => {
        model.setRegistration(entry.key, entry.operation === 'PUT' ? client.openRegistration(entry.value, entry.key) : undefined);
        hub.hostsChanged();
      },
    },
    {
      bucket: 'status' as const,
      kv: connection.status,
      apply: (entry: KvWatchEntry) => {
        model.setStatus(entry.key, entry.operation === 'PUT' ? client.openStatus(entry.value, entry.key) : undefined);
        hub.hostsChanged();
      },
    },
    {
      bucket: 'hostctl' as const,
      kv: connection.hostctl,
      apply: (entry: KvWatchEntry) => {
        let control;
        try {
          control = entry.operation === 'PUT' ? client.openHostControl(entry.value, entry.key) : undefined;
        } catch (error) {
          // A control that fails its checks says nothing about the host: shown as none, and logged.
          logger.warn({ hostId: entry.key, err: errorMessage(error) }, 'host control refused');
        }
        model.setControl(entry.key, control);
        hub.hostsChanged();
      },
    },
    {
      bucket: 'rollouts' as const,
      kv: connection.rollouts,
      apply: (entry: KvWatchEntry) => {
        let state;
        try {
          state = entry.operation === 'PUT' ? decode(rolloutStateSchema, entry.value, `rollout ${entry.key}`) : undefined;
        } catch (error) {
          logger.warn({ rollout: entry.key, err: errorMessage(error) }, 'rollout unreadable');
        }
        if (model.setRollout(entry.key, state)) hub.rolloutChanged(entry.key);
      },
    },
  ];
  const watches = await Promise.all(watched.map(async ({ bucket, kv, apply }) => watchBucket(kv, (await keysWithin(connection, bucket)).length, apply, logger, signal)));
  void followEvents(client, model, hub, logger, signal);
  await Promise.race([Promise.all(watches.map((watch) => watch.loaded)), new Promise((resolve) => setTimeout(resolve, INITIAL_LOAD_MS).unref())]);
}

/** Watches a bucket until `signal` aborts; `loaded` resolves once `keys` values arrived (the current ones, or newer). */
async function watchBucket(kv: KV, keys: number, apply: (entry: KvWatchEntry) => void, logger: Logger, signal: AbortSignal): Promise<{ loaded: Promise<void> }> {
  const watcher = await kv.watch();
  signal.addEventListener('abort', () => watcher.stop(), { once: true });
  let seen = 0;
  let loaded: () => void = () => undefined;
  const initial = new Promise<void>((resolve) => (loaded = resolve));
  if (keys === 0) loaded();
  void (async () => {
    for await (const entry of watcher) {
      try {
        apply(entry);
      } catch (error) {
        logger.warn({ key: entry.key, err: errorMessage(error) }, 'watched value not applied');
      }
      if ((seen += 1) >= keys) loaded();
    }
  })().catch((error: unknown) => logger.error({ err: errorMessage(error) }, 'KV watch ended'));
  return { loaded: initial };
}

/** The one ordered consumer of the events stream: every event feeds the hosts' cycles and goes to the pages. */
async function followEvents(client: FleetClient, model: FleetModel, hub: LiveHub, logger: Logger, signal: AbortSignal): Promise<void> {
  try {
    await client.events({ follow: true, since: new Date(Date.now() - EVENTS_LOOKBACK_MS), signal }, (item) => {
      if ('refused' in item) return;
      model.addEvent(item.event);
      hub.hostsChanged();
      hub.event(eventLine(item));
    });
  } catch (error) {
    if (!signal.aborted) logger.error({ err: errorMessage(error) }, 'events stream ended');
  }
}
