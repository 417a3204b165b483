import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { pino } from 'pino';
import { EndpointView } from '../agent/fleet/endpoint-registry.js';
import { FleetClient } from '../coordinator/fleet-client.js';
import { encode } from '../shared/codec.js';
import type { EndpointRecord } from '../shared/endpoint-record.js';
import { desired } from '../test/lib/builders.js';
import { sealReport } from '../shared/host-report.js';
import { signingKeyOf } from '../shared/signed-document.js';
import { BUCKETS, endpointKey, hostInboxPrefix, kvKeySubject } from '../shared/subjects.js';
import { startNatsServer } from '../test/lib/nats-server.js';
import { median, percentile, round } from './stats.js';
import { benchService, progress, throwIfInterrupted } from './support.js';

/** Latency figures of one series, in ms. */
export interface Latency {
  readonly median: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

function latency(samples: readonly number[]): Latency {
  return { median: round(median(samples)), p95: round(percentile(samples, 95)), p99: round(percentile(samples, 99)), max: round(Math.max(...samples)) };
}

export interface EndpointsOptions {
  /** Hosts that read the service's endpoints (each its own NATS connection with its own credentials). */
  readonly readers: number;
  /** Endpoint changes published, one at a time. */
  readonly changes: number;
}

/**
 * Endpoint propagation through the registry: a host puts a changed record (a new healthy instance)
 * and every reader's EndpointView (verifying signature and placement) reports the change. Beside
 * it, in the same run and for the same puts, NATS's own KV watch latency (an ordered consumer of
 * the bucket in the fleet account): the floor the registry adds to.
 */
export interface EndpointsResult {
  readonly benchmark: 'endpoints';
  readonly readers: number;
  readonly changes: number;
  /** Put to the last reader's change event, per change. */
  readonly registry_all_readers_ms: Latency;
  /** Put to one reader's change event (every reader, every change). */
  readonly registry_per_reader_ms: Latency;
  /** Put to the KV watch's delivery, per change. */
  readonly kv_watch_ms: Latency;
  readonly record_bytes: number;
}

const CLI = fileURLToPath(new URL('../cli/hostwright.js', import.meta.url));

async function fleetInit(dir: string, hosts: readonly string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'fleet', 'init', '--dir', dir, ...hosts.flatMap((host) => ['--host', host])], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`fleet init exited ${code}`))));
  });
}

export async function runEndpoints(options: EndpointsOptions): Promise<EndpointsResult> {
  const publisher = 'ep-pub';
  const readers = Array.from({ length: options.readers }, (_, i) => `ep-r${i + 1}`);
  const dir = await mkdtemp(join(tmpdir(), 'hw-bench-endpoints-'));
  const open: NatsConnection[] = [];
  const views: EndpointView[] = [];
  await fleetInit(dir, [publisher, ...readers]);
  const nats = await startNatsServer({ include: join(dir, 'accounts.conf') });
  let client: FleetClient | undefined;
  try {
    client = await FleetClient.connect(nats.url, pino({ level: 'silent' }), { credsFile: join(dir, 'coordinator.nk') });
    const seedOf = async (hostId: string) => (await readFile(join(dir, 'hosts', `${hostId}.nk`), 'utf8')).trim();
    const connectAs = async (hostId: string) => {
      const nc = await connect({ servers: nats.url, authenticator: nkeyAuthenticator(new TextEncoder().encode(await seedOf(hostId))), inboxPrefix: hostInboxPrefix(hostId) });
      open.push(nc);
      return nc;
    };
    const key = signingKeyOf(new TextEncoder().encode(await seedOf(publisher)));
    const project = 'bench';
    const placement = { api: { [publisher]: { key: key.publicKey } } };
    const seen = new Map<number, number[]>();
    let current = 0;
    for (const reader of readers) {
      const view = new EndpointView(await connectAs(reader), reader);
      view.on('change', () => {
        const at = performance.now();
        const instances = view.resolve(project, 'api').length;
        if (instances === current) seen.set(current, [...(seen.get(current) ?? []), at]);
      });
      view.setDesired([desired(project, { web: benchService() }, { hostId: reader, remotes: placement })]);
      views.push(view);
    }
    for (const nc of open) await nc.flush();
    const watched = new Map<number, number>();
    const watch = await client.connection.endpoints.watch({ key: endpointKey(publisher, project, 'api'), include: 'updates' as never });
    void (async () => {
      for await (const entry of watch) {
        if (entry.value.length > 0) watched.set(entry.revision, performance.now());
      }
    })();
    const js = jetstream(await connectAs(publisher), { checkAPI: false });
    const putAt = new Map<number, { at: number; revision: number }>();
    let recordBytes = 0;
    const allReaders: number[] = [];
    const perReader: number[] = [];
    const kvWatch: number[] = [];
    for (let change = 1; change <= options.changes; change += 1) {
      throwIfInterrupted();
      // Instances alternate between 1 and 2 (an instance becomes healthy, then leaves): each put changes what readers resolve.
      current = change % 2 === 1 ? 2 : 1;
      seen.delete(current);
      const record: EndpointRecord = { hostId: publisher, project, service: 'api', instances: Array.from({ length: current }, (_, i) => ({ name: `bench-api-${i + 1}`, instance: i + 1, addresses: { default: `10.64.32.${i + 2}` }, ports: [] })), refreshedAt: new Date().toISOString() };
      const bytes = sealReport(encode(record), key);
      recordBytes = bytes.length;
      const at = performance.now();
      const ack = await js.publish(kvKeySubject(BUCKETS.endpoints, endpointKey(publisher, project, 'api')), bytes);
      putAt.set(change, { at, revision: ack.seq });
      const deadline = Date.now() + 10_000;
      while (((seen.get(current)?.length ?? 0) < readers.length || !watched.has(ack.seq)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 1));
      const times = seen.get(current) ?? [];
      if (times.length < readers.length || !watched.has(ack.seq)) throw new Error(`change ${change}: ${times.length}/${readers.length} readers and ${watched.has(ack.seq) ? 'the' : 'no'} KV watch saw it within 10 s`);
      allReaders.push(Math.max(...times) - at);
      perReader.push(...times.map((time) => time - at));
      kvWatch.push((watched.get(ack.seq) as number) - at);
      if (change % 10 === 0) progress(`endpoints: ${change}/${options.changes}`);
    }
    watch.stop();
    return { benchmark: 'endpoints', readers: options.readers, changes: options.changes, registry_all_readers_ms: latency(allReaders), registry_per_reader_ms: latency(perReader), kv_watch_ms: latency(kvWatch), record_bytes: recordBytes };
  } finally {
    for (const view of views) view.close();
    for (const nc of open) await nc.close().catch(() => undefined);
    await client?.close();
    await nats.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

export function endpointsRows(result: EndpointsResult): [string, string][] {
  const line = (summary: Latency) => `median ${summary.median.toFixed(2)} ms, p95 ${summary.p95.toFixed(2)} ms, p99 ${summary.p99.toFixed(2)} ms, max ${summary.max.toFixed(2)} ms`;
  return [
    ['readers / changes / record bytes', `${result.readers} / ${result.changes} / ${result.record_bytes}`],
    ['put -> every reader resolves it (registry)', line(result.registry_all_readers_ms)],
    ['put -> one reader resolves it (registry)', line(result.registry_per_reader_ms)],
    ['put -> KV watch delivers it (NATS, baseline)', line(result.kv_watch_ms)],
  ];
}
