// The reconcile cycle, the seed's loop step by step. Its contract (request, context, report) is in
// cycle.ts; how a plan's actions run between intent and result is in apply-plan.ts.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { EventDraft, HostwrightEvent } from '../shared/events.js';
import type { HostDesired } from '../shared/host-desired.js';
import type { GateBlock, HostStatus } from '../shared/host-status.js';
import { projectOfAction, type Action, type ActionOf } from '../shared/actions.js';
import { applyPlan, type PlanTarget } from './apply-plan.js';
import { plannedEvents } from './core/action-events.js';
import { normalizeImageRef } from './core/images.js';
import { diffHost, type HostDiff } from './core/diff.js';
import { evaluateGates, runnableActions } from './core/gates.js';
import { STRICT_HOST_POLICY, type HostPolicy } from './core/host-policy.js';
import { OwnEchoes } from './core/own-echoes.js';
import { planHost, type ActionPlan, type PlanMode } from './core/planner.js';
import type { RuntimeSnapshot } from './core/snapshot.js';
import { hostStatus, statusTransitionEvents } from './core/status.js';
import type { ActionReport, CycleContext, CycleReport, CycleRequest } from './cycle.js';
import { stampEvents } from './host-events.js';
import { Observer } from './observer.js';
import { resolveUnfinishedIntents } from './recovery.js';
import type { RuntimeAdapter } from './runtime/runtime-adapter.js';
import type { Journal } from './store/journal.js';

export interface ReconcilerOptions {
  readonly runtime: RuntimeAdapter;
  readonly journal: Journal;
  readonly hostId: string;
  /** Prepended to container names; lets several simulated hosts share one engine. */
  readonly namePrefix?: string;
  /** Chains of actions run at once within a phase. */
  readonly parallelism?: number;
  readonly logger: Logger;
  readonly now?: () => Date;
  /** Told how many mutating cycles run at the moment one starts or ends (the agent loop keeps it at one). */
  readonly onCyclesInFlight?: (inFlight: number) => void;
  /** What desired state may ask of this host beyond an ordinary container (agent/core/host-policy.ts); strict when omitted. */
  readonly policy?: HostPolicy;
}

/** A cycle's plan: the diff it came from, the gates' verdicts and the actions they let run. */
interface Planned {
  readonly diff: HostDiff;
  readonly plan: ActionPlan;
  readonly blocks: readonly GateBlock[];
  readonly runnable: readonly Action[];
}

/**
 * One reconcile cycle: load desired, observe, diff, plan, gate, persist plan and intent, apply
 * idempotently, record events and status, observe again. Level-based: it never looks at what woke it.
 */
export class Reconciler {
  readonly observer: Observer;
  /** The runtime events this reconciler's own actions cause: they need no new cycle. */
  readonly echoes: OwnEchoes;
  readonly #options: Required<Omit<ReconcilerOptions, 'now' | 'onCyclesInFlight'>> & Pick<ReconcilerOptions, 'onCyclesInFlight'> & { now: () => Date };
  #cyclesInFlight = 0;

  constructor(options: ReconcilerOptions) {
    this.#options = { namePrefix: '', parallelism: 4, now: () => new Date(), policy: STRICT_HOST_POLICY, ...options };
    this.observer = new Observer(options.runtime, options.journal, options.hostId, this.#options.now);
    this.echoes = new OwnEchoes(() => this.#options.now().getTime());
  }

  get hostId(): string {
    return this.#options.hostId;
  }

  /** Runs one cycle as the request asks; the context only cancels it or listens to it. */
  async runCycle(request: CycleRequest = {}, context: CycleContext = {}): Promise<CycleReport> {
    if (request.dryRun) return this.#runCycle(request, context);
    this.#options.onCyclesInFlight?.((this.#cyclesInFlight += 1));
    try {
      return await this.#runCycle(request, context);
    } finally {
      this.#options.onCyclesInFlight?.((this.#cyclesInFlight -= 1));
    }
  }

  /** pulledThisCycle: the second pass of a cycle whose pulls may have moved a tag (pull_policy always, daily, …). */
  async #runCycle(request: CycleRequest, context: CycleContext, pulledThisCycle?: ReadonlySet<string>): Promise<CycleReport> {
    // Load desired state: the agent's own store, or the candidate a dry run plans against.
    const desired = request.candidate ? [...request.candidate] : await this.#options.journal.desiredDocuments();
    const modes = await this.#modes(desired, request.explicit === true);
    const correlationID = this.#correlationID(request, desired, modes);
    const log = this.#options.logger.child({ correlationID });
    // Intents a crash (or a failed journal write) left open are resolved before anything new is planned.
    if (!request.dryRun) await this.#resolveUnfinishedIntents(log);

    // Observe the runtime: one snapshot, with timestamps and ownership verdicts.
    const snapshot = await this.observer.observe();

    // Diff, plan and safety gates: pure, the same input gives the same plan byte for byte.
    const planned = this.#planFrom(desired, snapshot, modes, pulledThisCycle);
    context.onProgress?.({ type: 'planned', plan: planned.plan, runnable: planned.runnable, blocks: planned.blocks });
    log.debug({ actions: planned.plan.actions.length, runnable: planned.runnable.length, blocks: planned.blocks.length }, 'planned');
    if (request.dryRun) return { correlationID, dryRun: true, ...planned, results: [], failed: false, status: undefined };

    // Persist the plan before any mutation (each action's intent is persisted as it runs).
    const before = await this.#recordPlan(planned, correlationID);

    // Apply idempotently: intent fsync'd before each mutation, its result right after.
    const results = await applyPlan(planned.runnable, this.#planTarget(correlationID), context);
    const failed = results.some((report) => report.outcome === 'failed');

    // Record the revisions this cycle converged.
    await this.#markApplied(planned, results, before.appliedRevisions);
    if (failed) log.warn({ failures: results.filter((r) => r.outcome === 'failed').map((r) => r.message) }, 'cycle stopped at a failed action');

    // Observe again when something ran: status reflects what is running now, not what the plan hoped for.
    const observed = results.length > 0 ? await this.observeStatus() : await this.#statusOf(desired, snapshot);

    // Record events and status transitions: rejections reached after all are lifted, changes become events.
    const status = await this.#recordStatus(desired, observed, before, correlationID);
    log.info({ actions: results.length, failed, converged: status.projects.every((p) => p.converged) }, 'cycle finished');
    // A pull of a present image may have moved its tag: plan once more, so the instances follow in this cycle.
    const repulled = results.filter((report) => report.action.kind === 'pull-image' && report.outcome === 'done' && report.action.reason.startsWith('pull_policy'));
    if (!failed && pulledThisCycle === undefined && repulled.length > 0) {
      const pulled = new Set(repulled.map((report) => normalizeImageRef((report.action as ActionOf<'pull-image'>).image)));
      const next = await this.#runCycle({ ...request, correlationID }, context, pulled);
      return { ...next, results: [...results, ...next.results] };
    }
    return { correlationID, dryRun: false, ...planned, results, failed, status };
  }

  /** Observes and computes status without changing anything. */
  async observeStatus(desiredOverride?: readonly HostDesired[]): Promise<HostStatus> {
    const desired = desiredOverride ? [...desiredOverride] : await this.#options.journal.desiredDocuments();
    return this.#statusOf(desired, await this.observer.observe());
  }

  /** Converge a revision not yet applied (unless it was rejected); otherwise only maintain it. */
  async #modes(desired: readonly HostDesired[], explicit: boolean): Promise<Map<string, PlanMode>> {
    const applied = await this.#options.journal.appliedRevisions();
    const rejected = await this.#options.journal.rejectedRevisions();
    return new Map(
      desired.map((document): [string, PlanMode] => {
        if (explicit) return [document.project, 'converge'];
        const settled = applied.get(document.project) === document.revision || rejected.get(document.project)?.revision === document.revision;
        return [document.project, settled ? 'maintain' : 'converge'];
      }),
    );
  }

  /** The request's, else that of the request that wrote a revision this cycle converges, else a fresh one. */
  #correlationID(request: CycleRequest, desired: readonly HostDesired[], modes: ReadonlyMap<string, PlanMode>): string {
    return request.correlationID ?? desired.find((document) => modes.get(document.project) === 'converge' && document.correlationID)?.correlationID ?? randomUUID();
  }

  #resolveUnfinishedIntents(log: Logger): Promise<unknown> {
    const { journal, runtime, hostId, now } = this.#options;
    return resolveUnfinishedIntents({ journal, runtime, hostId, logger: log, now });
  }

  #planFrom(desired: readonly HostDesired[], snapshot: RuntimeSnapshot, modes: ReadonlyMap<string, PlanMode>, pulledThisCycle?: ReadonlySet<string>): Planned {
    const { journal, now } = this.#options;
    const diff = diffHost({ desired, snapshot, journal, namePrefix: this.#options.namePrefix });
    const pulls = { lastPulledAt: journal.imagesLastPulledAt(), now: now().toISOString(), ...(pulledThisCycle ? { pulledThisCycle } : {}) };
    const plan = planHost({ diff, desired, snapshot, modes, pulls });
    const blocks = evaluateGates({ plan, diff, desired, snapshot, policy: this.#options.policy });
    return { diff, plan, blocks, runnable: runnableActions(plan, blocks) };
  }

  /**
   * The plan, its verdicts and the events known before anything runs (status transitions, planned
   * actions), fsync'd in one write; a cycle with nothing to do and nothing new to say writes nothing
   * (no fsync on the no-op path). Returns the status before the cycle, as stored and as planned.
   */
  async #recordPlan(planned: Planned, correlationID: string): Promise<{ stored: HostStatus | undefined; planned: HostStatus; appliedRevisions: ReadonlyMap<string, number> }> {
    const { journal } = this.#options;
    const stored = await journal.getStatus();
    const appliedRevisions = await journal.appliedRevisions();
    const status = this.#statusFrom(planned, appliedRevisions);
    const events = [...statusTransitionEvents(stored, status), ...plannedEvents(planned.plan, planned.runnable)];
    if (planned.runnable.length > 0 || events.length > 0) {
      await journal.recordPlan(correlationID, { plan: planned.plan, blocks: planned.blocks, runnable: planned.runnable.map((action) => action.id) }, this.#stamp(events, correlationID));
    }
    return { stored, planned: status, appliedRevisions };
  }

  #planTarget(correlationID: string): PlanTarget {
    const { runtime, journal, hostId, parallelism, now } = this.#options;
    return { runtime, journal, hostId, parallelism, now, echoes: this.echoes, correlationID };
  }

  /** A converged revision is applied unless one of its project's actions (or an image pull) failed or a gate blocked it. */
  async #markApplied({ plan, blocks }: Planned, results: readonly ActionReport[], appliedBefore: ReadonlyMap<string, number>): Promise<void> {
    for (const revision of plan.projects) {
      const projectFailed = results.some((report) => report.outcome === 'failed' && (report.action.kind === 'pull-image' || projectOfAction(report.action) === revision.project));
      if (revision.mode === 'converge' && !projectFailed && !blocks.some((block) => block.project === revision.project) && appliedBefore.get(revision.project) !== revision.revision) {
        await this.#options.journal.markApplied({ project: revision.project, revision: revision.revision, appliedAt: this.#options.now().toISOString() });
      }
    }
  }

  /**
   * Lifts rejections the host has reached since (then observes once more), records the events of
   * what changed since the plan and stores the status when it differs from the stored one. Returns
   * the status as stored.
   */
  async #recordStatus(desired: readonly HostDesired[], observed: HostStatus, before: { stored: HostStatus | undefined; planned: HostStatus }, correlationID: string): Promise<HostStatus> {
    const { journal } = this.#options;
    const status = (await this.#liftReachedRejections(observed, correlationID)) ? await this.#statusOf(desired, await this.observer.observe()) : observed;
    const events = statusTransitionEvents(before.planned, status);
    if (events.length > 0) await journal.appendEvents(this.#stamp(events, correlationID));
    if (!sameStatus(before.stored, status)) await journal.putStatus(status);
    return status;
  }

  /**
   * A revision rejected after failed attempts that the host has reached since (the engine
   * recovered, drift repair finished the job) is applied after all: the rejection is lifted, with
   * an event. True when one was.
   */
  async #liftReachedRejections(status: HostStatus, correlationID: string): Promise<boolean> {
    const { journal } = this.#options;
    const rejected = await journal.rejectedRevisions();
    let lifted = false;
    for (const project of status.projects) {
      const rejection = rejected.get(project.project);
      if (!project.converged || rejection === undefined || rejection.revision !== project.desiredRevision) continue;
      const at = this.#options.now().toISOString();
      await journal.markApplied({ project: project.project, revision: rejection.revision, appliedAt: at });
      await journal.setRejected({ project: project.project });
      await journal.appendEvents(this.#stamp([{ type: 'applied', severity: 'info', project: project.project, message: `revision ${rejection.revision} reached after all (it had been rejected: ${rejection.reason})` }], correlationID));
      lifted = true;
    }
    return lifted;
  }

  /** Status of one snapshot: what a full converge would still change, drift, blocks and rejections. */
  async #statusOf(desired: readonly HostDesired[], snapshot: RuntimeSnapshot): Promise<HostStatus> {
    const { journal } = this.#options;
    const converge = new Map(desired.map((document) => [document.project, 'converge' as const]));
    const status = this.#statusFrom(this.#planFrom(desired, snapshot, converge), await journal.appliedRevisions());
    const rejected = await journal.rejectedRevisions();
    const refusals = await journal.desiredRefusals();
    return {
      ...status,
      ...(refusals.length > 0 ? { refusedDesired: refusals } : {}),
      projects: status.projects.map((project) => {
        const rejection = rejected.get(project.project);
        return rejection && rejection.revision === project.desiredRevision ? { ...project, rejected: { revision: rejection.revision, reason: rejection.reason } } : project;
      }),
    };
  }

  #statusFrom({ diff, plan, blocks }: Planned, appliedRevisions: ReadonlyMap<string, number>): HostStatus {
    return hostStatus({ diff, plan, blocks, appliedRevisions, namePrefix: this.#options.namePrefix });
  }

  #stamp(drafts: readonly EventDraft[], correlationID: string): HostwrightEvent[] {
    return stampEvents(drafts, { hostId: this.#options.hostId, timestamp: this.#options.now().toISOString(), correlationID });
  }
}

/** Equal apart from the observation time: no need to write it again. */
function sameStatus(previous: HostStatus | undefined, next: HostStatus): boolean {
  return previous !== undefined && JSON.stringify({ ...previous, observedAt: '' }) === JSON.stringify({ ...next, observedAt: '' });
}
