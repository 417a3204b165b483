import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Level } from 'level';
import { pino } from 'pino';
import { Journal } from '../agent/store/journal.js';
import { DEFAULT_RETENTION, type PrunedKind, type RetentionPolicy } from '../agent/store/retention.js';
import { DEFAULT_RETENTION_INTERVAL_MS } from '../agent/journal-retention.js';
import { FleetClient } from '../coordinator/fleet-client.js';
import { fleetTargets } from '../coordinator/fleet-targets.js';
import { AGENT_UNIT_ENVIRONMENT } from '../coordinator/cli/commands/agent/agent-unit.js';
import { fleetFileSchema } from '../shared/fleet-spec.js';
import { LABELS } from '../shared/labels.js';
import { BUCKETS, EVENTS_STREAM } from '../shared/subjects.js';
import { DEFAULT_STORAGE_LIMITS } from '../shared/stream-replicas.js';
import { killOnExit } from '../test/lib/child-reaper.js';
import { startNatsServer } from '../test/lib/nats-server.js';
import { testSigner } from '../test/lib/signing.js';
import type { SoakAgentConfig, SoakAgentMemory } from './soak-agent.js';
import { until } from './in-process-fleet.js';
import { round, slope } from './stats.js';
import { BENCH_COMMAND, BENCH_IMAGE, docker, progress, removeProjectContainers, uniqueName } from './support.js';

const DAY_MS = 24 * 3600 * 1000;

/** unit: the environment the systemd unit gives the agent (glibc's arenas capped); bare: none of it, Node's and glibc's defaults. */
export const AGENT_ENVIRONMENTS = ['unit', 'bare'] as const;
export type AgentEnvironmentName = (typeof AGENT_ENVIRONMENTS)[number];
const AGENT_ENVIRONMENT: Readonly<Record<AgentEnvironmentName, Readonly<Record<string, string>>>> = { unit: AGENT_UNIT_ENVIRONMENT, bare: {} };
const MIB = 2 ** 20;

export interface SoakOptions {
  readonly minutes: number;
  /** Days of retention time the run stands for: retention runs days·1440/minutes times faster than the wall clock. */
  readonly days: number;
  readonly agents: number;
  /** Containers per host (replicas of the one service). */
  readonly containers: number;
  /** Each agent's environment, in turn (agent i takes entry i modulo the length). */
  readonly agentEnvironments: readonly AgentEnvironmentName[];
  /** One churn step (a new revision, a container removed by hand, one stopped by hand, in turn) every this many ms. */
  readonly churnEveryMs: number;
  readonly sampleEveryMs: number;
}

interface AgentSample {
  readonly rss_mib: number;
  /** Of which anonymous memory (RssAnon: V8's heap, malloc's arenas, LevelDB): the rest is the node binary's and libraries' pages, read from their files. */
  readonly rss_anon_mib: number;
  /** V8's heap as the agent last reported it (every sample interval): committed, and in use (live objects and garbage not collected yet). */
  readonly heap_total_mib: number;
  readonly heap_used_mib: number;
  /** RSS less the committed V8 heap: LevelDB (write buffer, block cache), malloc's arenas, compiled code, the binary's pages. */
  readonly outside_heap_mib: number;
  /** Of which LevelDB's own estimate (memtables and block cache), as of the last retention pass. */
  readonly level_mib: number;
  readonly fds: number;
  readonly journal_mib: number;
  /** Of which LevelDB's write-ahead log (bounded by its 1 MiB write buffer, JOURNAL_LEVEL_OPTIONS, then turned into tables). */
  readonly journal_log_mib: number;
}

interface Sample {
  readonly at_s: number;
  /** Retention days elapsed (wall time × the compression). */
  readonly simulated_day: number;
  readonly agents: readonly AgentSample[];
  readonly stream_mib: number;
  readonly stream_messages: number;
  readonly buckets_mib: Readonly<Record<string, number>>;
}

interface Figure {
  /** At the first sample after one retention period (the rules' age: the journal's steady state from there). */
  readonly after_first_period: number;
  readonly end: number;
  readonly max_after_first_period: number;
  readonly min_after_first_period: number;
  /** Least-squares slope after the first period, per simulated day: over all of it, and over its second half. */
  readonly trend_per_day: number;
  readonly second_half_trend_per_day: number;
}

export interface SoakResult {
  readonly benchmark: 'soak';
  readonly minutes: number;
  readonly simulated_days: number;
  /** How much faster than the wall clock retention time runs: every age of the rules and the pass interval divided by it. */
  readonly compression: number;
  readonly agents: number;
  readonly containers_per_host: number;
  readonly churn: { readonly revisions: number; readonly removed_by_hand: number; readonly stopped_by_hand: number };
  readonly retention_passes: number;
  readonly deleted: Readonly<Record<PrunedKind, number>>;
  readonly per_agent: readonly { readonly environment: AgentEnvironmentName; readonly rss_mib: Figure; readonly rss_anon_mib: Figure; readonly heap_total_mib: Figure; readonly heap_used_mib: Figure; readonly outside_heap_mib: Figure; readonly level_mib: Figure; readonly fds: Figure; readonly journal_mib: Figure; readonly journal_log_mib: Figure }[];
  readonly stream: { readonly mib: Figure; readonly messages_end: number; readonly max_mib: number };
  readonly buckets_end_mib: Readonly<Record<string, number>>;
  readonly buckets_max_mib: Readonly<Record<string, number>>;
  /** Keys per record kind left in each journal at the end, and its size once reopened (LevelDB turns its log into a table at open). */
  readonly journals_at_end: readonly { readonly records: Readonly<Record<string, number>>; readonly disk_mib: number }[];
  /** After a SIGKILL of every agent during a change and a restart. */
  readonly after_kill: { readonly converged_s: number; readonly duplicate_containers: number; readonly orphaned_containers: number; readonly unowned_reported: number; readonly events_lost: number; readonly events_doubled: number; readonly events_in_journal: number; readonly events_in_stream: number };
  readonly samples: readonly Sample[];
}

/** The rules with every duration divided by `factor`: retention time running that much faster, for records and rules alike. */
export function compressRetention(policy: RetentionPolicy, factor: number): RetentionPolicy {
  const age = (ms: number) => Math.max(1, Math.round(ms / factor));
  return {
    ...policy,
    events: { ...policy.events, maxAgeMs: age(policy.events.maxAgeMs) },
    intents: { ...policy.intents, maxAgeMs: age(policy.intents.maxAgeMs) },
    plans: { ...policy.plans, maxAgeMs: age(policy.plans.maxAgeMs) },
    goneRecordMs: age(policy.goneRecordMs),
    refusalMs: age(policy.refusalMs),
    emptyProjectMs: age(policy.emptyProjectMs),
  };
}

interface RunningAgent {
  readonly config: SoakAgentConfig;
  readonly environment: AgentEnvironmentName;
  child: ChildProcess;
  passes: number;
  readonly deleted: Record<PrunedKind, number>;
  memory: SoakAgentMemory | undefined;
  levelMemoryBytes: number;
}

/**
 * Agents (real Docker, NATS and LevelDB) under churn for `minutes`, retention compressed so the run
 * stands for `days`; disk, RSS and open FDs sampled; then every agent SIGKILLed during a change,
 * restarted, and the host checked: no duplicate or orphaned container, no lost or doubled event.
 */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const compression = (options.days * DAY_MS) / (options.minutes * 60_000);
  const policy = compressRetention(DEFAULT_RETENTION, compression);
  const retentionIntervalMs = Math.max(1_000, Math.round(DEFAULT_RETENTION_INTERVAL_MS / compression));
  const run = uniqueName('hwsoak');
  const project = run;
  const nats = await startNatsServer();
  const signer = testSigner();
  const dirs: string[] = [];
  const agents: RunningAgent[] = [];
  let client: FleetClient | undefined;
  try {
    client = await FleetClient.connect(nats.url, pino({ level: 'silent' }), {}, signer, undefined, DEFAULT_STORAGE_LIMITS);
    const connected = client;
    for (let index = 1; index <= options.agents; index += 1) {
      const dataDir = await mkdtemp(join(tmpdir(), 'hw-soak-'));
      dirs.push(dataDir);
      const environment = options.agentEnvironments[(index - 1) % options.agentEnvironments.length] ?? 'unit';
      const agent: RunningAgent = { environment, config: { hostId: `${run}-h${index}`, natsUrl: nats.url, coordinatorKey: signer.publicKey, dataDir, policy, retentionIntervalMs, memoryEveryMs: options.sampleEveryMs }, child: undefined as unknown as ChildProcess, passes: 0, deleted: emptyDeleted(), memory: undefined, levelMemoryBytes: 0 };
      agent.child = startAgent(agent);
      agents.push(agent);
    }
    const hostIds = agents.map((agent) => agent.config.hostId);
    await until(async () => (await connected.hosts()).filter((host) => hostIds.includes(host.hostId)).length === hostIds.length, 60_000, 'the agents to register');
    const hosts = (await connected.hosts()).filter((host) => hostIds.includes(host.hostId)).map((host) => ({ hostId: host.hostId, labels: host.labels }));

    let version = 0;
    const apply = async (): Promise<number> => {
      version += 1;
      const fleet = fleetFileSchema.parse({ project, services: { app: { image: BENCH_IMAGE, command: [...BENCH_COMMAND], replicas: options.containers, stop_timeout: '1s', env: { VERSION: String(version) } } } });
      const targets = fleetTargets(fleet, hosts, await connected.desiredOf(project), connected.newCorrelationID());
      for (const target of targets) await connected.writeDesired(target.document, target.kvRevision);
      return targets[0]?.document.revision ?? 0;
    };
    const convergedAt = async (revision: number): Promise<boolean> => {
      const statuses = await connected.statuses();
      return hostIds.every((hostId) => statuses.find((status) => status.hostId === hostId)?.status.projects.some((p) => p.project === project && p.appliedRevision === revision && p.converged && p.instances.length === options.containers && p.instances.every((i) => i.state === 'running')));
    };
    progress(`soak: ${options.agents} agents (environment ${agents.map((agent) => agent.environment).join('/')}), ${options.containers} containers each; ${options.minutes} min standing for ${options.days} days (retention ×${round(compression, 1)}, a pass every ${retentionIntervalMs} ms)`);
    const first = await apply();
    await until(() => convergedAt(first), 120_000, 'the first apply to converge');

    const churn = { revisions: 1, removed_by_hand: 0, stopped_by_hand: 0 };
    const samples: Sample[] = [];
    const started = Date.now();
    const deadline = started + options.minutes * 60_000;
    let nextSample = started;
    let step = 0;
    while (Date.now() < deadline) {
      if (Date.now() >= nextSample) {
        samples.push(await sample(connected, agents, started, compression));
        nextSample += options.sampleEveryMs;
        const last = samples.at(-1);
        if (last && samples.length % 12 === 1) progress(`soak: day ${last.simulated_day}, RSS ${last.agents.map((a) => a.rss_mib).join('/')} MiB (V8 heap ${last.agents.map((a) => a.heap_total_mib).join('/')}, LevelDB ${last.agents.map((a) => a.level_mib).join('/')}), journal ${last.agents.map((a) => a.journal_mib).join('/')} MiB, FDs ${last.agents.map((a) => a.fds).join('/')}, stream ${last.stream_mib} MiB`);
      }
      const hostId = hostIds[step % hostIds.length] as string;
      const name = `${hostId}-${project}-app-${(step % options.containers) + 1}`;
      try {
        if (step % 3 === 0) {
          await apply();
          churn.revisions += 1;
        } else if (step % 3 === 1) {
          await docker().getContainer(name).remove({ force: true });
          churn.removed_by_hand += 1;
        } else {
          await docker().getContainer(name).stop({ t: 1 });
          churn.stopped_by_hand += 1;
        }
      } catch {
        // The container was being replaced at that moment: this step changes nothing.
      }
      step += 1;
      await new Promise((resolve) => setTimeout(resolve, options.churnEveryMs));
    }
    samples.push(await sample(connected, agents, started, compression));

    // The end: a change, and every agent SIGKILLed while it applies it; then restarted on the same data dirs.
    progress('soak: a last change, SIGKILL of every agent during it, restart');
    const last = await apply();
    churn.revisions += 1;
    await new Promise((resolve) => setTimeout(resolve, 700));
    await Promise.all(agents.map((agent) => killHard(agent.child)));
    const restarted = Date.now();
    for (const agent of agents) agent.child = startAgent(agent);
    await until(() => convergedAt(last), 180_000, 'the restarted agents to converge');
    const convergedSeconds = (Date.now() - restarted) / 1000;

    // What the engine holds: exactly the desired containers per host, each owned; nothing left behind.
    const containers = await docker().listContainers({ all: true, filters: { label: [`${LABELS.project}=${project}`] } });
    let duplicates = 0;
    let orphans = 0;
    for (const hostId of hostIds) {
      const mine = containers.filter((container) => container.Labels[LABELS.host] === hostId);
      const names = mine.map((container) => (container.Names[0] ?? '').replace(/^\//, ''));
      const wanted = new Set(Array.from({ length: options.containers }, (_, i) => `${hostId}-${project}-app-${i + 1}`));
      duplicates += names.length - new Set(names).size;
      orphans += names.filter((name) => !wanted.has(name)).length;
    }
    const statuses = await connected.statuses();
    const unowned = statuses.filter((status) => hostIds.includes(status.hostId)).flatMap((status) => status.status.projects.flatMap((p) => p.unowned)).length;

    // Every event the journals recorded is in the stream once: stop the agents, then compare.
    await Promise.all(agents.map((agent) => stopGracefully(agent.child)));
    let lost = 0;
    let doubled = 0;
    let inJournal = 0;
    let inStream = 0;
    const journalsAtEnd: { records: Record<string, number>; disk_mib: number }[] = [];
    for (const agent of agents) {
      const streamIds = await streamEventIds(connected, agent.config.hostId);
      const journal = await Journal.open(agent.config.dataDir);
      try {
        const unpublished = new Set((await journal.outboxEvents(100_000)).map((event) => event.seq));
        const page = await journal.readEvents(0, 1_000_000);
        const lastSeq = page.events.at(-1)?.seq ?? 0;
        inJournal += lastSeq;
        inStream += streamIds.length;
        doubled += streamIds.length - new Set(streamIds).size;
        const published = new Set(streamIds);
        // Retained events: each one published is in the stream; pruned ones (older) were all acknowledged first, so the count must match too.
        lost += page.events.filter((event) => !unpublished.has(event.seq) && !published.has(event.id)).length;
        lost += Math.max(0, lastSeq - unpublished.size - new Set(streamIds).size);
      } finally {
        await journal.close();
      }
      journalsAtEnd.push({ records: await recordCounts(join(agent.config.dataDir, 'journal')), disk_mib: round((await directoryBytes(join(agent.config.dataDir, 'journal'))) / MIB, 2) });
    }
    const afterPeriod = samples.filter((entry) => entry.simulated_day >= DEFAULT_RETENTION.events.maxAgeMs / DAY_MS);
    const steady = afterPeriod.length > 0 ? afterPeriod : samples.slice(-1);
    const figure = (pick: (entry: Sample) => number): Figure => {
      const points = steady.map((entry) => ({ x: entry.simulated_day, y: pick(entry) }));
      return {
        after_first_period: pick(steady[0] as Sample),
        end: pick(samples.at(-1) as Sample),
        max_after_first_period: Math.max(...points.map((point) => point.y)),
        min_after_first_period: Math.min(...points.map((point) => point.y)),
        trend_per_day: round(slope(points), 3),
        second_half_trend_per_day: round(slope(points.slice(Math.floor(points.length / 2))), 3),
      };
    };
    const deleted = emptyDeleted();
    for (const agent of agents) for (const kind of Object.keys(deleted) as PrunedKind[]) deleted[kind] += agent.deleted[kind];
    const bucketNames = Object.keys(samples.at(-1)?.buckets_mib ?? {});
    return {
      benchmark: 'soak',
      minutes: options.minutes,
      simulated_days: options.days,
      compression: round(compression, 1),
      agents: options.agents,
      containers_per_host: options.containers,
      churn,
      retention_passes: agents.reduce((sum, agent) => sum + agent.passes, 0),
      deleted,
      per_agent: agents.map((agent, index) => ({
        environment: agent.environment,
        rss_mib: figure((entry) => entry.agents[index]?.rss_mib ?? 0),
        rss_anon_mib: figure((entry) => entry.agents[index]?.rss_anon_mib ?? 0),
        heap_total_mib: figure((entry) => entry.agents[index]?.heap_total_mib ?? 0),
        heap_used_mib: figure((entry) => entry.agents[index]?.heap_used_mib ?? 0),
        outside_heap_mib: figure((entry) => entry.agents[index]?.outside_heap_mib ?? 0),
        level_mib: figure((entry) => entry.agents[index]?.level_mib ?? 0),
        fds: figure((entry) => entry.agents[index]?.fds ?? 0),
        journal_mib: figure((entry) => entry.agents[index]?.journal_mib ?? 0),
        journal_log_mib: figure((entry) => entry.agents[index]?.journal_log_mib ?? 0),
      })),
      stream: { mib: figure((entry) => entry.stream_mib), messages_end: samples.at(-1)?.stream_messages ?? 0, max_mib: round(DEFAULT_STORAGE_LIMITS.eventsMaxBytes / MIB, 0) },
      buckets_end_mib: samples.at(-1)?.buckets_mib ?? {},
      buckets_max_mib: Object.fromEntries(bucketNames.map((bucket) => [bucket, round(bucketLimit(bucket) / MIB, 0)])),
      journals_at_end: journalsAtEnd,
      after_kill: { converged_s: round(convergedSeconds, 1), duplicate_containers: duplicates, orphaned_containers: orphans, unowned_reported: unowned, events_lost: lost, events_doubled: doubled, events_in_journal: inJournal, events_in_stream: inStream },
      samples,
    };
  } finally {
    await Promise.all(agents.map((agent) => killHard(agent.child)));
    await client?.close().catch(() => undefined);
    await removeProjectContainers(project).catch(() => undefined);
    await nats.cleanup();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

/** Keys per record kind (the part of a key before its first `:`). */
async function recordCounts(location: string): Promise<Record<string, number>> {
  const db = new Level<string, Uint8Array>(location, { keyEncoding: 'utf8', valueEncoding: 'view' });
  const counts: Record<string, number> = {};
  try {
    for await (const key of db.keys()) {
      const kind = key.split(':', 1)[0] ?? key;
      counts[kind] = (counts[kind] ?? 0) + 1;
    }
  } finally {
    await db.close();
  }
  return counts;
}

function emptyDeleted(): Record<PrunedKind, number> {
  return { events: 0, outbox: 0, intents: 0, results: 0, plans: 0, owners: 0, resources: 0, desired: 0, refusals: 0 };
}

function bucketLimit(bucket: string): number {
  const limits: Record<string, number> = { [BUCKETS.desired]: DEFAULT_STORAGE_LIMITS.desiredMaxBytes, [BUCKETS.hosts]: DEFAULT_STORAGE_LIMITS.hostsMaxBytes, [BUCKETS.status]: DEFAULT_STORAGE_LIMITS.statusMaxBytes, [BUCKETS.rollouts]: DEFAULT_STORAGE_LIMITS.rolloutsMaxBytes, [BUCKETS.hostctl]: DEFAULT_STORAGE_LIMITS.hostctlMaxBytes };
  return limits[bucket] ?? 0;
}

function startAgent(agent: RunningAgent): ChildProcess {
  const entry = fileURLToPath(new URL('./soak-agent.js', import.meta.url));
  // The variables the unit sets are the agent's own: none inherited from the shell running the soak.
  const env = { ...process.env };
  for (const name of Object.keys(AGENT_UNIT_ENVIRONMENT)) delete env[name];
  const child = spawn(process.execPath, ['--enable-source-maps', entry, JSON.stringify(agent.config)], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...env, ...AGENT_ENVIRONMENT[agent.environment] } });
  killOnExit(child);
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      try {
        const report = JSON.parse(line) as { pass?: { deleted: Record<PrunedKind, number> }; levelMemoryBytes?: number; memory?: SoakAgentMemory };
        if (report.memory) agent.memory = report.memory;
        if (report.pass) {
          agent.passes += 1;
          agent.levelMemoryBytes = report.levelMemoryBytes ?? 0;
          for (const [kind, count] of Object.entries(report.pass.deleted) as [PrunedKind, number][]) agent.deleted[kind] += count;
        }
      } catch {
        // Not a report.
      }
    }
  });
  return child;
}

async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

async function stopGracefully(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

async function sample(client: FleetClient, agents: readonly RunningAgent[], started: number, compression: number): Promise<Sample> {
  const perAgent: AgentSample[] = [];
  for (const agent of agents) {
    const pid = agent.child.pid;
    const status = pid === undefined ? '' : await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const rssKib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    const anonKib = Number(/RssAnon:\s+(\d+)/.exec(status)?.[1] ?? 0);
    const fds = pid === undefined ? 0 : (await readdir(`/proc/${pid}/fd`).catch(() => [])).length;
    const journal = join(agent.config.dataDir, 'journal');
    const heapTotal = (agent.memory?.heapTotal ?? 0) / MIB;
    perAgent.push({ rss_mib: round(rssKib / 1024, 1), rss_anon_mib: round(anonKib / 1024, 1), heap_total_mib: round(heapTotal, 1), heap_used_mib: round((agent.memory?.heapUsed ?? 0) / MIB, 1), outside_heap_mib: round(rssKib / 1024 - heapTotal, 1), level_mib: round(agent.levelMemoryBytes / MIB, 1), fds, journal_mib: round((await directoryBytes(journal)) / MIB, 2), journal_log_mib: round((await directoryBytes(journal, '.log')) / MIB, 2) });
  }
  const stream = (await client.connection.jsm.streams.info(EVENTS_STREAM)).state;
  const buckets: Record<string, number> = {};
  for (const bucket of Object.values(BUCKETS)) buckets[bucket] = round((await client.connection.jsm.streams.info(`KV_${bucket}`)).state.bytes / MIB, 3);
  const elapsed = Date.now() - started;
  return { at_s: round(elapsed / 1000, 0), simulated_day: round((elapsed * compression) / DAY_MS, 1), agents: perAgent, stream_mib: round(stream.bytes / MIB, 3), stream_messages: stream.messages, buckets_mib: buckets };
}

async function streamEventIds(client: FleetClient, hostId: string): Promise<string[]> {
  const ids: string[] = [];
  await client.events({ hostId, follow: false }, (entry) => {
    if ('event' in entry) ids.push(entry.event.id);
  });
  return ids;
}

/** Bytes of the files under dir (those whose name ends with `suffix`, when given). */
async function directoryBytes(dir: string, suffix = ''): Promise<number> {
  let bytes = 0;
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (entry.isDirectory()) bytes += await directoryBytes(join(dir, entry.name), suffix);
    else if (entry.name.endsWith(suffix)) bytes += await stat(join(dir, entry.name)).then((info) => info.size, () => 0);
  }
  return bytes;
}

export function soakRows(result: SoakResult): [string, string][] {
  const show = (figure: Figure, unit: string) => `${figure.after_first_period} → ${figure.end} ${unit} (after the first period: min ${figure.min_after_first_period}, max ${figure.max_after_first_period}; trend ${figure.trend_per_day} a day, ${figure.second_half_trend_per_day} in its second half)`;
  const kill = result.after_kill;
  return [
    ['run', `${result.minutes} min standing for ${result.simulated_days} days (retention ×${result.compression}), ${result.agents} agents × ${result.containers_per_host} containers`],
    ['churn', `${result.churn.revisions} revisions, ${result.churn.removed_by_hand} containers removed by hand, ${result.churn.stopped_by_hand} stopped by hand`],
    ['retention', `${result.retention_passes} passes; deleted ${Object.entries(result.deleted).filter(([, count]) => count > 0).map(([kind, count]) => `${count} ${kind}`).join(', ') || 'nothing'}`],
    ...result.per_agent.flatMap((agent, index): [string, string][] => [
      [`agent ${index + 1} RSS (${agent.environment} environment)`, `${show(agent.rss_mib, 'MiB')}; anonymous ${show(agent.rss_anon_mib, 'MiB')}`],
      [`agent ${index + 1} V8 heap`, `committed ${show(agent.heap_total_mib, 'MiB')}; in use ${show(agent.heap_used_mib, 'MiB')}`],
      [`agent ${index + 1} RSS outside the V8 heap`, `${show(agent.outside_heap_mib, 'MiB')}; of which LevelDB's estimate ${show(agent.level_mib, 'MiB')}`],
      [`agent ${index + 1} open FDs`, show(agent.fds, '')],
      [`agent ${index + 1} journal on disk`, `${show(agent.journal_mib, 'MiB')}; of which the write-ahead log ${agent.journal_log_mib.end} MiB at the end`],
    ]),
    ['HW_EVENTS', `${show(result.stream.mib, 'MiB')}, ${result.stream.messages_end} messages; limit ${result.stream.max_mib} MiB`],
    ['KV buckets at the end', Object.entries(result.buckets_end_mib).map(([bucket, mib]) => `${bucket} ${mib} / ${result.buckets_max_mib[bucket]} MiB`).join(', ')],
    ['after SIGKILL + restart', `converged in ${kill.converged_s} s; ${kill.duplicate_containers} duplicate, ${kill.orphaned_containers} orphaned, ${kill.unowned_reported} unowned containers`],
    ['events', `${kill.events_in_journal} recorded, ${kill.events_in_stream} in the stream; ${kill.events_lost} lost, ${kill.events_doubled} doubled`],
    ...result.journals_at_end.map((journal, index): [string, string] => [`agent ${index + 1} journal at the end`, `${Object.entries(journal.records).map(([kind, count]) => `${count} ${kind}`).join(', ')}; ${journal.disk_mib} MiB once reopened`]),
  ];
}
