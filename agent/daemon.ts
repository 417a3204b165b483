import type { Server } from 'node:http';
import { HOST_PROJECT } from '../shared/events.js';
import { errorMessage } from '../shared/errors.js';
import { sleep } from '../shared/sleep.js';
import { AgentLoop } from './agent-loop.js';
import { agentHostOn, type AgentHost, type AgentHostOptions } from './agent-host.js';
import { startControlServer } from './control-server.js';
import { DEFAULT_EVENT_RATE_LIMIT } from './core/event-rate-limit.js';
import type { CycleProgress, CycleReport } from './cycle.js';
import { failedEvent } from './host-events.js';
import { runRetention, type RetentionSchedule } from './journal-retention.js';
import { AgentMetrics } from './metrics.js';
import { wakeOnRuntimeEvents } from './runtime-triggers.js';
import { openJournalWhenWritable } from './store/open-journal.js';

// The one shape of a Hostwright daemon: journal, loop, runtime events, control socket, metrics,
// and a stop that finishes the cycle in flight. Where desired state comes from is injected.

/** Where a daemon's desired state comes from: NATS (the fleet) or a fleet file (local mode). */
export interface DesiredSource {
  /** Before the loop's first cycle (local mode reads its file here). */
  start?(daemon: AgentDaemon): Promise<void>;
  /** Until the daemon's signal aborts: stores each new document in the journal and wakes the loop. */
  run(daemon: AgentDaemon): Promise<void>;
  /** After every cycle (the fleet publishes the status it computed). */
  onCycle?(report: CycleReport | Error): void;
  /** What a cycle or a pre-pull is doing (the fleet shows a long pull's progress in its status). */
  onProgress?(progress: CycleProgress): void;
  /** Once the loop has stopped, before the journal closes (the fleet's last status). */
  stop?(): Promise<void>;
  /** Whether it acknowledges the event outbox (the fleet publishes it); otherwise retention bounds the outbox. */
  readonly publishesEvents?: boolean;
}

export interface AgentDaemonOptions extends Omit<AgentHostOptions, 'onCyclesInFlight'> {
  readonly dataDir: string;
  readonly resyncMs: number;
  readonly metricsAddr?: string | undefined;
  readonly signal: AbortSignal;
  /** The journal's retention rules and how often they run (defaults: DEFAULT_RETENTION, every 10 minutes). */
  readonly retention?: RetentionSchedule;
  /** Told once everything is started (tests, the CLI). */
  readonly onReady?: () => void;
}

/** A stopped source waits at most this long for its work in flight (a connect still retrying, say). */
const SOURCE_STOP_WAIT_MS = 3_000;

export class AgentDaemon {
  readonly metrics = new AgentMetrics();
  readonly host: AgentHost;
  readonly loop: AgentLoop;
  #source: DesiredSource | undefined;
  #cycleStarted = Date.now();

  private constructor(
    readonly options: AgentDaemonOptions,
    journal: AgentHost['journal'],
  ) {
    this.host = agentHostOn(journal, { ...options, onCyclesInFlight: (inFlight) => this.metrics.recordCyclesInFlight(inFlight) });
    this.metrics.watchJournal(journal);
    this.loop = new AgentLoop(this.host.reconciler, journal, {
      resyncMs: options.resyncMs,
      logger: options.logger.child({ component: 'loop' }),
      onCycle: (report) => {
        this.metrics.recordCycle(report, (Date.now() - this.#cycleStarted) / 1000);
        this.#cycleStarted = Date.now();
        this.#source?.onCycle?.(report);
      },
      onProgress: (progress) => this.#source?.onProgress?.(progress),
    });
  }

  /**
   * Opens the journal once the data dir can be written (a read-only or full disk is waited for,
   * and recorded as an event once it opens); undefined when the signal aborted first.
   */
  static async open(options: AgentDaemonOptions): Promise<AgentDaemon | undefined> {
    const opened = await openJournalWhenWritable(options.dataDir, options.logger, options.signal);
    if (!opened) return undefined;
    if (opened.unavailable) {
      const { since, reason } = opened.unavailable;
      const message = `the journal could not be opened for ${Math.round((Date.now() - since.getTime()) / 1000)} s (${reason}); no container was changed meanwhile`;
      options.logger.warn({ since: since.toISOString() }, message);
      await opened.journal.appendEvents([failedEvent({ hostId: options.hostId, project: HOST_PROJECT, message, severity: 'warning' })]);
    }
    // A daemon runs for months: a storm of events (whatever its cause) is cut to a few and a summary.
    opened.journal.limitEventRate(DEFAULT_EVENT_RATE_LIMIT);
    return new AgentDaemon(options, opened.journal);
  }

  /** Runs until the signal aborts, then finishes the cycle in flight, stops the source and closes everything. */
  async run(source: DesiredSource): Promise<void> {
    const { logger: log, signal } = this.options;
    this.#source = source;
    wakeOnRuntimeEvents(this.host.runtime, this.host.reconciler, this.loop, log, signal);
    const control = await startControlServer(this.options.dataDir, this.host.reconciler, this.host.journal, log.child({ component: 'control' }), this.loop);
    const metricsServer: Server | undefined = this.options.metricsAddr ? await this.metrics.serve(this.options.metricsAddr) : undefined;
    try {
      await source.start?.(this);
      this.loop.start();
      const retaining = runRetention(this.host.journal, this.host.runtime, source.publishesEvents === true, this.options.retention ?? {}, log.child({ component: 'retention' }), signal);
      const running = source.run(this).catch((error: unknown) => log.error({ error: errorMessage(error) }, 'the desired-state source stopped'));
      this.options.onReady?.();
      log.info({ hostId: this.host.hostId, dataDir: this.options.dataDir }, 'agent running');
      // A stop requested during startup has already fired its event: check before waiting for it.
      if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      log.info('stopping: finishing the cycle in flight');
      await this.loop.stop();
      await Promise.race([running, sleep(SOURCE_STOP_WAIT_MS)]);
      await source.stop?.();
      await retaining;
    } finally {
      await new Promise<void>((resolve) => control.close(() => resolve()));
      if (metricsServer) await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
      await this.host.close();
      log.info('stopped');
    }
  }
}
