import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { InvalidInputError, errorMessage } from '../shared/errors.js';
import { HOST_PROJECT } from '../shared/events.js';
import type { HostDesired } from '../shared/host-desired.js';
import type { CycleContext, CycleProgress, CycleReport } from './cycle.js';
import { DEFAULT_FAILURE_POLICY, backoffAfter, nextRetryAtMs, type FailurePolicy, type FailureState } from './core/failure-state.js';
import { failedEvent, stampEvents } from './host-events.js';
import type { PrePullReport, Reconciler } from './reconciler.js';
import type { Journal } from './store/journal.js';

export interface AgentLoopOptions {
  /** Periodic resync even when nothing woke the loop. */
  readonly resyncMs?: number;
  /** Runtime events arriving within this window wake the loop once. */
  readonly debounceMs?: number;
  /** Failed attempts on a project's desired revision before it is reported as rejected. */
  readonly maxAttempts?: number;
  readonly backoffMinMs?: number;
  readonly backoffMaxMs?: number;
  readonly logger: Logger;
  /** Called after every cycle (tests, metrics, the status publisher). */
  readonly onCycle?: (report: CycleReport | Error) => void;
  /** Told what a cycle or a pre-pull is doing (a long pull's layers and bytes, about once a second). */
  readonly onProgress?: (progress: CycleProgress) => void;
}

/** Work that must not overlap a cycle, run between cycles in the order it was asked for. */
interface ExclusiveTask {
  readonly run: () => Promise<void>;
  readonly cancel: (reason: Error) => void;
}

interface PendingTrigger {
  reasons: Set<string>;
  explicit: boolean;
  correlationID: string | undefined;
}

/** What `retry` lifted for a project. */
export interface RetryResult {
  readonly project: string;
  /** The rejection it lifted, if the desired revision was rejected. */
  readonly rejected?: { readonly revision: number; readonly reason: string };
  /** The failure streak it cut short, if the project was backing off. */
  readonly backoff?: { readonly revision: number; readonly attempts: number; readonly reason: string };
}

/**
 * Runs reconcile cycles on triggers: single-flight (one cycle at a time), coalescing (triggers
 * during a cycle become one more cycle). Failures are scoped per project (agent/core/failure-state.ts):
 * each failing project backs off on its own, and its revision is rejected after maxAttempts, so a
 * bad target is reported instead of retried forever and never holds up another project. A cycle
 * that fails as a whole (the engine or the journal) backs off the loop, and rejects nothing.
 */
export class AgentLoop {
  readonly #options: Required<Omit<AgentLoopOptions, 'onCycle' | 'onProgress'>> & Pick<AgentLoopOptions, 'onCycle' | 'onProgress'>;
  readonly #policy: FailurePolicy;
  /** What every cycle and pre-pull runs with: who listens to its progress. */
  readonly #context: CycleContext;
  #pending: PendingTrigger | undefined;
  readonly #exclusive: ExclusiveTask[] = [];
  #running: Promise<void> | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #resync: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  /** Per project: failed attempts in a row on its desired revision, and when it may try again. */
  #failures: FailureState = new Map();
  /** Projects `retry` cleared while a cycle was in flight: that cycle's count must not bring them back. */
  readonly #clearedDuringCycle = new Set<string>();
  /** Cycles in a row that failed as a whole, and when the loop tries again. */
  #cycleFailures = 0;
  #cycleRetryAtMs: number | undefined;
  #stopped = false;

  constructor(
    private readonly reconciler: Reconciler,
    private readonly journal: Journal,
    options: AgentLoopOptions,
  ) {
    this.#options = { resyncMs: 30_000, debounceMs: 250, ...DEFAULT_FAILURE_POLICY, ...options };
    this.#policy = { maxAttempts: this.#options.maxAttempts, backoffMinMs: this.#options.backoffMinMs, backoffMaxMs: this.#options.backoffMaxMs };
    this.#context = options.onProgress ? { onProgress: options.onProgress } : {};
  }

  start(): void {
    this.#resync = setInterval(() => this.trigger('resync'), this.#options.resyncMs);
    this.trigger('start');
  }

  /** Wakes the loop now. An explicit trigger converges even rejected revisions, projects backing off and report-only drift. */
  trigger(reason: string, request: { explicit?: boolean; correlationID?: string } = {}): void {
    if (this.#stopped) return;
    const pending = (this.#pending ??= { reasons: new Set(), explicit: false, correlationID: undefined });
    pending.reasons.add(reason);
    pending.explicit ||= request.explicit === true;
    pending.correlationID ??= request.correlationID;
    if (!this.#running) this.#running = this.#drain();
  }

  /**
   * Wakes the loop once after a burst of runtime events has settled, with the reason `settled`
   * gives then; undefined (the burst needs no cycle) leaves the loop asleep.
   */
  triggerDebounced(settled: () => string | undefined): void {
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      const reason = settled();
      if (reason !== undefined) this.trigger(reason);
    }, this.#options.debounceMs);
  }

  /**
   * Lifts a project's rejection and cuts its backoff short, with an event, and wakes the loop: its
   * desired revision is tried again (and rejected again after as many failed attempts).
   */
  async retry(project: string, correlationID: string = randomUUID()): Promise<RetryResult> {
    const document = (await this.journal.desiredDocuments()).find((candidate) => candidate.project === project);
    if (!document) throw new InvalidInputError(`project ${project} has no desired state on host ${this.reconciler.hostId}`);
    const rejection = (await this.journal.rejectedRevisions()).get(project);
    const rejected = rejection?.revision === document.revision ? { revision: rejection.revision, reason: rejection.reason } : undefined;
    const streak = this.#failures.get(project);
    const backoff = streak ? { revision: streak.revision, attempts: streak.attempts, reason: streak.reason } : undefined;
    if (rejection) await this.journal.setRejected({ project });
    const failures = new Map(this.#failures);
    failures.delete(project);
    this.#failures = failures;
    if (this.#running) this.#clearedDuringCycle.add(project);
    const lifted = rejected ? `rejection of revision ${rejected.revision} lifted (${rejected.reason})` : backoff ? `backoff after ${backoff.attempts} failed attempt(s) cut short (${backoff.reason})` : 'nothing to lift (neither rejected nor backing off)';
    await this.journal.appendEvents(stampEvents([{ type: 'planned', severity: 'info', project, message: `retry requested: ${lifted}; revision ${document.revision} is tried again` }], { hostId: this.reconciler.hostId, timestamp: new Date().toISOString(), correlationID }));
    this.#options.logger.info({ project, revision: document.revision, correlationID }, 'retry requested');
    this.trigger('retry', { correlationID });
    return { project, ...(rejected ? { rejected } : {}), ...(backoff ? { backoff } : {}) };
  }

  /**
   * Pulls what a candidate revision needs (Reconciler.prePull), between two cycles: a cycle starts
   * by resolving open intents, so it must not run while the pre-pull's are open. Cycles asked for
   * meanwhile run right after it.
   */
  prePull(candidate: HostDesired, correlationID: string): Promise<PrePullReport> {
    if (this.#stopped) return Promise.reject(new Error('the agent is stopping'));
    return new Promise((resolve, reject) => {
      this.#exclusive.push({ run: () => this.reconciler.prePull(candidate, correlationID, this.#context).then(resolve, reject), cancel: reject });
      if (!this.#running) this.#running = this.#drain();
    });
  }

  /** Stops scheduling; resolves when the cycle in flight (if any) has finished and recorded its results. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const task of this.#exclusive.splice(0)) task.cancel(new Error('the agent is stopping'));
    clearTimeout(this.#debounce);
    clearInterval(this.#resync);
    clearTimeout(this.#retry);
    this.#pending = undefined;
    await this.#running;
  }

  async #drain(): Promise<void> {
    try {
      while ((this.#pending || this.#exclusive.length > 0) && !this.#stopped) {
        const task = this.#exclusive.shift();
        if (task) {
          await task.run();
          continue;
        }
        const trigger = this.#pending;
        if (!trigger) break;
        this.#pending = undefined;
        await this.#cycle(trigger);
      }
    } finally {
      this.#running = undefined;
    }
  }

  async #cycle(trigger: PendingTrigger): Promise<void> {
    const correlationID = trigger.correlationID ?? randomUUID();
    const log = this.#options.logger.child({ correlationID });
    log.debug({ reasons: [...trigger.reasons] }, 'cycle triggered');
    this.#clearedDuringCycle.clear();
    try {
      const report = await this.reconciler.runCycle({ explicit: trigger.explicit, ...(trigger.correlationID ? { correlationID: trigger.correlationID } : {}), failures: { state: this.#failures, policy: this.#policy } }, this.#context);
      this.#cycleFailures = 0;
      this.#cycleRetryAtMs = undefined;
      const failures = new Map(report.failures ?? this.#failures);
      for (const project of this.#clearedDuringCycle) failures.delete(project);
      for (const failure of failures.values()) {
        if (this.#failures.get(failure.project)?.attempts === failure.attempts) continue;
        this.#options.logger.child({ correlationID: report.correlationID }).warn({ project: failure.project, revision: failure.revision, attempt: failure.attempts, retryInMs: failure.backoffMs, reason: failure.reason }, 'project failing; backing off');
      }
      this.#failures = failures;
      this.#options.onCycle?.(report);
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      this.#options.onCycle?.(failure);
      if (this.#cycleFailures === 0) {
        // One event per failure streak: the log has every attempt, the event stream the fact.
        await this.journal
          .appendEvents([failedEvent({ hostId: this.reconciler.hostId, project: HOST_PROJECT, message: `reconcile cycle failed: ${errorMessage(error)}; retrying with backoff`, correlationID })])
          .catch((journalError: unknown) => log.error({ err: journalError }, 'cannot record the failure event'));
      }
      // A cycle that failed as a whole says nothing about any one project: it backs off, and rejects nothing.
      this.#cycleFailures += 1;
      const delay = backoffAfter(this.#cycleFailures, this.#policy);
      this.#cycleRetryAtMs = Date.now() + delay;
      log.warn({ attempt: this.#cycleFailures, retryInMs: delay, reason: errorMessage(error) }, 'cycle failed; backing off');
    } finally {
      this.#scheduleRetry();
      await this.journal.flushEventSummaries().catch((error: unknown) => log.error({ err: error }, 'cannot record the event summaries'));
    }
  }

  /** One timer, for the earliest of the loop's own retry and the projects' backoffs. */
  #scheduleRetry(): void {
    clearTimeout(this.#retry);
    const projects = nextRetryAtMs(this.#failures);
    const at = projects === undefined ? this.#cycleRetryAtMs : this.#cycleRetryAtMs === undefined ? projects : Math.min(projects, this.#cycleRetryAtMs);
    if (at === undefined || this.#stopped) return;
    // A few ms late rather than early: a project still backing off when the cycle starts would be held again.
    this.#retry = setTimeout(() => this.trigger('retry'), Math.max(0, at - Date.now()) + RETRY_SLACK_MS);
  }
}

/** Added to a retry timer so that it never fires before the backoff it waits for has ended. */
const RETRY_SLACK_MS = 5;
