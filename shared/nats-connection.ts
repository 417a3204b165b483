import { readFile } from 'node:fs/promises';
import { connect, credsAuthenticator, nkeyAuthenticator, type Authenticator, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import { HostwrightError, InvalidInputError, errorMessage } from './errors.js';
import { sleep } from './sleep.js';
import { DESIRED_STREAM, desiredFeedConsumer, hostJetStreamPrefix } from './subjects.js';
import { ensureFleetStorage, setupFleetStorage, type StorageLimits, type StreamSetup } from './stream-replicas.js';

/** The oldest nats-server that can fsync before acknowledging (`sync_interval: always`). */
export const RECOMMENDED_SERVER_VERSION = '2.10.0';

/**
 * What an agent uses: JetStream as its NATS account reaches it. With the per-host accounts that
 * `fleet init` generates, that is through the host's imports (the API under its own prefix); on a
 * server without them (a local unsecured one), JetStream directly.
 */
export interface HostConnection {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  /** The server runs the per-host account layout. */
  readonly isolated: boolean;
  close(): Promise<void>;
}

/** What the coordinator uses: the buckets, the event stream and stream-level reads. */
export interface FleetConnection {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly desired: KV;
  readonly hosts: KV;
  readonly status: KV;
  readonly rollouts: KV;
  readonly hostctl: KV;
  /** The endpoint registry (docs/networking.md): hosts write it, the coordinator reads it. */
  readonly endpoints: KV;
  /** For stream-level reads (a bucket's key list from its stream's subjects) and host feeds. */
  readonly jsm: JetStreamManager;
  close(): Promise<void>;
}

/** Credentials and TLS for the NATS connection (all optional: a local unsecured server needs none). */
export interface NatsAccess {
  /** An nkey seed file (as `hostwright fleet init` writes) or a NATS .creds file (JWT + seed). */
  readonly credsFile?: string | undefined;
  readonly tls?: { readonly caFile?: string | undefined; readonly certFile?: string | undefined; readonly keyFile?: string | undefined } | undefined;
  /** Reply subjects start with this; a host's NATS user may subscribe only below its own. */
  readonly inboxPrefix?: string | undefined;
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
  readonly access?: NatsAccess;
  /** The coordinator's: the byte and age limits of the stream and buckets (default DEFAULT_STORAGE_LIMITS). */
  readonly storageLimits?: StorageLimits;
}

/**
 * The coordinator's connection: reconnect-forever with backoff, a warning when the server's
 * durability is weaker than recommended, and the buckets and the event stream created if missing.
 */
export async function connectFleet(options: ConnectOptions): Promise<FleetConnection> {
  const nc = await connectNats(options);
  try {
    const jsm = await retryUnanswered(() => jetstreamManager(nc, { timeout: options.timeoutMs ?? 5_000 }));
    const js = jetstream(nc, { timeout: options.timeoutMs ?? 5_000 });
    const { desired, hosts, status, rollouts, hostctl, endpoints } = await retryUnanswered(() => ensureFleetStorage(nc, jsm, js, options.storageLimits));
    return { nc, js, jsm, desired, hosts, status, rollouts, hostctl, endpoints, close: () => closeNats(nc) };
  } catch (error) {
    await nc.close();
    throw error;
  }
}

/**
 * `hostwright fleet setup`: connects (with credentials that may create and update streams, the admin
 * user's), creates or updates every stream and bucket to what Hostwright relies on, and disconnects.
 */
export async function setupFleet(options: ConnectOptions): Promise<StreamSetup[]> {
  const nc = await connectNats(options);
  try {
    const jsm = await retryUnanswered(() => jetstreamManager(nc, { timeout: options.timeoutMs ?? 5_000 }));
    return await retryUnanswered(() => setupFleetStorage(nc, jsm, options.storageLimits));
  } finally {
    await closeNats(nc);
  }
}

/**
 * An agent's connection. It creates nothing and checks no stream (a host's NATS user may not):
 * its desired-state feed says whether the coordinator has set the fleet up yet.
 */
export async function bindFleet(options: ConnectOptions & { readonly hostId: string }): Promise<HostConnection> {
  const nc = await connectNats(options);
  try {
    const timeout = options.timeoutMs ?? 5_000;
    const isolated = await reachesImportedApi(nc, options.hostId, timeout);
    const js = jetstream(nc, { timeout, checkAPI: false, ...(isolated ? { apiPrefix: hostJetStreamPrefix(options.hostId) } : {}) });
    return { nc, js, isolated, close: () => closeNats(nc) };
  } catch (error) {
    await nc.close();
    throw error;
  }
}

/**
 * Whether JetStream answers under the host's import prefix (the per-host account layout): any
 * JetStream answer counts, "consumer not found" too; no responder or a permission error means
 * the server has no such import.
 */
async function reachesImportedApi(nc: NatsConnection, hostId: string, timeout: number): Promise<boolean> {
  const probe = `${hostJetStreamPrefix(hostId)}.CONSUMER.INFO.${DESIRED_STREAM}.${desiredFeedConsumer(hostId)}`;
  try {
    await nc.request(probe, undefined, { timeout });
    return true;
  } catch (error) {
    const text = `${(error as { name?: string }).name ?? ''} ${errorMessage(error)} ${errorMessage((error as { cause?: unknown }).cause ?? '')}`;
    if (/no ?responders|503|permission/i.test(text)) return false;
    throw new HostwrightError(`cannot reach JetStream: ${errorMessage(error)}`, { cause: error });
  }
}

async function connectNats(options: ConnectOptions): Promise<NatsConnection> {
  const access = options.access ?? {};
  const authenticator = access.credsFile ? await authenticatorFrom(access.credsFile) : undefined;
  const tls = access.tls ? { ...(access.tls.caFile ? { caFile: access.tls.caFile } : {}), ...(access.tls.certFile ? { certFile: access.tls.certFile } : {}), ...(access.tls.keyFile ? { keyFile: access.tls.keyFile } : {}) } : undefined;
  const connectOptions: ConnectionOptions = {
    servers: options.servers.split(',').map((server) => server.trim()),
    name: options.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    reconnectJitter: 500,
    waitOnFirstConnect: options.waitOnFirstConnect,
    timeout: options.timeoutMs ?? 5_000,
    pingInterval: 5_000,
    maxPingOut: 2,
    // nats.js otherwise builds an Error (with a stack) for every request just in case it times out:
    // 3-4 % of a busy agent's CPU in the scale benchmark. Hostwright's errors say what failed anyway.
    noAsyncTraces: true,
    ...(authenticator ? { authenticator } : {}),
    ...(tls ? { tls } : {}),
    ...(access.inboxPrefix ? { inboxPrefix: access.inboxPrefix } : {}),
  };
  let nc: NatsConnection;
  try {
    nc = await connect(connectOptions);
  } catch (error) {
    throw new HostwrightError(`cannot connect to NATS at ${options.servers}: ${errorMessage(error)}${hintFor(error, access)}`, { cause: error });
  }
  if (options.warnWeakDurability !== false) warnOnWeakDurability(nc, options.logger);
  return nc;
}

function hintFor(error: unknown, access: NatsAccess): string {
  const text = `${(error as { name?: string }).name ?? ''} ${errorMessage(error)}`;
  if (/authori[sz]ation/i.test(text)) return access.credsFile ? `; the server refused the credentials in ${access.credsFile}` : '; the server wants credentials: pass --creds FILE (or set HOSTWRIGHT_CREDS)';
  if (/certificate|self.signed|tls/i.test(text)) return '; a TLS problem: pass the CA that signed the server\'s certificate with --tls-ca FILE';
  return '; is nats-server running (bash deploy/start-nats.sh)?';
}

/** A NATS .creds file (JWT + seed) or a bare nkey user seed. */
async function authenticatorFrom(file: string): Promise<Authenticator> {
  const { text, seed } = await readCredentials(file);
  if (text.includes('BEGIN NATS USER JWT')) return credsAuthenticator(new TextEncoder().encode(text));
  return nkeyAuthenticator(new TextEncoder().encode(seed));
}

/**
 * The user seed in a credentials file: the nkey seed `fleet init` writes, or the seed block of a
 * NATS .creds file. An agent signs what it publishes with it.
 */
export async function readCredentials(file: string): Promise<{ readonly text: string; readonly seed: string }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new InvalidInputError(`cannot read credentials ${file}: ${errorMessage(error)}`, { cause: error });
  }
  const seed = text.split('\n').map((line) => line.trim()).find((line) => /^SU[A-Z2-7]+$/.test(line));
  if (!seed) throw new InvalidInputError(`credentials ${file}: expected an nkey user seed (a line starting with "SU") or a NATS .creds file`);
  return { text, seed };
}

async function closeNats(nc: NatsConnection): Promise<void> {
  await nc.drain().catch(() => nc.close());
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

/** Tries after a timeout: attempts in all, and which errors count as one. */
export interface RetryOptions {
  readonly attempts?: number;
  readonly retryable?: (error: unknown) => boolean;
}

/**
 * Runs a JetStream operation again when NATS does not answer it (see isUnanswered). Right after a
 * cluster node dies, requests time out or find no responder while leaders are elected, and a new
 * ephemeral consumer may be placed on the dead peer; a second try is placed anew. Other errors
 * are thrown at once.
 */
export async function retryUnanswered<T>(operation: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 4;
  const retryable = options.retryable ?? isUnanswered;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await operation();
    } catch (error) {
      if (attempt >= attempts || !retryable(error)) throw error;
      await sleep(250 * attempt);
    }
  }
}

/**
 * A request NATS did not answer: a timeout, or no responder at all (a JetStream request to a
 * stream between leaders, which nats.js reports as JetStreamNotEnabled), also when wrapped as
 * another error's cause. Both are what a cluster shows while it elects leaders after a node died.
 */
export function isUnanswered(error: unknown): boolean {
  for (let current = error; current instanceof Error; current = current.cause) {
    if (current.name === 'TimeoutError' || current.name === 'JetStreamNotEnabled') return true;
  }
  return false;
}
