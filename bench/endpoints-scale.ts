import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { pino } from 'pino';
import { ENDPOINT_REFRESH_MS } from '../agent/fleet/endpoint-publisher.js';
import { FleetClient } from '../coordinator/fleet-client.js';
import { encode } from '../shared/codec.js';
import type { EndpointRecord } from '../shared/endpoint-record.js';
import { sealReport } from '../shared/host-report.js';
import { signingKeyOf, type DocumentSigningKey } from '../shared/signed-document.js';
import { BUCKETS, endpointKey, endpointsFeedSubject, hostInboxPrefix, kvKeySubject } from '../shared/subjects.js';
import { startNatsServer, type NatsServerHandle } from '../test/lib/nats-server.js';
import { round } from './stats.js';
import { progress, runPool, throwIfInterrupted } from './support.js';

export interface EndpointsScaleOptions {
  /** Hollow hosts: each its own account, credentials and NATS connection, as a real agent. */
  readonly hosts: number;
  /** Services of the one project spread over all hosts; host i runs service i mod S. */
  readonly services: number;
  /** Endpoint changes measured one at a time, refresh paused. */
  readonly changes: number;
  /** Seconds of steady refresh measured (and of the idle baseline before it). */
  readonly seconds: number;
}

/** Central cost over an interval, from nats-server's /varz and /proc/<pid>/stat. */
export interface CentralCost {
  readonly msgs_in: number;
  readonly msgs_out: number;
  readonly bytes_in: number;
  readonly bytes_out: number;
  /** nats-server CPU time, ms. */
  readonly cpu_ms: number;
}

/**
 * The endpoint registry's cost with H hollow hosts, each with its own account and credentials
 * (`fleet init`'s accounts file), so puts cross the accounts as in a real fleet. A project of S
 * services is spread over every host (host i runs service i mod S and needs service i+1 mod S:
 * it subscribes to that service's endpoint keys only, as EndpointView does). Measured: messages,
 * bytes and nats-server CPU per endpoint change (one host puts a changed record; every host that
 * needs the service gets it), per second of steady refresh (every host re-puts its record each
 * ENDPOINT_REFRESH_MS), and an idle baseline of the same connected fleet over the same time.
 */
export interface EndpointsScaleResult {
  readonly benchmark: 'endpoints-scale';
  readonly hosts: number;
  readonly services: number;
  /** Hosts that subscribe to each endpoint key (the hosts needing its service). */
  readonly watchers_per_key: number;
  readonly record_bytes: number;
  readonly refresh_ms: number;
  readonly per_change: CentralCost & { readonly changes: number; readonly deliveries: number };
  readonly steady_per_s: CentralCost & { readonly seconds: number; readonly puts: number; readonly deliveries: number; readonly nats_cpu_percent: number };
  readonly idle_per_s: CentralCost & { readonly seconds: number; readonly nats_cpu_percent: number };
  /**
   * Steady refresh per put the server took in (msgs_in): the cost of one refresh, whatever rate the
   * load generator reached (one process on a loaded machine may fall short of H puts per period).
   */
  readonly steady_per_put: CentralCost;
  /** Puts per second the refresh period asks for: H / ENDPOINT_REFRESH_MS. */
  readonly target_puts_per_s: number;
  /** A host's inbound endpoint traffic in steady refresh. */
  readonly per_host_msgs_per_s: number;
}

const CLI = fileURLToPath(new URL('../cli/hostwright.js', import.meta.url));
const TICKS_PER_S = 100;

async function fleetInit(dir: string, hosts: readonly string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'fleet', 'init', '--dir', dir, ...hosts.flatMap((host) => ['--host', host])], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`fleet init exited ${code}`))));
  });
}

interface Sample {
  readonly at: number;
  readonly msgsIn: number;
  readonly msgsOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly ticks: number;
}

async function sample(nats: NatsServerHandle): Promise<Sample> {
  const varz = (await (await fetch(`${nats.monitorUrl}/varz`)).json()) as { in_msgs: number; out_msgs: number; in_bytes: number; out_bytes: number };
  const stat = await readFile(`/proc/${nats.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { at: performance.now(), msgsIn: varz.in_msgs, msgsOut: varz.out_msgs, bytesIn: varz.in_bytes, bytesOut: varz.out_bytes, ticks: Number(fields[11] ?? 0) + Number(fields[12] ?? 0) };
}

function cost(before: Sample, after: Sample, per: number): CentralCost {
  const of = (value: number) => round(value / per, 1);
  return { msgs_in: of(after.msgsIn - before.msgsIn), msgs_out: of(after.msgsOut - before.msgsOut), bytes_in: of(after.bytesIn - before.bytesIn), bytes_out: of(after.bytesOut - before.bytesOut), cpu_ms: round(((after.ticks - before.ticks) * (1000 / TICKS_PER_S)) / per, 3) };
}

function perPut(steady: CentralCost): CentralCost {
  const puts = Math.max(steady.msgs_in, 1);
  return { msgs_in: 1, msgs_out: round(steady.msgs_out / puts, 1), bytes_in: round(steady.bytes_in / puts, 1), bytes_out: round(steady.bytes_out / puts, 1), cpu_ms: round(steady.cpu_ms / puts, 3) };
}

interface Hollow {
  readonly hostId: string;
  readonly service: string;
  readonly key: DocumentSigningKey;
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runEndpointsScale(options: EndpointsScaleOptions): Promise<EndpointsScaleResult> {
  const services = Math.min(options.services, options.hosts);
  const hostIds = Array.from({ length: options.hosts }, (_, i) => `es${String(i + 1).padStart(5, '0')}`);
  const serviceOf = (index: number) => `svc${index % services}`;
  const project = 'scale';
  const dir = await mkdtemp(join(tmpdir(), 'hw-bench-endpoints-scale-'));
  const hollows: Hollow[] = [];
  let nats: NatsServerHandle | undefined;
  let client: FleetClient | undefined;
  try {
    progress(`endpoints-scale: fleet init of ${options.hosts} hosts`);
    await fleetInit(dir, hostIds);
    // One account per host: loading a thousand takes the server tens of seconds on a loaded machine.
    nats = await startNatsServer({ include: join(dir, 'accounts.conf'), readyTimeoutMs: 180_000 });
    // The coordinator creates the bucket (and its republish to the hosts' feed).
    client = await FleetClient.connect(nats.url, pino({ level: 'silent' }), { credsFile: join(dir, 'coordinator.nk') });
    progress(`endpoints-scale: connecting ${options.hosts} hosts`);
    let deliveries = 0;
    const natsUrl = nats.url;
    await runPool(hostIds, 16, async (hostId, index) => {
      const seed = new TextEncoder().encode((await readFile(join(dir, 'hosts', `${hostId}.nk`), 'utf8')).trim());
      const nc = await connect({ servers: natsUrl, authenticator: nkeyAuthenticator(seed), inboxPrefix: hostInboxPrefix(hostId) });
      // The one service this host needs: its scoped watch, the subscription EndpointView makes.
      nc.subscribe(endpointsFeedSubject(project, serviceOf(index + 1)), {
        callback: (error, msg) => {
          if (error) return;
          if (msg.data.length > 0) deliveries += 1;
        },
      });
      hollows[index] = { hostId, service: serviceOf(index), key: signingKeyOf(seed), nc, js: jetstream(nc, { checkAPI: false }) };
    });
    for (const hollow of hollows) await hollow.nc.flush();
    const watchersPerKey = hostIds.filter((_, i) => serviceOf(i + 1) === serviceOf(0)).length;
    let generation = 0;
    const recordOf = (hollow: Hollow, index: number): Uint8Array => {
      const record: EndpointRecord = { hostId: hollow.hostId, project, service: hollow.service, instances: [{ name: `${project}-${hollow.service}-1`, instance: 1, addresses: { default: `10.64.${Math.floor(index / 250)}.${(index % 250) + 2}` }, ports: [{ port: 8080 + (generation % 1000), protocol: 'tcp' }] }], refreshedAt: new Date().toISOString() };
      return sealReport(encode(record), hollow.key);
    };
    const put = async (hollow: Hollow, index: number) => {
      await hollow.js.publish(kvKeySubject(BUCKETS.endpoints, endpointKey(hollow.hostId, project, hollow.service)), recordOf(hollow, index));
    };
    // Every host's first record, so the bucket holds the fleet's endpoints before anything is measured.
    await runPool(hollows, 64, (hollow, index) => put(hollow, index));
    const recordBytes = recordOf(hollows[0]!, 0).length;
    await sleep(1_000);

    // Idle baseline: the same connected, subscribed fleet with no puts.
    progress(`endpoints-scale: idle baseline, ${options.seconds} s`);
    const idleBefore = await sample(nats);
    await sleep(options.seconds * 1000);
    const idleAfter = await sample(nats);
    const idleSeconds = (idleAfter.at - idleBefore.at) / 1000;

    // Changes, one at a time: a host puts a changed record; wait until every host needing the service has it.
    progress(`endpoints-scale: ${options.changes} endpoint changes`);
    const changeBefore = await sample(nats);
    const deliveriesBefore = deliveries;
    for (let change = 0; change < options.changes; change += 1) {
      throwIfInterrupted();
      generation += 1;
      const index = change % hollows.length;
      const expected = deliveries + watchersPerKey;
      await put(hollows[index]!, index);
      const deadline = Date.now() + 10_000;
      while (deliveries < expected && Date.now() < deadline) await sleep(1);
      if (deliveries < expected) throw new Error(`change ${change + 1}: ${watchersPerKey - (expected - deliveries)}/${watchersPerKey} watching hosts got it within 10 s`);
    }
    const changeAfter = await sample(nats);
    const changeDeliveries = deliveries - deliveriesBefore;

    // Steady refresh: every host re-puts its record every ENDPOINT_REFRESH_MS, start times spread over one period.
    progress(`endpoints-scale: steady refresh, ${options.seconds} s`);
    let puts = 0;
    let failed = 0;
    const timers: NodeJS.Timeout[] = [];
    const starts: NodeJS.Timeout[] = [];
    hollows.forEach((hollow, index) => {
      starts.push(setTimeout(() => {
        timers.push(setInterval(() => {
          puts += 1;
          put(hollow, index).catch(() => (failed += 1));
        }, ENDPOINT_REFRESH_MS));
      }, (index / hollows.length) * ENDPOINT_REFRESH_MS));
    });
    await sleep(ENDPOINT_REFRESH_MS * 2);
    const steadyBefore = await sample(nats);
    const putsBefore = puts;
    const steadyDeliveriesBefore = deliveries;
    await sleep(options.seconds * 1000);
    const steadyAfter = await sample(nats);
    const steadyPuts = puts - putsBefore;
    const steadyDeliveries = deliveries - steadyDeliveriesBefore;
    for (const timer of [...starts, ...timers]) clearTimeout(timer);
    if (failed > 0) progress(`endpoints-scale: ${failed} refresh put(s) failed`);
    const steadySeconds = (steadyAfter.at - steadyBefore.at) / 1000;
    const idle = cost(idleBefore, idleAfter, idleSeconds);
    const steady = cost(steadyBefore, steadyAfter, steadySeconds);
    return {
      benchmark: 'endpoints-scale',
      hosts: options.hosts,
      services,
      watchers_per_key: watchersPerKey,
      record_bytes: recordBytes,
      refresh_ms: ENDPOINT_REFRESH_MS,
      per_change: { ...cost(changeBefore, changeAfter, options.changes), changes: options.changes, deliveries: round(changeDeliveries / options.changes, 1) },
      steady_per_s: { ...steady, seconds: round(steadySeconds, 1), puts: round(steadyPuts / steadySeconds, 1), deliveries: round(steadyDeliveries / steadySeconds, 1), nats_cpu_percent: round(steady.cpu_ms / 10, 1) },
      idle_per_s: { ...idle, seconds: round(idleSeconds, 1), nats_cpu_percent: round(idle.cpu_ms / 10, 1) },
      steady_per_put: perPut(steady),
      target_puts_per_s: round(options.hosts / (ENDPOINT_REFRESH_MS / 1000), 1),
      per_host_msgs_per_s: round(steadyDeliveries / steadySeconds / options.hosts, 1),
    };
  } finally {
    await Promise.all(hollows.map((hollow) => hollow?.nc.close().catch(() => undefined)));
    await client?.close();
    await nats?.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

export function endpointsScaleRows(result: EndpointsScaleResult): [string, string][] {
  const line = (c: CentralCost) => `${c.msgs_in} msgs in / ${c.msgs_out} msgs out, ${c.bytes_in} B in / ${c.bytes_out} B out, nats-server CPU ${c.cpu_ms} ms`;
  return [
    ['hosts / services / watchers per key / record bytes', `${result.hosts} / ${result.services} / ${result.watchers_per_key} / ${result.record_bytes}`],
    ['per endpoint change', `${line(result.per_change)}; ${result.per_change.deliveries} deliveries (${result.per_change.changes} changes)`],
    [`per second of steady refresh (every ${result.refresh_ms} ms)`, `${line(result.steady_per_s)} (${result.steady_per_s.nats_cpu_percent} % of a core); ${result.steady_per_s.puts} puts, ${result.steady_per_s.deliveries} deliveries`],
    [`per put in steady refresh (${result.target_puts_per_s} puts/s asked for)`, line(result.steady_per_put)],
    ['per second idle (same fleet, baseline)', `${line(result.idle_per_s)} (${result.idle_per_s.nats_cpu_percent} % of a core)`],
    ['per host in steady refresh', `${result.per_host_msgs_per_s} endpoint msgs/s received`],
  ];
}
