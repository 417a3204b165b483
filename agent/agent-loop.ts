import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { RuntimeUnreachableError, errorMessage } from '../shared/errors.js';
import { HOST_PROJECT } from '../shared/events.js';
import type { CycleReport } from './cycle.js';
import { failedEvent } from './host-events.js';
import type { Reconciler } from './reconciler.js';
import type { Journal } from './store/journal.js';

export interface AgentLoopOptions {
  /** Periodic resync even when nothing woke the loop. */
  readonly resyncMs?: number;
  /** Runtime events arriving within this window wake the loop once. */
  readonly debounceMs?: number;
  /** Failed cycles on the same desired revisions before they are reported as rejected. */
  readonly maxAttempts?: number;
  readonly backoffMinMs?: number;
  readonly backoffMaxMs?: number;
  readonly logger: Logger;
  /** Called after every cycle (tests, metrics, the status publisher). */
  readonly onCycle?: (report: CycleReport | Error) => void;
}

interface PendingTrigger {
  reasons: Set<string>;
  explicit: boolean;
  correlationID: string | undefined;
}

/**
 * Runs reconcile cycles on triggers: single-flight (one cycle at a time), coalescing (triggers
 * during a cycle become one more cycle), with exponential backoff on failure and a rejected
 * revision after maxAttempts, so a bad target is reported instead of retried forever.
 */
export class AgentLoop {
  readonly #options: Required<Omit<AgentLoopOptions, 'onCycle'>> & Pick<AgentLoopOptions, 'onCycle'>;
  #pending: PendingTrigger | undefined;
  #running: Promise<void> | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #resync: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  #failures = 0;
  /** Of #failures, those where the engine did not answer: they back off but never reject a revision. */
  #unreachableFailures = 0;
  #failingRevisions = '';
  #stopped = false;

  constructor(
    private readonly reconciler: Reconciler,
    private readonly journal: Journal,
    options: AgentLoopOptions,
  ) {
    this.#options = { resyncMs: 30_000, debounceMs: 250, maxAttempts: 5, backoffMinMs: 1_000, backoffMaxMs: 60_000, ...options };
  }

  start(): void {
    this.#resync = setInterval(() => this.trigger('resync'), this.#options.resyncMs);
    this.trigger('start');
  }

  /** Wakes the loop now. An explicit trigger converges even rejected revisions and report-only drift. */
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

  /** Stops scheduling; resolves when the cycle in flight (if any) has finished and recorded its results. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#debounce);
    clearInterval(this.#resync);
    clearTimeout(this.#retry);
    this.#pending = undefined;
    await this.#running;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#pending && !this.#stopped) {
        const trigger = this.#pending;
        this.#pending = undefined;
        await this.#cycle(trigger);
      }
    } finally {
      this.#running = undefined;
    }
  }

  async #cycle(trigger: PendingTrigger): Promise<void> {
    let correlationID = trigger.correlationID ?? randomUUID();
    let log = this.#options.logger.child({ correlationID });
    log.debug({ reasons: [...trigger.reasons] }, 'cycle triggered');
    const revisions = await this.#revisionsKey();
    try {
      const report = await this.reconciler.runCycle({ explicit: trigger.explicit, ...(trigger.correlationID ? { correlationID: trigger.correlationID } : {}) });
      correlationID = report.correlationID;
      log = log.child({ correlationID });
      this.#options.onCycle?.(report);
      if (!report.failed) {
        this.#failures = 0;
        this.#unreachableFailures = 0;
        return;
      }
      const failedAction = report.results.find((r) => r.outcome === 'failed');
      await this.#onFailure(revisions, `action failed: ${failedAction?.message ?? 'unknown'}`, correlationID, log, failedAction?.engineUnreachable !== true);
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      this.#options.onCycle?.(failure);
      if (this.#failures === 0) {
        // One event per failure streak: the log has every attempt, the event stream the fact.
        await this.journal
          .appendEvents([failedEvent({ hostId: this.reconciler.hostId, project: HOST_PROJECT, message: `reconcile cycle failed: ${errorMessage(error)}; retrying with backoff`, correlationID })])
          .catch((journalError: unknown) => log.error({ err: journalError }, 'cannot record the failure event'));
      }
      // An engine that does not answer says nothing about the revision: retry, but never reject it for that.
      await this.#onFailure(revisions, errorMessage(error), correlationID, log, !(error instanceof RuntimeUnreachableError));
    }
  }

  async #onFailure(revisions: string, reason: string, correlationID: string, log: Logger, countsAgainstRevision = true): Promise<void> {
    if (revisions !== this.#failingRevisions) {
      this.#failingRevisions = revisions;
      this.#failures = 0;
      this.#unreachableFailures = 0;
    }
    this.#failures += 1;
    if (!countsAgainstRevision) this.#unreachableFailures += 1;
    if (this.#failures - this.#unreachableFailures >= this.#options.maxAttempts) {
      await this.#reject(reason, correlationID, log);
      this.#failures = 0;
      this.#unreachableFailures = 0;
      return;
    }
    const delay = Math.min(this.#options.backoffMinMs * 2 ** (this.#failures - 1), this.#options.backoffMaxMs);
    log.warn({ attempt: this.#failures, retryInMs: delay, reason }, 'cycle failed; backing off');
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => this.trigger('retry'), delay);
  }

  /** Marks every desired revision not yet applied as rejected, with the reason. */
  async #reject(reason: string, correlationID: string, log: Logger): Promise<void> {
    const applied = await this.journal.appliedRevisions();
    const at = new Date().toISOString();
    for (const document of await this.journal.desiredDocuments()) {
      if (applied.get(document.project) === document.revision) continue;
      await this.journal.setRejected({ project: document.project, revision: document.revision, reason, at });
      await this.journal.appendEvents([failedEvent({ hostId: this.reconciler.hostId, project: document.project, message: `revision ${document.revision} rejected after ${this.#options.maxAttempts} failed attempts: ${reason}`, timestamp: at, correlationID })]);
      log.error({ project: document.project, revision: document.revision, reason }, 'desired revision rejected');
    }
    // Publish the rejection in status: one more (maintain-mode) cycle.
    this.trigger('rejected');
  }

  async #revisionsKey(): Promise<string> {
    const documents = await this.journal.desiredDocuments();
    return documents.map((document) => `${document.project}@${document.revision}`).sort().join(',');
  }
}
