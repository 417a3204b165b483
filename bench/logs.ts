import type { Readable } from 'node:stream';
import { pino } from 'pino';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { LogRequests } from '../agent/fleet/log-requests.js';
import type { ObservedContainer, RuntimeSnapshot } from '../agent/core/snapshot.js';
import { HostLogStream, type LogQuery } from '../coordinator/host-log-stream.js';
import { renderEntry } from '../coordinator/cli/commands/logs/log-output.js';
import { normalizeEngineTime, type LogEntry } from '../shared/log-stream.js';
import { logsRpcSubject } from '../shared/subjects.js';
import { startNatsServer } from '../test/lib/nats-server.js';
import { percentile, median, round } from './stats.js';
import { BENCH_IMAGE, docker, progress, throwIfInterrupted, uniqueName } from './support.js';

export interface LogsBenchOptions {
  /** Output the first container prints before it exits, read back whole. */
  readonly megabytes: number;
  readonly runs: number;
  /** Chatty containers beside the probe while latency is measured. */
  readonly chatty: number;
  readonly seconds: number;
}

export interface LogsBenchResult {
  readonly benchmark: 'logs';
  readonly megabytes: number;
  readonly runs: number;
  /** The engine's logs API read by dockerode (timestamps on, frames demultiplexed), MB/s, median. */
  readonly docker_api_mb_per_s: number;
  /** The same output through an agent's log session, NATS and the coordinator's stream, rendered as `logs` prints it. */
  readonly hostwright_mb_per_s: number;
  readonly throughput_ratio: number;
  readonly chatty_containers: number;
  /** Follow: from the engine's timestamp of a line to the moment it arrived, ms. */
  readonly docker_follow_latency_ms: { readonly p50: number; readonly p99: number; readonly lines: number };
  readonly hostwright_follow_latency_ms: { readonly p50: number; readonly p99: number; readonly lines: number };
}

const HOST = 'benchhost';
const LINE = 'x'.repeat(99);

/**
 * `hostwright logs` against `docker logs` (the engine API) on the same host: the whole output of a
 * container that printed M MB, and with -f the delay from a line's engine timestamp to its
 * arrival, with chatty containers beside it. The Hostwright side is the agent's LogRequests and
 * the coordinator's HostLogStream over a real nats-server (no auth), rendered as the CLI renders.
 */
export async function runLogsBench(options: LogsBenchOptions): Promise<LogsBenchResult> {
  const engine = docker();
  const nats = await startNatsServer();
  const created: string[] = [];
  let agentNc: NatsConnection | undefined;
  let coordinatorNc: NatsConnection | undefined;
  let requests: LogRequests | undefined;
  const owned = new Map<string, number>();
  try {
    agentNc = await connect({ servers: nats.url });
    coordinatorNc = await connect({ servers: nats.url });
    const agent = agentNc;
    const snapshot = (): RuntimeSnapshot => ({ containers: [...owned].map(([id, instance]) => ownedContainer(id, instance)) }) as unknown as RuntimeSnapshot;
    requests = new LogRequests({ hostId: HOST, docker: engine, observe: async () => snapshot(), publish: (subject, data) => agent.publish(subject, data), maxPayload: () => agent.info?.max_payload ?? 1024 * 1024, logger: pino({ level: 'silent' }) });
    const served = requests;
    agentNc.subscribe(logsRpcSubject(HOST), {
      callback: (error, msg) => {
        if (!error) served.handle(msg);
      },
    });
    await agentNc.flush();

    progress(`logs: a container printing ${options.megabytes} MB`);
    const lines = Math.round((options.megabytes * 1024 * 1024) / (LINE.length + 1));
    const big = await engine.createContainer({ name: uniqueName('hwbench-logs-big'), Image: BENCH_IMAGE, Cmd: ['sh', '-c', `yes ${LINE} | head -n ${lines}`] });
    created.push(big.id);
    await big.start();
    await big.wait();
    owned.set(big.id, 1);
    const apiMbps: number[] = [];
    const hwMbps: number[] = [];
    for (let run = 0; run < options.runs; run += 1) {
      throwIfInterrupted();
      progress(`logs: read ${run + 1} of ${options.runs}`);
      const pair = run % 2 === 0 ? [() => readViaApi(big.id), () => readViaHostwright(coordinatorNc as NatsConnection, 'big')] : [() => readViaHostwright(coordinatorNc as NatsConnection, 'big'), () => readViaApi(big.id)];
      for (const [index, read] of pair.entries()) {
        const started = performance.now();
        const bytes = await read();
        const mbps = bytes / 1024 / 1024 / ((performance.now() - started) / 1000);
        const isApi = (run % 2 === 0) === (index === 0);
        (isApi ? apiMbps : hwMbps).push(mbps);
        if (bytes < lines * LINE.length) throw new Error(`read ${bytes} bytes, expected at least ${lines * LINE.length}`);
      }
    }
    owned.delete(big.id);

    progress(`logs: follow latency with ${options.chatty} chatty containers for ${options.seconds} s`);
    for (let index = 0; index < options.chatty; index += 1) {
      const chatty = await engine.createContainer({ name: uniqueName('hwbench-logs-chatty'), Image: BENCH_IMAGE, Cmd: ['sh', '-c', `while true; do i=0; while [ $i -lt 20 ]; do echo ${LINE}; i=$((i+1)); done; sleep 0.1; done`] });
      created.push(chatty.id);
      await chatty.start();
    }
    const probe = await engine.createContainer({ name: uniqueName('hwbench-logs-probe'), Image: BENCH_IMAGE, Cmd: ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo "probe $i"; sleep 0.05; done'] });
    created.push(probe.id);
    await probe.start();
    owned.set(probe.id, 1);
    const [apiLatency, hwLatency] = await Promise.all([followLatencyViaApi(probe.id, options.seconds * 1000), followLatencyViaHostwright(coordinatorNc, 'probe', options.seconds * 1000)]);
    const apiMedian = median(apiMbps);
    const hwMedian = median(hwMbps);
    return {
      benchmark: 'logs',
      megabytes: options.megabytes,
      runs: options.runs,
      docker_api_mb_per_s: round(apiMedian, 1),
      hostwright_mb_per_s: round(hwMedian, 1),
      throughput_ratio: round(hwMedian / apiMedian, 3),
      chatty_containers: options.chatty,
      docker_follow_latency_ms: summary(apiLatency),
      hostwright_follow_latency_ms: summary(hwLatency),
    };
  } finally {
    requests?.close();
    await agentNc?.close().catch(() => undefined);
    await coordinatorNc?.close().catch(() => undefined);
    await Promise.all(created.map((id) => engine.getContainer(id).remove({ force: true }).catch(() => undefined)));
    await nats.cleanup();
  }
}

function summary(samples: readonly number[]): { p50: number; p99: number; lines: number } {
  return { p50: round(percentile(samples, 50), 1), p99: round(percentile(samples, 99), 1), lines: samples.length };
}

function ownedContainer(id: string, instance: number): ObservedContainer {
  return { id, name: id, state: 'running', health: 'none', createdAt: 0, identity: { hostId: HOST, project: 'bench', service: 'svc', instance, specHash: 'x', ownerToken: 'x' }, ownership: { owned: true }, modifiedFields: [], restartCount: 0 };
}

/** `docker logs --timestamps`: the engine API read to its end; bytes of the lines read (one frame a line). */
async function readViaApi(id: string): Promise<number> {
  const stream = (await docker().getContainer(id).logs({ stdout: true, stderr: true, timestamps: true, follow: true })) as unknown as Readable;
  let bytes = 0;
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let offset = 0;
    while (offset + 8 <= pending.length) {
      const size = pending.readUInt32BE(offset + 4);
      if (offset + 8 + size > pending.length) break;
      bytes += LINE.length + 1;
      offset += 8 + size;
    }
    pending = pending.subarray(offset);
  }
  return bytes;
}

/** `hostwright logs` of the same container: every line rendered; bytes of the lines read. */
function readViaHostwright(nc: NatsConnection, service: string): Promise<number> {
  void service;
  return new Promise((resolve, reject) => {
    let bytes = 0;
    const query: LogQuery = { project: 'bench', service: 'svc', follow: false };
    const stream = new HostLogStream(HOST, nc, query, {
      entries: (_host, entries) => {
        for (const entry of entries) if (render(entry).length > 0) bytes += LINE.length + 1;
        stream.written();
      },
      caughtUp: () => undefined,
      ended: (_host, error) => (error ? reject(new Error(error)) : resolve(bytes)),
      answering: (_host, answering) => {
        if (!answering) reject(new Error('the agent side did not answer'));
      },
      backlog: () => 0,
    }, 10_000);
    stream.start();
  });
}

function render(entry: LogEntry): string {
  return renderEntry({ hostId: HOST, service: 'svc' }, entry, { withService: false, timestamps: false, width: 12 });
}

/** Delay of each line from its engine timestamp to its arrival through the engine's follow API. */
async function followLatencyViaApi(id: string, forMs: number): Promise<number[]> {
  const abort = new AbortController();
  const stream = (await docker().getContainer(id).logs({ stdout: true, stderr: true, timestamps: true, follow: true, since: Math.floor(Date.now() / 1000), abortSignal: abort.signal })) as unknown as Readable;
  const delays: number[] = [];
  const timer = setTimeout(() => abort.abort(), forMs);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const now = Date.now();
      for (const match of chunk.toString('latin1').matchAll(/(\d{4}-\d\d-\d\dT[\d:.]+Z) probe/g)) delays.push(now - Date.parse(normalizeEngineTime(match[1] as string)?.slice(0, 23) + 'Z'));
    }
  } catch {
    // Aborted: the measurement is over.
  } finally {
    clearTimeout(timer);
  }
  return delays;
}

/** The same through `hostwright logs -f`: from the engine timestamp to the rendered line. */
function followLatencyViaHostwright(nc: NatsConnection, service: string, forMs: number): Promise<number[]> {
  void service;
  const delays: number[] = [];
  const started = Date.now();
  return new Promise((resolve) => {
    const stream = new HostLogStream(HOST, nc, { project: 'bench', service: 'svc', follow: true, since: normalizeEngineTime(new Date().toISOString()) }, {
      entries: (_host, entries) => {
        const now = Date.now();
        for (const entry of entries) {
          render(entry);
          if (entry.kind === 'line' && Date.parse(`${entry.time.slice(0, 23)}Z`) >= started) delays.push(now - Date.parse(`${entry.time.slice(0, 23)}Z`));
        }
        stream.written();
      },
      caughtUp: () => undefined,
      ended: () => resolve(delays),
      answering: () => undefined,
      backlog: () => 0,
    }, 10_000);
    stream.start();
    setTimeout(() => {
      stream.stop();
      resolve(delays);
    }, forMs);
  });
}

export function logsRows(result: LogsBenchResult): [string, string][] {
  return [
    ['output / rounds', `${result.megabytes} MB of 100-byte lines / ${result.runs}`],
    ['docker logs (engine API, median)', `${result.docker_api_mb_per_s} MB/s`],
    ['hostwright logs (agent, NATS, coordinator; median)', `${result.hostwright_mb_per_s} MB/s`],
    ['Hostwright / docker logs', `${result.throughput_ratio}x`],
    [`follow latency, docker (p50 / p99, ${result.docker_follow_latency_ms.lines} lines)`, `${result.docker_follow_latency_ms.p50} / ${result.docker_follow_latency_ms.p99} ms`],
    [`follow latency, hostwright (p50 / p99, ${result.hostwright_follow_latency_ms.lines} lines; ${result.chatty_containers} chatty containers)`, `${result.hostwright_follow_latency_ms.p50} / ${result.hostwright_follow_latency_ms.p99} ms`],
  ];
}
