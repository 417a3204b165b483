// The reconcile cycle, the seed's loop step by step. Its contract (request, context, report) is in
// cycle.ts; how a plan's actions run between intent and result is in apply-plan.ts.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { EventDraft, HostwrightEvent } from '../shared/events.js';
import type { HostDesired } from '../shared/host-desired.js';
import type { GateBlock, HostStatus } from '../shared/host-status.js';
import { describeAction, type Action, type ActionOf } from '../shared/actions.js';
import { compareStrings } from '../shared/compare.js';
import { applyPlan, type PlanTarget } from './apply-plan.js';
import { plannedEvents } from './core/action-events.js';
import { actionProjects } from './core/action-projects.js';
import { normalizeImageRef } from './core/images.js';
import { cycleDesired, planCycle, scopedTo, type CyclePlan, type Settled } from './core/cycle-plan.js';
import { backingOff, failureTransitionEvents, liftHint, nextFailureState, type FailureState, type ProjectOutcome } from './core/failure-state.js';
import { STRICT_HOST_POLICY, type HostPolicy } from './core/host-policy.js';
import { OwnEchoes } from './core/own-echoes.js';
import type { PlanMode } from './core/planner.js';
import { selectImageRemovals, unreferencedMarks, type ImageRemoval } from './core/image-cleanup.js';
import type { RuntimeSnapshot } from './core/snapshot.js';
import { hostStatus, statusTransitionEvents } from './core/status.js';
import { conditionSubjects, LAST_LINES_MAX, nextConditions, terminationLines, withLastLines, type ConditionMemory } from './core/instance-condition.js';
import type { InstanceCondition } from '../shared/instance-condition.js';
import { secretEnvValues } from './runtime/secret-env-resolver.js';
import { errorMessage } from '../shared/errors.js';
import type { ActionReport, CycleContext, CycleReport, CycleRequest } from './cycle.js';
import { cycleAuthors, stampEvents } from './host-events.js';
import type { DesiredAuthor } from '../shared/desired-author.js';
import { Observer } from './observer.js';
import { resolveUnfinishedIntents } from './recovery.js';
import { withFleetResolver, type HostMesh } from './resolver/fleet-dns.js';
import type { RuntimeAdapter } from './runtime/runtime-adapter.js';
import type { Journal } from './store/journal.js';
import type { RemoteRecords } from './executor.js';

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
  /** How long an image Hostwright pulled stays after the last revision naming it stopped (image cleanup); 1 h when omitted. */
  readonly imageGraceMs?: number;
}

/** Images no revision names any more are removed an hour after they stopped being named. */
export const DEFAULT_IMAGE_GRACE_MS = 60 * 60 * 1000;

/** How one pull of a pre-pull ended. */
export type PullReport = ActionReport & { readonly action: ActionOf<'pull-image'> };

/** What a pre-pull did: the pull actions it ran, the images already there, the gates that would block the candidate. */
export interface PrePullReport {
  readonly project: string;
  readonly results: readonly PullReport[];
  readonly present: readonly string[];
  readonly blocks: readonly GateBlock[];
}

type Planned = CyclePlan;

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
  /** Restart counts and last exits of the containers last observed: bounded by them, kept in memory (a restart of the agent starts it afresh). */
  #conditionMemory: ConditionMemory = new Map();
  /** This host's part in the fleet's mesh, read at each plan (set by the fleet agent; none: single-host behaviour). */
  #mesh: () => HostMesh | undefined = () => undefined;
  /** Other hosts' endpoint records (a fleet agent's registry view): depends_on across hosts waits on them. */
  #remoteRecords: RemoteRecords | undefined;

  constructor(options: ReconcilerOptions) {
    this.#options = { namePrefix: '', parallelism: 4, now: () => new Date(), policy: STRICT_HOST_POLICY, imageGraceMs: DEFAULT_IMAGE_GRACE_MS, ...options };
    this.observer = new Observer(options.runtime, options.journal, options.hostId, this.#options.now);
    this.echoes = new OwnEchoes(() => this.#options.now().getTime());
  }

  /** Plans from now on with the host's mesh: project networks in its block, spread projects with the fleet resolver. */
  useMesh(mesh: () => HostMesh | undefined): void {
    this.#mesh = mesh;
  }

  /** The stored documents, as this host runs them (with the fleet resolver on a mesh host). */
  async #desiredDocuments(): Promise<HostDesired[]> {
    return this.#asRun(await this.#options.journal.desiredDocuments());
  }

  #asRun(documents: readonly HostDesired[]): HostDesired[] {
    const mesh = this.#mesh();
    return mesh === undefined ? [...documents] : withFleetResolver(documents, mesh.resolver, mesh.upstream);
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
    // Load desired state: the agent's own store, with the candidates of a dry run in their projects' places
    // (the cycle that applies them plans every project of the host, so the dry run does too).
    const { desired, modes, candidates } = cycleDesired(await this.#desiredDocuments(), request.candidate && this.#asRun(request.candidate), await this.#settled(), request.explicit === true);
    // Failure scope: a rejected revision and a project backing off run nothing of their own (unless asked explicitly).
    const nowMs = this.#options.now().getTime();
    // A streak belongs to its revision: a new revision is tried at once, and its events are not held back.
    const streaks = request.failures ? currentStreaks(request.failures.state, desired) : undefined;
    // A candidate is written as a new revision: nothing holds it.
    const held = request.explicit === true ? new Set<string>() : new Set([...(await this.#held(desired, streaks, nowMs))].filter((project) => !candidates.has(project)));
    const quiet = request.explicit === true ? new Set<string>() : new Set(streaks?.keys() ?? []);
    const correlationID = this.#correlationID(request, desired, modes);
    const log = this.#options.logger.child({ correlationID });
    // Events of this cycle name who wrote the revisions it works toward.
    const authors = cycleAuthors(desired, correlationID);
    // Intents a crash (or a failed journal write) left open are resolved before anything new is planned.
    if (!request.dryRun) await this.#resolveUnfinishedIntents(log);

    // Observe the runtime: one snapshot, with timestamps and ownership verdicts.
    const snapshot = await this.observer.observe();

    // Diff, plan and safety gates: pure, the same input gives the same plan byte for byte.
    const imageRemovals = await this.#imageRemovals(desired, snapshot, request.dryRun === true);
    const planned = this.#planFrom(desired, snapshot, modes, held, pulledThisCycle, imageRemovals);
    context.onProgress?.({ type: 'planned', plan: planned.plan, runnable: planned.runnable, blocks: planned.blocks });
    log.debug({ actions: planned.plan.actions.length, runnable: planned.runnable.length, blocks: planned.blocks.length }, 'planned');
    // A dry run reports its candidates' part of the plan; the other projects counted in its gates.
    if (request.dryRun) return { correlationID, dryRun: true, ...(request.candidate ? scopedTo(planned, candidates) : planned), results: [], failed: false, status: undefined };

    // Persist the plan before any mutation (each action's intent is persisted as it runs).
    const before = await this.#recordPlan(planned, correlationID, quiet, await this.#conditionsOf(desired, snapshot), authors);

    // Apply idempotently: intent fsync'd before each mutation, its result right after.
    const results = await applyPlan(planned.runnable, { ...this.#planTarget(correlationID, authors), quiet }, context);
    const failed = results.some((report) => report.outcome === 'failed');

    // Record the revisions this cycle converged.
    const failedProjects = failuresByProject(planned.runnable, results);
    await this.#markApplied(planned, held, failedProjects, before.appliedRevisions);
    if (failed) log.warn({ failures: results.filter((r) => r.outcome === 'failed').map((r) => r.message) }, 'a project stopped at a failed action');

    // Count failures per project: backoff, rejection after repeated failures, one event per change of state.
    const failures = request.failures && !context.signal?.aborted ? await this.#countFailures(request.failures, { planned, held, failedProjects, desired, nowMs, correlationID, authors }) : request.failures?.state;

    // Observe again when something ran: status reflects what is running now, not what the plan hoped for.
    const observed = results.length > 0 ? await this.#observeStatus(failures) : await this.#statusOf(desired, snapshot, failures);

    // Record events and status transitions: rejections reached after all are lifted, changes become events.
    const status = await this.#recordStatus(desired, observed, before, correlationID, failures);
    // info says what changed (actions run, a failure, a new status); an idle resync is debug, or a quiet host logs every cycle.
    const changed = results.length > 0 || failed || !sameStatus(before.stored, status);
    log[changed ? 'info' : 'debug']({ actions: results.length, failed, converged: status.projects.every((p) => p.converged) }, 'cycle finished');
    // A pull of a present image may have moved its tag: plan once more, so the instances follow in this cycle.
    const repulled = results.filter((report) => report.action.kind === 'pull-image' && report.outcome === 'done' && report.action.reason.startsWith('pull_policy'));
    if (!failed && pulledThisCycle === undefined && repulled.length > 0) {
      const pulled = new Set(repulled.map((report) => normalizeImageRef((report.action as ActionOf<'pull-image'>).image)));
      const again = { ...request, correlationID, ...(request.failures && failures ? { failures: { ...request.failures, state: failures } } : {}) };
      const next = await this.#runCycle(again, context, pulled);
      return { ...next, results: [...results, ...next.results] };
    }
    return { correlationID, dryRun: false, ...planned, results, failed, status, ...(failures ? { failures } : {}) };
  }

  /**
   * Pulls what a candidate revision of one project needs and the host lacks (by its pull policies)
   * before it is rolled out, and changes nothing else: the pull actions its plan would run, each
   * between its intent and its result as in a cycle (so its pull is recorded for cleanup). Runs
   * only between cycles (the agent loop sees to it), since a cycle resolves any open intent.
   */
  async prePull(candidate: HostDesired, correlationID: string, context: CycleContext = {}): Promise<PrePullReport> {
    const log = this.#options.logger.child({ correlationID });
    await this.#resolveUnfinishedIntents(log);
    const snapshot = await this.observer.observe();
    // Gated as the cycle that applies it will be: among the host's other projects.
    const { desired, modes } = cycleDesired(await this.#desiredDocuments(), this.#asRun([candidate]), await this.#settled(), false);
    const planned = this.#planFrom(desired, snapshot, modes);
    // By normalized reference, shown as the services write it.
    const needed = new Map(Object.values(candidate.services).map((service) => [normalizeImageRef(service.image), service.image]));
    const pulls = planned.runnable.filter((action): action is ActionOf<'pull-image'> => action.kind === 'pull-image' && needed.has(normalizeImageRef(action.image)));
    context.onProgress?.({ type: 'planned', plan: planned.plan, runnable: pulls, blocks: planned.blocks });
    const results = await applyPlan(pulls, { ...this.#planTarget(correlationID), quiet: new Set() }, context);
    const pulled = new Set(pulls.map((action) => normalizeImageRef(action.image)));
    log.info({ project: candidate.project, pulls: results.length, failed: results.filter((report) => report.outcome === 'failed').length }, 'pre-pull finished');
    return {
      project: candidate.project,
      results: results.filter((report): report is PullReport => report.action.kind === 'pull-image'),
      present: [...needed].filter(([reference]) => !pulled.has(reference)).map(([, image]) => image).sort(compareStrings),
      blocks: planned.blocks.filter((block) => block.project === candidate.project),
    };
  }

  /** Observes and computes status without changing anything. */
  async observeStatus(desiredOverride?: readonly HostDesired[]): Promise<HostStatus> {
    const desired = desiredOverride ? this.#asRun(desiredOverride) : await this.#desiredDocuments();
    return this.#statusOf(desired, await this.observer.observe());
  }

  async #observeStatus(failures: FailureState | undefined): Promise<HostStatus> {
    return this.#statusOf(await this.#desiredDocuments(), await this.observer.observe(), failures);
  }

  /** Projects whose actions do not run in this cycle: their revision is rejected, or they are backing off. */
  async #held(desired: readonly HostDesired[], failures: FailureState | undefined, nowMs: number): Promise<Set<string>> {
    const rejected = await this.#options.journal.rejectedRevisions();
    const held = failures ? backingOff(failures, nowMs) : new Set<string>();
    for (const document of desired) if (rejected.get(document.project)?.revision === document.revision) held.add(document.project);
    return held;
  }

  /**
   * The failure streaks after this cycle (agent/core/failure-state.ts), from what each project that
   * could act did; held and gate-blocked projects keep theirs. Rejections are recorded with their
   * event, and each change of state gets one event.
   */
  async #countFailures(
    failures: NonNullable<CycleRequest['failures']>,
    cycle: { planned: Planned; held: ReadonlySet<string>; failedProjects: ReadonlyMap<string, ActionReport>; desired: readonly HostDesired[]; nowMs: number; correlationID: string; authors: ReadonlyMap<string, DesiredAuthor> },
  ): Promise<FailureState> {
    const { journal, hostId } = this.#options;
    const blocked = new Set(cycle.planned.blocks.map((block) => block.project));
    const outcomes = cycle.planned.plan.projects
      .filter((revision) => !cycle.held.has(revision.project) && !blocked.has(revision.project))
      .map((revision): ProjectOutcome => {
        const failure = cycle.failedProjects.get(revision.project);
        if (!failure) return { project: revision.project, revision: revision.revision, result: 'ok' };
        return { project: revision.project, revision: revision.revision, result: 'failed', mode: revision.mode, reason: `${describeAction(failure.action)} failed: ${failure.message}`, engineUnreachable: failure.engineUnreachable === true };
      });
    const step = nextFailureState(failures.state, { revisions: new Map(cycle.desired.map((document) => [document.project, document.revision])), outcomes, nowMs: cycle.nowMs, policy: failures.policy });
    const at = new Date(cycle.nowMs).toISOString();
    for (const transition of step.transitions) {
      if (transition.kind === 'rejected') await journal.setRejected({ project: transition.project, revision: transition.revision, reason: transition.reason, at });
    }
    const events = failureTransitionEvents(step.transitions, hostId);
    if (events.length > 0) await journal.appendEvents(this.#stamp(events, cycle.correlationID, cycle.authors));
    return step.state;
  }

  /** The revisions this host reached or rejected: a project at one of them is maintained, not converged. */
  async #settled(): Promise<Settled> {
    return { applied: await this.#options.journal.appliedRevisions(), rejected: await this.#options.journal.rejectedRevisions() };
  }

  /** The request's, else that of the request that wrote a revision this cycle converges, else a fresh one. */
  #correlationID(request: CycleRequest, desired: readonly HostDesired[], modes: ReadonlyMap<string, PlanMode>): string {
    return request.correlationID ?? desired.find((document) => modes.get(document.project) === 'converge' && document.correlationID)?.correlationID ?? randomUUID();
  }

  #resolveUnfinishedIntents(log: Logger): Promise<unknown> {
    const { journal, runtime, hostId, now } = this.#options;
    return resolveUnfinishedIntents({ journal, runtime, hostId, logger: log, now });
  }

  /**
   * Image cleanup: notes (fsync'd, unless a dry run) which pulled references stopped or started again
   * being named by a revision, then selects the images past their grace period.
   */
  async #imageRemovals(desired: readonly HostDesired[], snapshot: RuntimeSnapshot, dryRun: boolean): Promise<ImageRemoval[]> {
    const { journal, now, imageGraceMs } = this.#options;
    if (snapshot.hostImages === undefined || snapshot.usedImageIds === undefined) return [];
    const referenced = journal.referencedImages();
    for (const document of desired) for (const service of Object.values(document.services)) referenced.add(normalizeImageRef(service.image));
    const at = now().toISOString();
    const records = journal.imagePullRecords();
    const marks = unreferencedMarks(records, referenced, at);
    if (!dryRun && marks.length > 0) await journal.markImagesUnreferenced(marks);
    const marked = new Map(marks.map((mark) => [mark.reference, mark.unreferencedSince]));
    const pulls = records.map((record) => (marked.has(record.reference) ? { ...record, unreferencedSince: marked.get(record.reference) } : record));
    return selectImageRemovals({ images: snapshot.hostImages, pulls, referenced, usedImageIds: new Set(snapshot.usedImageIds), now: at, graceMs: imageGraceMs });
  }

  #planFrom(desired: readonly HostDesired[], snapshot: RuntimeSnapshot, modes: ReadonlyMap<string, PlanMode>, held?: ReadonlySet<string>, pulledThisCycle?: ReadonlySet<string>, imageRemovals?: readonly ImageRemoval[]): Planned {
    const { journal, now, namePrefix, policy } = this.#options;
    const pulls = { lastPulledAt: journal.imagesLastPulledAt(), now: now().toISOString(), ...(pulledThisCycle ? { pulledThisCycle } : {}) };
    const meshBlock = this.#mesh()?.block;
    return planCycle({ desired, snapshot, journal, namePrefix, modes, pulls, policy, ...(held ? { held } : {}), ...(imageRemovals ? { imageRemovals } : {}), ...(meshBlock === undefined ? {} : { meshBlock }) });
  }

  /**
   * The plan, its verdicts and the events known before anything runs (status transitions, planned
   * actions), fsync'd in one write; a cycle with nothing to do and nothing new to say writes nothing
   * (no fsync on the no-op path). Returns the status before the cycle, as stored and as planned.
   */
  async #recordPlan(planned: Planned, correlationID: string, quiet: ReadonlySet<string>, conditions: ReadonlyMap<string, InstanceCondition>, authors: ReadonlyMap<string, DesiredAuthor>): Promise<{ stored: HostStatus | undefined; planned: HostStatus; appliedRevisions: ReadonlyMap<string, number> }> {
    const { journal } = this.#options;
    const stored = await journal.getStatus();
    const appliedRevisions = await journal.appliedRevisions();
    const status = this.#statusFrom(planned, appliedRevisions, conditions);
    // A project retrying after a failure plans the same again: its streak's events say so once.
    const events = [...statusTransitionEvents(stored, status), ...plannedEvents(planned.plan, planned.runnable).filter((event) => !quiet.has(event.project))];
    if (planned.runnable.length > 0 || events.length > 0) {
      await journal.recordPlan(correlationID, { plan: planned.plan, blocks: planned.blocks, runnable: planned.runnable.map((action) => action.id) }, this.#stamp(events, correlationID, authors));
    }
    return { stored, planned: status, appliedRevisions };
  }

  /** Where depends_on across hosts reads other hosts' endpoint records (set once the fleet connection is up). */
  useRemoteRecords(source: RemoteRecords): void {
    this.#remoteRecords = source;
  }

  #planTarget(correlationID: string, authors?: ReadonlyMap<string, DesiredAuthor>): PlanTarget {
    const { runtime, journal, hostId, parallelism, now, policy } = this.#options;
    const remoteRecords = this.#remoteRecords;
    return { runtime, journal, hostId, parallelism, now, echoes: this.echoes, correlationID, policy, ...(authors === undefined ? {} : { authors }), ...(remoteRecords ? { remoteRecords } : {}) };
  }

  /** A converged revision is applied unless one of its project's actions (or a pull of an image it needs) failed, a gate blocked it or it was held. */
  async #markApplied({ plan, blocks }: Planned, held: ReadonlySet<string>, failedProjects: ReadonlyMap<string, ActionReport>, appliedBefore: ReadonlyMap<string, number>): Promise<void> {
    for (const revision of plan.projects) {
      // A held project (rejected, backing off) ran nothing: this cycle did not reach its revision.
      if (revision.mode === 'converge' && !held.has(revision.project) && !failedProjects.has(revision.project) && !blocks.some((block) => block.project === revision.project) && appliedBefore.get(revision.project) !== revision.revision) {
        await this.#options.journal.markApplied({ project: revision.project, revision: revision.revision, appliedAt: this.#options.now().toISOString() });
      }
    }
  }

  /**
   * Lifts rejections the host has reached since (then observes once more), records the events of
   * what changed since the plan and stores the status when it differs from the stored one. Returns
   * the status as stored.
   */
  async #recordStatus(desired: readonly HostDesired[], observed: HostStatus, before: { stored: HostStatus | undefined; planned: HostStatus }, correlationID: string, failures: FailureState | undefined): Promise<HostStatus> {
    const { journal } = this.#options;
    const status = (await this.#liftReachedRejections(observed, correlationID)) ? await this.#statusOf(desired, await this.observer.observe(), failures) : observed;
    const events = statusTransitionEvents(before.planned, status);
    if (events.length > 0) await journal.appendEvents(this.#stamp(events, correlationID, cycleAuthors(desired, correlationID)));
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

  /** Status of one snapshot: what a full converge would still change, drift, blocks, rejections and failure streaks. */
  async #statusOf(desired: readonly HostDesired[], snapshot: RuntimeSnapshot, failures?: FailureState): Promise<HostStatus> {
    const { journal } = this.#options;
    const converge = new Map(desired.map((document) => [document.project, 'converge' as const]));
    const status = this.#statusFrom(this.#planFrom(desired, snapshot, converge), await journal.appliedRevisions(), await this.#conditionsOf(desired, snapshot));
    const rejected = await journal.rejectedRevisions();
    const refusals = await journal.desiredRefusals();
    const emptied = new Set(desired.filter((document) => Object.keys(document.services).length === 0).map((document) => document.project));
    // Who wrote each project's desired revision: `status` shows it.
    const authors = new Map(desired.flatMap((document) => (document.author === undefined ? [] : [[document.project, document.author] as const])));
    return {
      ...status,
      ...(refusals.length > 0 ? { refusedDesired: refusals } : {}),
      projects: status.projects.map((listed) => {
        const author = authors.get(listed.project);
        const project = { ...listed, ...(emptied.has(listed.project) ? { removed: true } : {}), ...(author === undefined ? {} : { author }) };
        const rejection = rejected.get(project.project);
        if (rejection && rejection.revision === project.desiredRevision) {
          return { ...project, rejected: { revision: rejection.revision, reason: rejection.reason, at: rejection.at, lift: liftHint(this.#options.hostId, project.project) } };
        }
        const failure = failures?.get(project.project);
        if (failure?.revision !== project.desiredRevision) return project;
        return { ...project, backoff: { revision: failure.revision, attempts: failure.attempts, reason: failure.reason, since: failure.since, retryAt: new Date(failure.retryAtMs).toISOString() } };
      }),
    };
  }

  #statusFrom({ diff, plan, blocks }: Planned, appliedRevisions: ReadonlyMap<string, number>, conditions: ReadonlyMap<string, InstanceCondition>): HostStatus {
    return hostStatus({ diff, plan, blocks, appliedRevisions, namePrefix: this.#options.namePrefix, conditions });
  }

  /**
   * Crash loops and failed one-shots in one snapshot (agent/core/instance-condition.ts). A container's
   * last lines are read once as it enters its condition, with its service's secret values masked; a
   * read that fails is tried again on the next observation.
   */
  async #conditionsOf(desired: readonly HostDesired[], snapshot: RuntimeSnapshot): Promise<ReadonlyMap<string, InstanceCondition>> {
    const subjects = conditionSubjects(desired, snapshot);
    let step = nextConditions(this.#conditionMemory, subjects, this.#options.now());
    for (const containerId of step.unread) {
      const container = subjects.find((subject) => subject.container.id === containerId)?.container;
      const env = desired.find((document) => document.project === container?.identity.project)?.services[container?.identity.service ?? '']?.env ?? {};
      try {
        const [output, secrets] = await Promise.all([this.#options.runtime.containerOutputTail(containerId, LAST_LINES_MAX), secretEnvValues(env)]);
        step = withLastLines(step, containerId, terminationLines(output, secrets));
      } catch (error) {
        this.#options.logger.warn({ containerId, error: errorMessage(error) }, 'could not read the output of a failing container');
      }
    }
    this.#conditionMemory = step.memory;
    return step.conditions;
  }

  #stamp(drafts: readonly EventDraft[], correlationID: string, authors?: ReadonlyMap<string, DesiredAuthor>): HostwrightEvent[] {
    return stampEvents(drafts, { hostId: this.#options.hostId, timestamp: this.#options.now().toISOString(), correlationID, ...(authors === undefined ? {} : { authors }) });
  }
}

/** Equal apart from the observation time: no need to write it again. */
function sameStatus(previous: HostStatus | undefined, next: HostStatus): boolean {
  return previous !== undefined && JSON.stringify({ ...previous, observedAt: '' }) === JSON.stringify({ ...next, observedAt: '' });
}

/** Each project's first failed action of the cycle; a failed pull counts for every project that needed its image. */
function failuresByProject(runnable: readonly Action[], results: readonly ActionReport[]): Map<string, ActionReport> {
  const projectsOf = actionProjects(runnable);
  const failed = new Map<string, ActionReport>();
  for (const report of results) {
    if (report.outcome !== 'failed') continue;
    for (const project of projectsOf(report.action)) if (!failed.has(project)) failed.set(project, report);
  }
  return failed;
}

/** The failure streaks of the revisions desired now (a streak of an older revision no longer counts). */
function currentStreaks(state: FailureState, desired: readonly HostDesired[]): FailureState {
  const revisions = new Map(desired.map((document) => [document.project, document.revision]));
  return new Map([...state].filter(([project, failure]) => revisions.get(project) === failure.revision));
}
