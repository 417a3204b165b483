import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { InvalidInputError } from '../shared/errors.js';
import type { CycleReport } from './cycle.js';

/** The agent's Prometheus metrics, in a registry of its own (no global state). */
export class AgentMetrics {
  readonly registry = new Registry();
  readonly cycles = new Counter({ name: 'hostwright_cycles_total', help: 'Reconcile cycles by result', labelNames: ['result'], registers: [this.registry] });
  readonly cycleDuration = new Histogram({ name: 'hostwright_cycle_duration_seconds', help: 'Duration of reconcile cycles', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers: [this.registry] });
  readonly actions = new Counter({ name: 'hostwright_actions_total', help: 'Actions by kind and outcome', labelNames: ['kind', 'outcome'], registers: [this.registry] });
  readonly drift = new Gauge({ name: 'hostwright_drift_instances', help: 'Instances currently drifted, by kind', labelNames: ['kind'], registers: [this.registry] });
  readonly outboxDepth = new Gauge({ name: 'hostwright_outbox_depth', help: 'Events recorded but not yet acknowledged by the event stream', registers: [this.registry] });
  readonly natsConnected = new Gauge({ name: 'hostwright_nats_connected', help: '1 when connected to NATS', registers: [this.registry] });
  readonly cyclesInFlight = new Gauge({ name: 'hostwright_cycles_in_flight', help: 'Mutating reconcile cycles running now', registers: [this.registry] });
  readonly cyclesInFlightMax = new Gauge({ name: 'hostwright_cycles_in_flight_max', help: 'Most mutating reconcile cycles ever seen running at once (1 when single-flight holds)', registers: [this.registry] });
  readonly journalMemory = new Gauge({
    name: 'hostwright_journal_memory_bytes',
    help: "LevelDB's estimate of the memory the journal holds (memtables and block cache), read at each scrape",
    registers: [this.registry],
    collect: () => {
      if (this.#journal) this.journalMemory.set(this.#journal.levelMemoryBytes);
    },
  });
  lastCycleAt: string | undefined;
  #cyclesInFlightMax = 0;
  #journal: { readonly levelMemoryBytes: number } | undefined;

  /** The journal whose memory figure each scrape reads. */
  watchJournal(journal: { readonly levelMemoryBytes: number }): void {
    this.#journal = journal;
  }

  recordCyclesInFlight(inFlight: number): void {
    this.cyclesInFlight.set(inFlight);
    if (inFlight > this.#cyclesInFlightMax) {
      this.#cyclesInFlightMax = inFlight;
      this.cyclesInFlightMax.set(inFlight);
    }
  }

  recordCycle(report: CycleReport | Error, durationSeconds: number): void {
    this.cycleDuration.observe(durationSeconds);
    if (report instanceof Error) {
      this.cycles.inc({ result: 'error' });
      return;
    }
    this.lastCycleAt = new Date().toISOString();
    this.cycles.inc({ result: report.failed ? 'failed' : report.blocks.length > 0 ? 'blocked' : 'ok' });
    for (const result of report.results) this.actions.inc({ kind: result.action.kind, outcome: result.outcome });
    const counts = new Map<string, number>([['missing', 0], ['stopped', 0], ['modified', 0], ['unhealthy', 0]]);
    for (const project of report.status?.projects ?? []) for (const instance of project.instances) for (const kind of instance.drift) counts.set(kind, (counts.get(kind) ?? 0) + 1);
    for (const [kind, count] of counts) this.drift.set({ kind }, count);
  }

  /** Serves /metrics and /healthz on a loopback (or given) address "host:port". */
  async serve(address: string): Promise<Server> {
    const at = address.lastIndexOf(':');
    const host = address.slice(0, at);
    const port = Number(address.slice(at + 1));
    if (at <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidInputError(`--metrics-addr ${address}: expected host:port, e.g. 127.0.0.1:9464`);
    const server = createServer((request, response) => {
      if (request.url === '/metrics') {
        this.registry.metrics().then((text) => {
          response.writeHead(200, { 'content-type': this.registry.contentType });
          response.end(text);
        }, (error: unknown) => {
          response.writeHead(500);
          response.end(String(error));
        });
      } else if (request.url === '/healthz') {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ ok: true, lastCycleAt: this.lastCycleAt ?? null }));
      } else {
        response.writeHead(404);
        response.end();
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return server;
  }
}
