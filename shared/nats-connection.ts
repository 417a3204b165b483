import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import { HostwrightError, errorMessage } from './errors.js';
import { ensureFleetStorage } from './stream-replicas.js';

/** The oldest nats-server that can fsync before acknowledging (`sync_interval: always`). */
export const RECOMMENDED_SERVER_VERSION = '2.10.0';

export interface FleetConnection {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly desired: KV;
  readonly hosts: KV;
  readonly status: KV;
  readonly rollouts: KV;
  close(): Promise<void>;
}

export interface ConnectOptions {
  readonly servers: string;
  /** Shown in the server's connection list. */
  readonly name: string;
  readonly logger: Logger;
  /** Keep trying until the first connect succeeds (an agent), or fail fast (a CLI command). */
  readonly waitOnFirstConnect: boolean;
  readonly timeoutMs?: number;
  /** Agents warn once at start; one-shot CLI commands stay quiet. */
  readonly warnWeakDurability?: boolean;
}

/**
 * Connects with reconnect-forever and backoff, warns when the server's durability is weaker than
 * recommended, and makes sure the buckets and the event stream exist.
 */
export async function connectFleet(options: ConnectOptions): Promise<FleetConnection> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: options.servers.split(',').map((server) => server.trim()),
      name: options.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      reconnectJitter: 500,
      waitOnFirstConnect: options.waitOnFirstConnect,
      timeout: options.timeoutMs ?? 5_000,
      pingInterval: 5_000,
      maxPingOut: 2,
    });
  } catch (error) {
    throw new HostwrightError(`cannot connect to NATS at ${options.servers}: ${errorMessage(error)}; is nats-server running (bash deploy/start-nats.sh)?`, { cause: error });
  }
  if (options.warnWeakDurability !== false) warnOnWeakDurability(nc, options.logger);
  const jsm = await jetstreamManager(nc, { timeout: options.timeoutMs ?? 5_000 });
  const js = jetstream(nc, { timeout: options.timeoutMs ?? 5_000 });
  const { desired, hosts, status, rollouts } = await ensureFleetStorage(nc, jsm, js);
  return {
    nc,
    js,
    desired,
    hosts,
    status,
    rollouts,
    close: async () => {
      await nc.drain().catch(() => nc.close());
    },
  };
}

function warnOnWeakDurability(nc: NatsConnection, logger: Logger): void {
  const version = nc.info?.version ?? '0.0.0';
  if (compareVersions(version, RECOMMENDED_SERVER_VERSION) < 0) {
    logger.warn({ serverVersion: version, recommended: RECOMMENDED_SERVER_VERSION }, `nats-server ${version} cannot fsync before acknowledging (jetstream sync_interval: always needs >= ${RECOMMENDED_SERVER_VERSION}); acknowledged writes can be lost if the server's OS crashes`);
  }
}

export function compareVersions(a: string, b: string): number {
  const parse = (text: string) => text.split(/[.-]/).slice(0, 3).map((part) => Number.parseInt(part, 10) || 0);
  const [pa, pb] = [parse(a), parse(b)];
  for (let i = 0; i < 3; i += 1) {
    const delta = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (delta !== 0) return delta;
  }
  return 0;
}
