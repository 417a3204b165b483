import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import type { HostReport } from '../shared/host-report.js';
import { pino } from 'pino';
import { FleetClient } from '../coordinator/fleet-client.js';
import { fleetTargets } from '../coordinator/fleet-targets.js';
import { PIPELINED_WRITES, writeTargets } from '../coordinator/fleet-apply.js';
import { testSigner } from '../test/lib/signing.js';
import { collectPlans } from '../coordinator/fleet-plan.js';
import { fleetStatus } from '../coordinator/fleet-status.js';
import { fleetFileSchema } from '../shared/fleet-spec.js';
import { EVENTS_STREAM } from '../shared/subjects.js';
import type { StatusReport } from '../shared/wire.js';
import { killOnExit } from '../test/lib/child-reaper.js';
import { startNatsServer, type NatsServerHandle } from '../test/lib/nats-server.js';
import type { HollowWorker } from './hollow-agents.js';
import { until } from './in-process-fleet.js';
import { median, percentile, round } from './stats.js';
import { BENCH_COMMAND, progress, throwIfInterrupted, uniqueName } from './support.js';

export interface ScaleOptions {
  /** Fleet sizes measured one after another, each with its own nats-server and agents. */
  readonly sizes: readonly number[];
  readonly containers: number;
  /** Simulated latency of each create/start/stop/remove, ms. */
  readonly latencyMs: number;
  /** Worker processes the hollow agents are spread over (0: one per 250 hosts, at most 4). */
  readonly workers: number;
}

/** Two tags the hollow engines hold; the change under test moves every host from one to the other. */
const IMAGE_BEFORE = 'hw/busybox:test';
const IMAGE_AFTER = 'hw/busybox:scale-v2';

export interface ScaleRun {
  readonly hosts: number;
  readonly containers_per_host: number;
  readonly workers: number;
  /** Agents registered in the hosts bucket, from the workers' spawn. */
  readonly start_s: number;
  /** The first apply (every host creates its containers from nothing), to all converged. */
  readonly first_apply_s: number;
  /**
   * The measured applies: every host replaces its containers with a new image, first with the
   * desired-state writes one at a time (the path before), then pipelined (the path now).
   */
  readonly change_sequential_writes: ChangeFigures;
  readonly change: ChangeFigures;
  readonly nats_idle_per_host_per_s: { readonly msgs_in: number; readonly bytes_in: number };
  /** `hostwright status` of every host: hosts + statuses read and joined. */
  readonly status_ms: { readonly sequential_reads: number; readonly pipelined_reads: number };
  readonly agents_rss_mib_per_host: number;
}

export interface ChangeFigures {
  /** Dry-run plan requests to every host answered (the CLI's apply asks before it writes). */
  readonly plans_s: number;
  /** Desired documents written (compare-and-set, one per host). */
  readonly writes_s: number;
  /** From the apply's start to each host's status reporting the new revision converged. */
  readonly host_converged_s: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly coordinator_cpu_s: number;
  readonly coordinator_cpu_percent: number;
  readonly coordinator_rss_max_mib: number;
  /** nats-server /varz deltas over the change, per host, with the idle rate (heartbeats) subtracted. */
  readonly nats_per_host: { readonly msgs_in: number; readonly msgs_out: number; readonly bytes_in: number; readonly bytes_out: number };
  readonly events_ingested: number;
  readonly events_per_s: number;
  /**
   * CPU seconds spent from the apply's start to the last host converged, by the whole machine
   * (all cores, from /proc/stat) and by each part (from /proc/<pid>/stat): what bounds the wall time.
   */
  readonly cpu_s: CpuSplit;
}

export interface CpuSplit {
  readonly wall: number;
  readonly cores: number;
  /** CPU seconds the machine spent busy (not idle or waiting for I/O), all processes. */
  readonly machine_busy: number;
  readonly machine_busy_percent: number;
  readonly hollow_agents: number;
  readonly nats_server: number;
  readonly coordinator: number;
}

export interface ScaleResult {
  readonly benchmark: 'scale';
  readonly latency_ms: number;
  readonly runs: readonly ScaleRun[];
}

export async function runScale(options: ScaleOptions): Promise<ScaleResult> {
  const runs: ScaleRun[] = [];
  for (const hosts of options.sizes) {
    throwIfInterrupted();
    runs.push(await runOneSize(hosts, options));
  }
  return { benchmark: 'scale', latency_ms: options.latencyMs, runs };
}

async function runOneSize(hostCount: number, options: ScaleOptions): Promise<ScaleRun> {
  const run = uniqueName('hwscale');
  const project = run;
  const workerCount = options.workers > 0 ? options.workers : Math.min(4, Math.max(1, Math.ceil(hostCount / 250)));
  const hostIds = Array.from({ length: hostCount }, (_, i) => `${run}-h${String(i + 1).padStart(5, '0')}`);
  const nats = await startNatsServer({ config: 'max_payload: 8MB' });
  const workers: ChildProcess[] = [];
  let client: FleetClient | undefined;
  try {
    const startedAt = performance.now();
    progress(`scale ${hostCount}: starting ${hostCount} hollow agents in ${workerCount} worker process(es)`);
    // The coordinator creates the buckets and the stream first; agents only bind to them.
    const signer = testSigner();
    const connected = await FleetClient.connect(nats.url, pino({ level: 'silent' }), {}, signer);
    client = connected;
    for (let w = 0; w < workerCount; w += 1) {
      const worker: HollowWorker = { natsUrl: nats.url, coordinatorKey: signer.publicKey, hostIds: hostIds.filter((_, i) => i % workerCount === w), images: [IMAGE_BEFORE, IMAGE_AFTER], mutationMs: options.latencyMs, heartbeatMs: 5_000, resyncMs: 30_000 };
      workers.push(startWorker(worker));
    }
    const workerPids = workers.map((w) => w.pid ?? -1);
    await until(async () => (await connected.connection.hosts.status()).values >= hostCount, 300_000, `${hostCount} agents to register`);
    const startSeconds = (performance.now() - startedAt) / 1000;
    const hosts = (await connected.hosts()).map((h) => ({ hostId: h.hostId, labels: h.labels }));

    progress(`scale ${hostCount}: first apply (${options.containers} container(s) per host from nothing)`);
    const first = await applyAndWait(connected, nats, workerPids, project, hosts, hostIds, IMAGE_BEFORE, options.containers);
    progress(`scale ${hostCount}: first apply converged in ${first.convergedS.max.toFixed(2)} s; measuring idle NATS traffic for 5.5 s (one heartbeat period)`);
    const idle = await idleRate(nats, 5_500);

    progress(`scale ${hostCount}: changing the image on all ${hostCount} hosts, desired-state writes one at a time (before)`);
    const before = await applyAndWait(connected, nats, workerPids, project, hosts, hostIds, IMAGE_AFTER, options.containers, 1);
    progress(`scale ${hostCount}: changing it back, writes pipelined (${PIPELINED_WRITES} in flight, now)`);
    const after = await applyAndWait(connected, nats, workerPids, project, hosts, hostIds, IMAGE_BEFORE, options.containers, PIPELINED_WRITES);
    const figures = (change: ApplyFigures): ChangeFigures => {
      const windowS = change.convergedS.max;
      const net = (total: number, perSecond: number) => round(Math.max(0, total - perSecond * windowS) / hostCount, 1);
      return {
        plans_s: round(change.plansS, 3),
        writes_s: round(change.writesS, 3),
        host_converged_s: change.convergedS,
        coordinator_cpu_s: round(change.cpuS, 2),
        coordinator_cpu_percent: round((100 * change.cpuS) / windowS, 0),
        coordinator_rss_max_mib: round(change.rssMaxMiB, 0),
        nats_per_host: { msgs_in: net(change.varz.in_msgs, idle.in_msgs), msgs_out: net(change.varz.out_msgs, idle.out_msgs), bytes_in: net(change.varz.in_bytes, idle.in_bytes), bytes_out: net(change.varz.out_bytes, idle.out_bytes) },
        events_ingested: change.events,
        events_per_s: round(change.events / windowS, 0),
        cpu_s: change.machine,
      };
    };

    progress(`scale ${hostCount}: timing status of ${hostCount} hosts (old sequential reads, then pipelined)`);
    const sequentialMs = await timeStatus(connected, true);
    const pipelinedMs = await timeStatus(connected, false);
    const agentsRss = (await Promise.all(workers.map((w) => rssMiB(w.pid)))).reduce((a, b) => a + b, 0);
    return {
      hosts: hostCount,
      containers_per_host: options.containers,
      workers: workerCount,
      start_s: round(startSeconds, 2),
      first_apply_s: round(first.convergedS.max, 2),
      change_sequential_writes: figures(before),
      change: figures(after),
      nats_idle_per_host_per_s: { msgs_in: round(idle.in_msgs / hostCount, 2), bytes_in: round(idle.in_bytes / hostCount, 0) },
      status_ms: { sequential_reads: round(sequentialMs, 1), pipelined_reads: round(pipelinedMs, 1) },
      agents_rss_mib_per_host: round(agentsRss / hostCount, 2),
    };
  } finally {
    await client?.close().catch(() => undefined);
    await Promise.all(workers.map(stopWorker));
    await nats.cleanup();
  }
}

function startWorker(worker: HollowWorker): ChildProcess {
  const script = fileURLToPath(new URL('./hollow-agents.js', import.meta.url));
  // The bench's own Node flags (--cpu-prof, --enable-source-maps) apply to its workers too.
  const child = spawn(process.execPath, [...process.execArgv, script, JSON.stringify(worker)], { stdio: ['ignore', 'pipe', 'inherit'] });
  killOnExit(child);
  return child;
}

async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

async function rssMiB(pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0;
  const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kib = Number(/VmRSS:\s+(\d+)/.exec(text)?.[1] ?? 0);
  return kib / 1024;
}

interface Varz {
  readonly in_msgs: number;
  readonly out_msgs: number;
  readonly in_bytes: number;
  readonly out_bytes: number;
}

async function varz(nats: NatsServerHandle): Promise<Varz> {
  const body = (await (await fetch(`${nats.monitorUrl}/varz`)).json()) as Varz;
  return { in_msgs: body.in_msgs, out_msgs: body.out_msgs, in_bytes: body.in_bytes, out_bytes: body.out_bytes };
}

function varzDelta(after: Varz, before: Varz): Varz {
  return { in_msgs: after.in_msgs - before.in_msgs, out_msgs: after.out_msgs - before.out_msgs, in_bytes: after.in_bytes - before.in_bytes, out_bytes: after.out_bytes - before.out_bytes };
}

/** Server traffic per second with nothing applied: heartbeats, resyncs. */
async function idleRate(nats: NatsServerHandle, ms: number): Promise<Varz> {
  const before = await varz(nats);
  await new Promise((resolve) => setTimeout(resolve, ms));
  const delta = varzDelta(await varz(nats), before);
  const s = ms / 1000;
  return { in_msgs: delta.in_msgs / s, out_msgs: delta.out_msgs / s, in_bytes: delta.in_bytes / s, out_bytes: delta.out_bytes / s };
}

interface ApplyFigures {
  readonly plansS: number;
  readonly writesS: number;
  readonly convergedS: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly cpuS: number;
  readonly rssMaxMiB: number;
  readonly varz: Varz;
  readonly events: number;
  readonly machine: CpuSplit;
}

/** The CLI's `apply` (targets, dry-run plan per host, compare-and-set writes), then waits on the status bucket. */
async function applyAndWait(client: FleetClient, nats: NatsServerHandle, workerPids: readonly number[], project: string, hosts: readonly { hostId: string; labels: Record<string, string> }[], hostIds: readonly string[], image: string, containers: number, writesInFlight = PIPELINED_WRITES): Promise<ApplyFigures> {
  const fleet = fleetFileSchema.parse({ project, services: { app: { image, command: [...BENCH_COMMAND], replicas: containers, stop_timeout: '1s' } } });
  const jsm = await jetstreamManager(client.connection.nc);
  const eventsBefore = (await jsm.streams.info(EVENTS_STREAM)).state.messages;
  const varzBefore = await varz(nats);
  const pending = new Set(hostIds);
  const convergedAt: number[] = [];
  let revision = 0;
  let allConverged: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (allConverged = resolve));
  const watcher = await client.connection.status.watch({ include: 'updates' });
  const watching = (async () => {
    for await (const entry of watcher) {
      if (revision === 0 || !pending.has(entry.key) || entry.operation !== 'PUT') continue;
      const report = client.openStatus(entry.value, entry.key).value;
      const state = report?.status.projects.find((p) => p.project === project);
      if (state && state.appliedRevision === revision && state.converged && state.instances.length === containers) {
        pending.delete(entry.key);
        convergedAt.push(performance.now());
        if (pending.size === 0) allConverged();
      }
    }
  })();

  let rssMax = process.memoryUsage().rss;
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 50);
  const cpuBefore = process.cpuUsage();
  const machineBefore = await cpuSample(nats.pid, workerPids);
  const startedAt = performance.now();
  try {
    const correlationID = client.newCorrelationID();
    const targets = fleetTargets(fleet, hosts, await client.desiredOf(project), correlationID);
    const revisions = new Set(targets.map((t) => t.document.revision));
    if (targets.length !== hostIds.length || revisions.size !== 1 || !targets.every((t) => t.changed)) throw new Error(`expected one new revision for ${hostIds.length} hosts, got ${targets.length} target(s) (revisions ${[...revisions].join(', ')})`);
    revision = [...revisions][0] as number;
    const plans = await collectPlans(client, targets, correlationID, 60_000);
    const failed = plans.filter((p) => p.error);
    if (failed.length > 0) throw new Error(`${failed.length} host(s) did not answer the plan request: ${failed[0]?.error ?? ''}`);
    const plansS = (performance.now() - startedAt) / 1000;
    const written = await writeTargets(client, plans, writesInFlight);
    const writesS = (performance.now() - startedAt) / 1000;
    if (written.length !== hostIds.length) throw new Error(`expected ${hostIds.length} desired-state writes, made ${written.length}`);
    await Promise.race([done, timeout(300_000, `${pending.size} host(s) to converge`)]);
    const cpu = process.cpuUsage(cpuBefore);
    const machine = cpuSplit(machineBefore, await cpuSample(nats.pid, workerPids));
    const seconds = convergedAt.map((t) => (t - startedAt) / 1000);
    const varzAfter = await varz(nats);
    const eventsAfter = (await jsm.streams.info(EVENTS_STREAM)).state.messages;
    return {
      plansS,
      writesS,
      convergedS: { p50: round(median(seconds)), p99: round(percentile(seconds, 99)), max: round(Math.max(...seconds)) },
      cpuS: (cpu.user + cpu.system) / 1e6,
      rssMaxMiB: rssMax / (1024 * 1024),
      varz: varzDelta(varzAfter, varzBefore),
      events: eventsAfter - eventsBefore,
      machine,
    };
  } finally {
    clearInterval(sampler);
    watcher.stop();
    await watching.catch(() => undefined);
  }
}

interface CpuSampleAt {
  readonly at: number;
  /** /proc/stat "cpu" line: busy and total jiffies over all cores. */
  readonly busy: number;
  readonly total: number;
  readonly nats: number;
  readonly agents: number;
  readonly coordinator: number;
}

/** Linux reports process and machine CPU time in USER_HZ ticks, 100 per second on every mainstream kernel. */
const TICKS_PER_S = 100;

async function cpuSample(natsPid: number, workerPids: readonly number[]): Promise<CpuSampleAt> {
  const stat = await readFile('/proc/stat', 'utf8');
  const fields = (stat.split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((sum, value) => sum + value, 0);
  // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
  const busy = total - (fields[3] ?? 0) - (fields[4] ?? 0);
  const own = process.cpuUsage();
  return {
    at: performance.now(),
    busy,
    total,
    nats: await processTicks(natsPid),
    agents: (await Promise.all(workerPids.map(processTicks))).reduce((sum, value) => sum + value, 0),
    coordinator: ((own.user + own.system) / 1e6) * TICKS_PER_S,
  };
}

/** utime + stime of a process, in ticks (0 when it is gone). */
async function processTicks(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
}

function cpuSplit(before: CpuSampleAt, after: CpuSampleAt): CpuSplit {
  const wall = (after.at - before.at) / 1000;
  const cores = os.cpus().length;
  const busyShare = after.total > before.total ? (after.busy - before.busy) / (after.total - before.total) : 0;
  return {
    wall: round(wall, 2),
    cores,
    machine_busy: round(busyShare * cores * wall, 1),
    machine_busy_percent: round(100 * busyShare, 0),
    hollow_agents: round((after.agents - before.agents) / TICKS_PER_S, 1),
    nats_server: round((after.nats - before.nats) / TICKS_PER_S, 1),
    coordinator: round((after.coordinator - before.coordinator) / TICKS_PER_S, 1),
  };
}

function timeout(ms: number, what: string): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms).unref());
}

/** Median of three `status` reads of the whole fleet; `sequential` is the read path before the pipelined one. */
async function timeStatus(client: FleetClient, sequential: boolean): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 3; i += 1) {
    const startedAt = performance.now();
    const [hosts, reports] = sequential ? await Promise.all([client.hostReports(), sequentialStatuses(client)]) : await Promise.all([client.hostReports(), client.statusReports()]);
    const rows = fleetStatus(hosts, reports);
    samples.push(performance.now() - startedAt);
    if (rows.length === 0) throw new Error('status listed no host');
  }
  return median(samples);
}

/** The status read as it was: one key listing, then one awaited get per key. */
async function sequentialStatuses(client: FleetClient): Promise<HostReport<StatusReport>[]> {
  const kv = client.connection.status;
  const values: HostReport<StatusReport>[] = [];
  for await (const key of await kv.keys()) {
    const entry = await kv.get(key);
    if (!entry || entry.operation !== 'PUT') continue;
    values.push(client.openStatus(entry.value, key));
  }
  return values;
}

export function scaleRows(result: ScaleResult): [string, string][] {
  const rows: [string, string][] = [['simulated create/start/stop/remove latency', `${result.latency_ms} ms`]];
  for (const r of result.runs) {
    rows.push([`${r.hosts} hosts x ${r.containers_per_host} (workers ${r.workers})`, `agents registered in ${r.start_s} s; first apply ${r.first_apply_s} s`]);
    for (const [label, c] of [['writes one at a time (before)', r.change_sequential_writes], ['writes pipelined (now)', r.change]] as const) {
      rows.push(
        [`  change, ${label}`, ''],
        ['    apply -> host converged p50 / p99 / max (s)', `${c.host_converged_s.p50} / ${c.host_converged_s.p99} / ${c.host_converged_s.max}`],
        ['    plans answered / desired written (s)', `${c.plans_s} / ${c.writes_s}`],
        ['    coordinator CPU (s, % of one core) / max RSS', `${c.coordinator_cpu_s} s, ${c.coordinator_cpu_percent} % / ${c.coordinator_rss_max_mib} MiB`],
        ['    NATS per host per change: msgs in/out, bytes in/out', `${c.nats_per_host.msgs_in} / ${c.nats_per_host.msgs_out}, ${c.nats_per_host.bytes_in} / ${c.nats_per_host.bytes_out}`],
        ['    events ingested (count, per s)', `${c.events_ingested}, ${c.events_per_s}/s`],
        ['    CPU s over the change: machine busy (% of cores) / agents / nats-server / coordinator', `${c.cpu_s.machine_busy} s (${c.cpu_s.machine_busy_percent} % of ${c.cpu_s.cores}) / ${c.cpu_s.hollow_agents} / ${c.cpu_s.nats_server} / ${c.cpu_s.coordinator}`],
      );
    }
    rows.push(
      ['  NATS idle per host per s: msgs in, bytes in', `${r.nats_idle_per_host_per_s.msgs_in}, ${r.nats_idle_per_host_per_s.bytes_in}`],
      ['  status of all hosts (ms): sequential / pipelined', `${r.status_ms.sequential_reads} / ${r.status_ms.pipelined_reads}`],
      ['  hollow agents RSS per host', `${r.agents_rss_mib_per_host} MiB`],
    );
  }
  return rows;
}
