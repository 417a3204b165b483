import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { OwnerRecord } from '../agent/core/snapshot.js';
import { Journal } from '../agent/store/journal.js';
import { DEFAULT_RETENTION, type LiveObjects, type PrunedKind } from '../agent/store/retention.js';
import { runtimeConfigOf } from '../shared/fleet-spec.js';
import type { HostwrightEvent } from '../shared/events.js';
import { round, summarize, type Summary } from './stats.js';
import { benchService, progress } from './support.js';

const run = promisify(execFile);
const DAY_MS = 24 * 3600 * 1000;
/** Containers running at the end (the host's steady state); every other lifecycle was created, started, stopped and removed. */
const LIVE_CONTAINERS = 20;
/** Lifecycles written at once: the journal's group commit makes them one batch per step. */
const CHUNK = 500;

export interface JournalOpenOptions {
  /** Days of churn written. */
  readonly days: number;
  /** Container lifecycles a day (create, start, stop, remove: four intents and results, six events, one plan each). */
  readonly lifecyclesPerDay: number;
  /** Opens timed per journal, each in a fresh process. */
  readonly runs: number;
}

interface JournalFigures {
  readonly disk_mib: number;
  readonly open_ms: Summary;
  readonly rss_mib: Summary;
  /** Ownership records open read into memory. */
  readonly owner_records: number;
}

/**
 * A synthetic journal of `days` of churn, opened as written (no retention: what every journal was) and
 * after the default retention rules ran over it (the journal at its retention limit), each in fresh processes.
 */
export interface JournalOpenResult {
  readonly benchmark: 'journal-open';
  readonly days: number;
  readonly written: { readonly intents: number; readonly events: number; readonly owner_records: number; readonly plans: number; readonly seconds: number };
  /** The default rules' passes over the unpruned journal until one deletes nothing (a backlog takes several). */
  readonly retention: { readonly passes: number; readonly seconds: number; readonly deleted: Readonly<Record<PrunedKind, number>> };
  readonly empty: JournalFigures;
  readonly unbounded: JournalFigures;
  readonly retained: JournalFigures;
}

export async function runJournalOpen(options: JournalOpenOptions): Promise<JournalOpenResult> {
  const root = await mkdtemp(join(tmpdir(), 'hw-bench-journal-'));
  try {
    const unboundedDir = join(root, 'unbounded');
    const retainedDir = join(root, 'retained');
    const emptyDir = join(root, 'empty');
    const end = new Date();
    const started = performance.now();
    const { written, live } = await writeChurn(unboundedDir, options, end);
    const writeSeconds = (performance.now() - started) / 1000;
    progress(`wrote ${written.intents} intents, ${written.events} events, ${written.owner_records} owner records in ${round(writeSeconds, 1)} s`);

    await cp(unboundedDir, retainedDir, { recursive: true });
    const retention = await pruneToLimit(retainedDir, end, live);
    progress(`retention: ${retention.passes} passes, ${retention.seconds} s`);
    await (await Journal.open(emptyDir)).close();

    const figures = { empty: [] as Sample[], unbounded: [] as Sample[], retained: [] as Sample[] };
    // Interleaved: load on the shared machine hits all three alike.
    for (let index = 0; index < options.runs; index += 1) {
      figures.empty.push(await openInChild(emptyDir));
      figures.unbounded.push(await openInChild(unboundedDir));
      figures.retained.push(await openInChild(retainedDir));
    }
    return {
      benchmark: 'journal-open',
      days: options.days,
      written: { ...written, seconds: round(writeSeconds, 1) },
      retention,
      empty: await summarizeJournal(emptyDir, figures.empty),
      unbounded: await summarizeJournal(unboundedDir, figures.unbounded),
      retained: await summarizeJournal(retainedDir, figures.retained),
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

interface Sample {
  readonly open_ms: number;
  readonly rss_bytes: number;
  readonly owner_records: number;
}

/** Writes the churn through the Journal API (as an agent does), time moving from `days` ago to `end`; events acknowledged (fleet mode). */
async function writeChurn(dataDir: string, options: JournalOpenOptions, end: Date): Promise<{ written: { intents: number; events: number; owner_records: number; plans: number }; live: LiveObjects }> {
  const journal = await Journal.open(dataDir);
  const config = runtimeConfigOf(benchService());
  const total = Math.round(options.days * options.lifecyclesPerDay);
  const stepMs = (options.days * DAY_MS) / Math.max(1, total);
  const start = end.getTime() - options.days * DAY_MS;
  const written = { intents: 0, events: 0, owner_records: 0, plans: 0 };
  const liveIds = new Set<string>();
  const liveTokens = new Set<string>();
  const hostId = 'bench-host';
  const project = 'churn';
  const event = (at: string, correlationID: string, type: HostwrightEvent['type'], message: string): HostwrightEvent => ({ id: randomUUID(), type, severity: 'info', hostId, project, service: 'web', message, timestamp: at, correlationID });

  const lifecycle = async (index: number): Promise<void> => {
    const at = new Date(start + index * stepMs).toISOString();
    const correlationID = randomUUID();
    const instance = (index % LIVE_CONTAINERS) + 1;
    const key = { project, service: 'web', instance };
    const name = `${project}-web-${instance}`;
    const base = { phase: 'instances' as const, chain: name, reason: 'churn', key, name };
    await journal.recordPlan(correlationID, { plan: { hostId, observedAt: at, actions: [] } }, [event(at, correlationID, 'planned', 'planned 4 actions'), event(at, correlationID, 'drift_detected', `${name} is missing`)]);
    const ownerToken = journal.newOwnerToken({ hostId, ...key, specHash: 'spec' });
    const owner: Omit<OwnerRecord, 'intentSeq'> = { ownerToken, hostId, ...key, name, specHash: 'spec', config, removed: false };
    const containerId = randomUUID().replaceAll('-', '').repeat(2);
    const create = await journal.recordIntent({ correlationID, action: { kind: 'create', id: 'a1', ...base, specHash: 'spec', config }, ownerToken, startedAt: at }, owner);
    await journal.recordResult({ seq: create.seq, outcome: 'done', message: 'created', containerId, finishedAt: at }, [event(at, correlationID, 'applied', `created ${name}`)], [{ ...owner, intentSeq: create.seq, containerId }]);
    const steps = index >= total - LIVE_CONTAINERS ? (['start'] as const) : (['start', 'stop', 'remove'] as const);
    for (const kind of steps) {
      const action = kind === 'start' ? { kind, id: 'a2', ...base, containerId, repair: false } : kind === 'stop' ? { kind, id: 'a3', ...base, containerId, timeoutSeconds: 1 } : { kind, id: 'a4', ...base, containerId, cleanup: false };
      const intent = await journal.recordIntent({ correlationID, action, containerId, startedAt: at });
      const removed = kind === 'remove' ? [{ ...owner, intentSeq: create.seq, containerId, removed: true }] : [];
      await journal.recordResult({ seq: intent.seq, outcome: 'done', message: kind, containerId, finishedAt: at }, [event(at, correlationID, 'applied', `${kind} ${name}`)], removed);
    }
    written.intents += 1 + steps.length;
    written.events += 3 + steps.length;
    written.owner_records += 1;
    written.plans += 1;
    if (steps.length === 1) {
      liveIds.add(containerId);
      liveTokens.add(ownerToken);
    }
  };

  for (let first = 0; first < total; first += CHUNK) {
    await Promise.all(Array.from({ length: Math.min(CHUNK, total - first) }, (_, offset) => lifecycle(first + offset)));
    // Fleet mode: the stream acknowledged everything published.
    for (let pending = await journal.outboxEvents(10_000); pending.length > 0; pending = await journal.outboxEvents(10_000)) await journal.acknowledgeOutbox(pending.map((entry) => entry.seq));
    if ((first / CHUNK) % 20 === 0) progress(`writing churn: ${first + CHUNK} / ${total} lifecycles`);
  }
  await journal.close();
  const none = { ids: new Set<string>(), ownerTokens: new Set<string>() };
  return { written, live: { containers: { ids: liveIds, ownerTokens: liveTokens }, networks: none, volumes: none } };
}

/** The default rules, as an agent runs them, until a pass deletes nothing (ownership records go on the second pass that finds them gone). */
async function pruneToLimit(dataDir: string, now: Date, live: LiveObjects): Promise<JournalOpenResult['retention']> {
  const journal = await Journal.open(dataDir);
  const deleted: Record<PrunedKind, number> = { events: 0, outbox: 0, intents: 0, results: 0, plans: 0, owners: 0, resources: 0, desired: 0, refusals: 0 };
  const started = performance.now();
  let passes = 0;
  for (;;) {
    passes += 1;
    // Ownership records go once a pass finds them still gone goneRecordMs after the first that did: passes after the first run that much later.
    const at = new Date(now.getTime() + (passes > 1 ? DEFAULT_RETENTION.goneRecordMs : 0));
    const report = await journal.prune({ policy: DEFAULT_RETENTION, now: at, outboxPublished: true, listLive: async () => live });
    let total = 0;
    for (const [kind, count] of Object.entries(report.deleted) as [PrunedKind, number][]) {
      deleted[kind] += count;
      total += count;
    }
    if (total === 0 && passes > 1) break;
  }
  await journal.close();
  return { passes, seconds: round((performance.now() - started) / 1000, 1), deleted };
}

async function openInChild(dataDir: string): Promise<Sample> {
  const child = fileURLToPath(new URL('./journal-open-child.js', import.meta.url));
  const { stdout } = await run(process.execPath, [child, dataDir]);
  return JSON.parse(stdout) as Sample;
}

async function summarizeJournal(dataDir: string, samples: readonly Sample[]): Promise<JournalFigures> {
  return {
    disk_mib: round((await directoryBytes(join(dataDir, 'journal'))) / 2 ** 20, 1),
    open_ms: summarize(samples.map((sample) => sample.open_ms), 1),
    rss_mib: summarize(samples.map((sample) => sample.rss_bytes / 2 ** 20), 1),
    owner_records: samples[0]?.owner_records ?? 0,
  };
}

async function directoryBytes(dir: string): Promise<number> {
  let bytes = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) bytes += entry.isDirectory() ? await directoryBytes(join(dir, entry.name)) : (await stat(join(dir, entry.name))).size;
  return bytes;
}

export function journalOpenRows(result: JournalOpenResult): [string, string][] {
  const row = (label: string, figures: JournalFigures): [string, string] => [label, `${figures.open_ms.median} ms open (p95 ${figures.open_ms.p95}), ${figures.rss_mib.median} MiB RSS, ${figures.disk_mib} MiB on disk, ${figures.owner_records} owner records in memory`];
  return [
    ['churn written', `${result.days} days: ${result.written.intents} intents, ${result.written.events} events, ${result.written.owner_records} owner records, ${result.written.plans} plans (${result.written.seconds} s)`],
    ['retention (default rules)', `${result.retention.passes} passes, ${result.retention.seconds} s, deleted ${Object.entries(result.retention.deleted).filter(([, count]) => count > 0).map(([kind, count]) => `${count} ${kind}`).join(', ')}`],
    row('empty journal', result.empty),
    row('without retention', result.unbounded),
    row('at its retention limit', result.retained),
  ];
}
