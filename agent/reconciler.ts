import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { RuntimeUnreachableError, errorMessage } from '../shared/errors.js';
import type { EventDraft, HostwrightEvent } from '../shared/events.js';
import type { HostDesired } from '../shared/host-desired.js';
import type { GateBlock, HostStatus } from '../shared/host-status.js';
import { actionResultEvent, plannedEvents } from './core/action-events.js';
import type { Action, ActionKind, ActionOf, Phase } from '../shared/actions.js';
import { diffHost, type HostDiff } from './core/diff.js';
import { evaluateGates, runnableActions } from './core/gates.js';
import { planHost, type ActionPlan, type PlanMode } from './core/planner.js';
import type { OwnerRecord, RuntimeSnapshot } from './core/snapshot.js';
import { hostStatus, statusTransitionEvents } from './core/status.js';
import { actionHandlers, type ActionOutcome, type ExecutionContext } from './executor.js';
import { Observer } from './observer.js';
import { OwnEchoes } from './core/own-echoes.js';
import { resolveUnfinishedIntents } from './recovery.js';
import type { RuntimeAdapter } from './runtime/runtime-adapter.js';
import type { Journal } from './store/journal.js';
import type { Outcome } from './store/records.js';

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
}

export interface CycleRequest {
  /** An explicit apply converges every project, whatever its drift policy or rejected revision. */
  readonly explicit?: boolean;
  /** Plan only: observe, diff, plan and gate, and change nothing (not even the journal). */
  readonly dryRun?: boolean;
  /** Plan against these documents instead of the stored ones (dry-run of a candidate spec). */
  readonly candidate?: readonly HostDesired[];
  readonly correlationID?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: CycleProgress) => void;
}

export type CycleProgress =
  | { readonly type: 'planned'; readonly plan: ActionPlan; readonly runnable: readonly Action[]; readonly blocks: readonly GateBlock[] }
  | { readonly type: 'action-started'; readonly action: Action }
  | { readonly type: 'action-finished'; readonly report: ActionReport };

export interface ActionReport {
  readonly action: Action;
  readonly outcome: Outcome;
  readonly message: string;
  readonly containerId: string | undefined;
  readonly durationMs: number;
  /** Failed because the engine did not answer: nothing is known about the action itself. */
  readonly engineUnreachable?: boolean;
}

export interface CycleReport {
  readonly correlationID: string;
  readonly dryRun: boolean;
  readonly diff: HostDiff;
  readonly plan: ActionPlan;
  readonly blocks: readonly GateBlock[];
  readonly runnable: readonly Action[];
  readonly results: readonly ActionReport[];
  /** True when an action failed; the host was left as it was at that point. */
  readonly failed: boolean;
  /** After the cycle's second observation; undefined for a dry run. */
  readonly status: HostStatus | undefined;
}

const PHASES: readonly Phase[] = ['images', 'cleanup', 'instances'];

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
    this.#options = { namePrefix: '', parallelism: 4, now: () => new Date(), ...options };
    this.observer = new Observer(options.runtime, options.journal, options.hostId, this.#options.now);
    this.echoes = new OwnEchoes(() => this.#options.now().getTime());
  }

  get hostId(): string {
    return this.#options.hostId;
  }

  async runCycle(request: CycleRequest = {}): Promise<CycleReport> {
    if (request.dryRun) return this.#runCycle(request);
    this.#options.onCyclesInFlight?.((this.#cyclesInFlight += 1));
    try {
      return await this.#runCycle(request);
    } finally {
      this.#options.onCyclesInFlight?.((this.#cyclesInFlight -= 1));
    }
  }

  async #runCycle(request: CycleRequest): Promise<CycleReport> {
    const { journal, logger } = this.#options;
    const desired = request.candidate ? [...request.candidate] : await journal.desiredDocuments();
    const modes = await this.#modes(desired, request.explicit === true);
    // A cycle that converges a new revision carries the correlation id of the request that wrote it.
    const correlationID = request.correlationID ?? desired.find((document) => modes.get(document.project) === 'converge' && document.correlationID)?.correlationID ?? randomUUID();
    const log = logger.child({ correlationID });
    // Intents a crash (or a failed journal write) left open are resolved before anything new is planned.
    if (!request.dryRun) await resolveUnfinishedIntents({ journal, runtime: this.#options.runtime, hostId: this.#options.hostId, logger: log, now: this.#options.now });

    const snapshot = await this.observer.observe();
    const { diff, plan, blocks } = this.#planFrom(desired, snapshot, modes);
    const runnable = runnableActions(plan, blocks);
    request.onProgress?.({ type: 'planned', plan, runnable, blocks });
    log.debug({ actions: plan.actions.length, runnable: runnable.length, blocks: blocks.length }, 'planned');
    if (request.dryRun) return { correlationID, dryRun: true, diff, plan, blocks, runnable, results: [], failed: false, status: undefined };

    const previous = await journal.getStatus();
    const appliedBefore = await journal.appliedRevisions();
    const before = this.#statusFrom(diff, plan, blocks, appliedBefore);
    const earlyEvents = [...statusTransitionEvents(previous, before), ...plannedEvents(plan, runnable)];
    // A cycle with nothing to do and nothing new to say writes nothing: no fsync on the no-op path.
    if (runnable.length > 0 || earlyEvents.length > 0) {
      await journal.recordPlan(correlationID, { plan, blocks, runnable: runnable.map((action) => action.id) }, this.#stamp(earlyEvents, correlationID));
    }

    const results = await this.#execute(runnable, correlationID, request);
    const failed = results.some((report) => report.outcome === 'failed');
    for (const revision of plan.projects) {
      const projectFailed = results.some((report) => report.outcome === 'failed' && (report.action.kind === 'pull-image' || report.action.key.project === revision.project));
      if (revision.mode === 'converge' && !projectFailed && !blocks.some((block) => block.project === revision.project) && appliedBefore.get(revision.project) !== revision.revision) {
        await journal.markApplied({ project: revision.project, revision: revision.revision, appliedAt: this.#options.now().toISOString() });
      }
    }
    if (failed) log.warn({ failures: results.filter((r) => r.outcome === 'failed').map((r) => r.message) }, 'cycle stopped at a failed action');

    // Observe again when something ran: status reflects what is running now, not what the plan hoped for.
    let status = results.length > 0 ? await this.observeStatus() : await this.#statusOf(desired, snapshot);
    if (await this.#liftReachedRejections(status, correlationID)) status = await this.#statusOf(desired, await this.observer.observe());
    const lateEvents = statusTransitionEvents(before, status);
    if (lateEvents.length > 0) await journal.appendEvents(this.#stamp(lateEvents, correlationID));
    if (!sameStatus(previous, status)) await journal.putStatus(status);
    log.info({ actions: results.length, failed, converged: status.projects.every((p) => p.converged) }, 'cycle finished');
    return { correlationID, dryRun: false, diff, plan, blocks, runnable, results, failed, status };
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

  /** Observes and computes status without changing anything. */
  async observeStatus(desiredOverride?: readonly HostDesired[]): Promise<HostStatus> {
    const desired = desiredOverride ? [...desiredOverride] : await this.#options.journal.desiredDocuments();
    return this.#statusOf(desired, await this.observer.observe());
  }

  /** Status of one snapshot: what a full converge would still change, drift, blocks and rejections. */
  async #statusOf(desired: readonly HostDesired[], snapshot: RuntimeSnapshot): Promise<HostStatus> {
    const { journal } = this.#options;
    const converge = new Map(desired.map((document) => [document.project, 'converge' as const]));
    const { diff, plan, blocks } = this.#planFrom(desired, snapshot, converge);
    const status = this.#statusFrom(diff, plan, blocks, await journal.appliedRevisions());
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

  #planFrom(desired: readonly HostDesired[], snapshot: RuntimeSnapshot, modes: ReadonlyMap<string, PlanMode>) {
    const diff = diffHost({ desired, snapshot, journal: this.#options.journal, namePrefix: this.#options.namePrefix });
    const plan = planHost({ diff, desired, snapshot, modes });
    const blocks = evaluateGates({ plan, diff, desired, snapshot });
    return { diff, plan, blocks };
  }

  #statusFrom(diff: HostDiff, plan: ActionPlan, blocks: readonly GateBlock[], appliedRevisions: ReadonlyMap<string, number>): HostStatus {
    return hostStatus({ diff, plan, blocks, appliedRevisions, namePrefix: this.#options.namePrefix });
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

  async #execute(actions: readonly Action[], correlationID: string, request: CycleRequest): Promise<ActionReport[]> {
    const reports: ActionReport[] = [];
    let failed = false;
    for (const phase of PHASES) {
      const chains = groupChains(actions.filter((action) => action.phase === phase));
      await runPool(chains, this.#options.parallelism, async (chain) => {
        let chainContainerId: string | undefined;
        // The last action's result on its way to the journal; the next intent joins its batch.
        let resultWritten: Promise<void> | undefined;
        try {
          for (const action of chain) {
            if (failed || request.signal?.aborted) break;
            const ran = await this.#runAction(action, chainContainerId, correlationID, request, resultWritten);
            resultWritten = ran.resultWritten;
            reports.push(ran.report);
            if (ran.report.outcome === 'failed') {
              // Partial apply: stop at the first failure and leave the host as it is.
              failed = true;
              break;
            }
            chainContainerId = ran.report.containerId;
          }
        } finally {
          // However the chain ends, its last result is on disk (or its write failed) before it does.
          await resultWritten;
        }
      });
      if (failed) break;
    }
    return reports;
  }

  /**
   * Runs one action between its intent and its result. The intent is written (fsync) together
   * with the previous action's result in the chain (`previousResult`, still queued: one group
   * commit for both), and the mutation waits for both. The result is returned on its way to the
   * journal (`resultWritten`) so that the chain's next intent can join its batch; the chain
   * awaits it before it ends, and a failed write stops the chain like a failed intent.
   */
  async #runAction(action: Action, chainContainerId: string | undefined, correlationID: string, request: CycleRequest, previousResult: Promise<void> | undefined): Promise<{ report: ActionReport; resultWritten: Promise<void> }> {
    const { journal, runtime, hostId } = this.#options;
    request.onProgress?.({ type: 'action-started', action });
    const started = Date.now();
    const ownerToken = action.kind === 'create' ? journal.newOwnerToken({ hostId, ...action.key, specHash: action.specHash }) : undefined;
    const issuedRecord: Omit<OwnerRecord, 'intentSeq'> | undefined =
      action.kind === 'create' && ownerToken
        ? { ownerToken, hostId, ...action.key, name: action.name, specHash: action.specHash, config: action.config, containerId: undefined, createdView: undefined, removed: false }
        : undefined;
    // Intent first (fsync): if this write fails, nothing is mutated.
    const startTarget = action.kind === 'start' ? (action.containerId ?? chainContainerId) : undefined;
    const [intent] = await Promise.all([journal.recordIntent({ correlationID, action, ownerToken, containerId: startTarget, startedAt: this.#options.now().toISOString() }, issuedRecord), previousResult]);
    const context: ExecutionContext = { runtime, owners: journal, hostId, ownerToken, chainContainerId, signal: request.signal ?? new AbortController().signal };
    let outcome: ActionOutcome | undefined;
    let failure: unknown;
    const target = 'containerId' in action && action.containerId !== undefined ? action.containerId : chainContainerId;
    if (target !== undefined && action.kind !== 'create') this.echoes.expect(target, action.kind);
    try {
      outcome = await dispatch(action, context);
    } catch (error) {
      failure = error;
    }
    if (outcome?.containerId !== undefined) this.echoes.expect(outcome.containerId, action.kind);
    const owners = ownerChanges(action, outcome ?? { failure }, issuedRecord && { ...issuedRecord, intentSeq: intent.seq }, startTarget, journal);
    const report: ActionReport = {
      action,
      outcome: outcome?.outcome ?? 'failed',
      message: outcome?.message ?? (failure === undefined ? 'unknown failure' : errorMessage(failure)),
      containerId: outcome?.containerId,
      durationMs: Date.now() - started,
      ...(failure instanceof RuntimeUnreachableError ? { engineUnreachable: true } : {}),
    };
    const event = actionResultEvent(action, { ok: outcome !== undefined, message: report.message, containerId: report.containerId });
    // Result right after (fsync), atomically with its event and ownership change.
    const resultWritten = journal
      .recordResult({ seq: intent.seq, outcome: report.outcome, message: report.message, containerId: report.containerId, finishedAt: this.#options.now().toISOString() }, this.#stamp([event], correlationID), owners)
      .then(() => request.onProgress?.({ type: 'action-finished', report }));
    return { report, resultWritten };
  }

  #stamp(drafts: readonly EventDraft[], correlationID: string): HostwrightEvent[] {
    const timestamp = this.#options.now().toISOString();
    return drafts.map((draft) => ({ ...draft, id: randomUUID(), hostId: this.#options.hostId, timestamp, correlationID }));
  }
}

/** Equal apart from the observation time: no need to write it again. */
function sameStatus(previous: HostStatus | undefined, next: HostStatus): boolean {
  return previous !== undefined && JSON.stringify({ ...previous, observedAt: '' }) === JSON.stringify({ ...next, observedAt: '' });
}

/** How the journal's ownership records change with an action's outcome (or the error it threw). */
function ownerChanges(action: Action, result: ActionOutcome | { readonly failure: unknown }, issued: OwnerRecord | undefined, startTarget: string | undefined, journal: Journal): OwnerRecord[] {
  const outcome = 'failure' in result ? undefined : result;
  if (action.kind === 'create' && issued) {
    if (!outcome) return [{ ...issued, removed: true }];
    if (outcome.adoptedRecord) return [{ ...issued, removed: true }, { ...outcome.adoptedRecord, intentSeq: issued.intentSeq }];
    return [{ ...issued, containerId: outcome.containerId, createdView: outcome.createdView }];
  }
  if (action.kind === 'remove' && outcome) {
    const record = journal.ownerRecordOfContainer(action.containerId);
    return record ? [{ ...record, removed: true }] : [];
  }
  if (action.kind === 'start' && startTarget !== undefined) {
    // Refused starts are counted per container, so the planner can replace one the engine keeps refusing.
    const record = journal.ownerRecordOfContainer(startTarget);
    if (!record) return [];
    if ('failure' in result && !(result.failure instanceof RuntimeUnreachableError)) {
      return [{ ...record, refusedStarts: { count: (record.refusedStarts?.count ?? 0) + 1, lastError: errorMessage(result.failure) } }];
    }
    if (outcome && record.refusedStarts) return [withoutRefusedStarts(record)];
  }
  return [];
}

function withoutRefusedStarts(record: OwnerRecord): OwnerRecord {
  const { refusedStarts: _cleared, ...rest } = record;
  return rest;
}

function dispatch<K extends ActionKind>(action: ActionOf<K>, context: ExecutionContext): Promise<ActionOutcome> {
  const handler = actionHandlers[action.kind] as (action: ActionOf<K>, context: ExecutionContext) => Promise<ActionOutcome>;
  return handler(action, context);
}

function groupChains(actions: readonly Action[]): Action[][] {
  const chains = new Map<string, Action[]>();
  for (const action of actions) {
    const chain = chains.get(action.chain);
    if (chain) chain.push(action);
    else chains.set(action.chain, [action]);
  }
  return [...chains.values()];
}

async function runPool<T>(items: readonly T[], limit: number, worker: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await worker(item);
    }
  });
  await Promise.all(lanes);
}
