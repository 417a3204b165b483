// Applying a plan: phases in order, a phase's chains in parallel, each action between its intent and its result in the journal.
import { phaseSchema, type Action } from '../shared/actions.js';
import { RuntimeUnreachableError, errorMessage } from '../shared/errors.js';
import { runBounded } from '../shared/worker-pool.js';
import { actionResultEvent } from './core/action-events.js';
import { actionProjects } from './core/action-projects.js';
import { normalizeImageRef } from './core/images.js';
import type { HostPolicy } from './core/host-policy.js';
import type { OwnEchoes } from './core/own-echoes.js';
import type { OwnerRecord, ResourceRecord } from './core/snapshot.js';
import type { ActionReport, CycleContext } from './cycle.js';
import { executeAction, type ActionOutcome, type ExecutionContext, type RemoteRecords } from './executor.js';
import { stampEvents } from './host-events.js';
import type { PullProgress, RuntimeAdapter } from './runtime/runtime-adapter.js';
import type { Journal } from './store/journal.js';
import type { DesiredAuthor } from '../shared/desired-author.js';

/** Where a plan is applied, and for which cycle. */
export interface PlanTarget {
  readonly runtime: RuntimeAdapter;
  readonly journal: Journal;
  readonly hostId: string;
  /** Chains of actions run at once within a phase. */
  readonly parallelism: number;
  /** Told which runtime events each action causes, so that they wake no cycle. */
  readonly echoes: OwnEchoes;
  readonly now: () => Date;
  readonly correlationID: string;
  /** By project: who wrote the revision the cycle works toward; its events name them. */
  readonly authors?: ReadonlyMap<string, DesiredAuthor>;
  /** Projects in a failure streak: their failed actions are recorded without an event (the streak has its own). */
  readonly quiet?: ReadonlySet<string>;
  /** This host's policy, for the host paths a create resolves just before it runs. */
  readonly policy?: HostPolicy;
  /** Other hosts' endpoint records, for depends_on across hosts. */
  readonly remoteRecords?: RemoteRecords;
}

/**
 * Runs the actions phase by phase; within a phase up to `parallelism` chains at once, a chain's
 * actions in order. Partial apply, per project: after a project's first failed action none of its
 * actions starts any more (chains already running finish the action in flight) and its part of the
 * host is left as it is; other projects' chains go on. A failed image pull fails the projects that
 * need the image. Resolves once every result is on disk, with the reports in the order the actions ended.
 */
export async function applyPlan(actions: readonly Action[], target: PlanTarget, cycle: CycleContext): Promise<ActionReport[]> {
  const reports: ActionReport[] = [];
  const projectsOf = actionProjects(actions);
  const failedProjects = new Set<string>();
  // An action shared by several projects (a pull) still runs while one of them has not failed.
  const stopped = (action: Action): boolean => {
    const projects = projectsOf(action);
    return projects.length > 0 && projects.every((project) => failedProjects.has(project));
  };
  for (const phase of phaseSchema.options) {
    const chains = groupChains(actions.filter((action) => action.phase === phase));
    const ends = chainEnds(chains);
    await runBounded(chains, target.parallelism, async (chain, index) => {
      let chainContainerId: string | undefined;
      // The last action's result on its way to the journal; the next intent joins its batch.
      let resultWritten: Promise<void> | undefined;
      try {
        for (const action of chain) {
          // depends_on: the dependency's chains (always earlier in the plan) end first.
          if (action.kind === 'await-dependency') await ends.before(index, action.key.project, action.dependency);
          if (stopped(action) || cycle.signal?.aborted) break;
          const quiet = projectsOf(action).length > 0 && projectsOf(action).every((project) => target.quiet?.has(project) === true);
          const ran = await runAction(action, chainContainerId, target, cycle, resultWritten, quiet);
          resultWritten = ran.resultWritten;
          reports.push(ran.report);
          if (ran.report.outcome === 'failed') {
            for (const project of projectsOf(action)) failedProjects.add(project);
            break;
          }
          chainContainerId = ran.report.containerId;
        }
      } finally {
        // However the chain ends, its last result is on disk (or its write failed) before it does.
        try {
          await resultWritten;
        } finally {
          ends.end(index);
        }
      }
    });
  }
  return reports;
}

/** When each chain of a phase has ended, so a chain can wait for those of a service before it. */
function chainEnds(chains: readonly Action[][]): { end(index: number): void; before(index: number, project: string, service: string): Promise<void> } {
  const resolvers: (() => void)[] = [];
  const ended = chains.map(() => new Promise<void>((resolve) => resolvers.push(resolve)));
  const byService = new Map<string, number[]>();
  for (const [index, chain] of chains.entries()) {
    const first = chain[0];
    if (first === undefined || !('key' in first)) continue;
    const key = `${first.key.project}\u0000${first.key.service}`;
    const group = byService.get(key);
    if (group) group.push(index);
    else byService.set(key, [index]);
  }
  return {
    end: (index) => resolvers[index]?.(),
    // Only chains before this one: runBounded has taken them already, so each ends.
    before: async (index, project, service) => {
      const earlier = (byService.get(`${project}\u0000${service}`) ?? []).filter((i) => i < index);
      await Promise.all(earlier.map((i) => ended[i]));
    },
  };
}

/** A phase's actions by chain, chains in the order of their first action. */
function groupChains(actions: readonly Action[]): Action[][] {
  const chains = new Map<string, Action[]>();
  for (const action of actions) {
    const chain = chains.get(action.chain);
    if (chain) chain.push(action);
    else chains.set(action.chain, [action]);
  }
  return [...chains.values()];
}

/**
 * Runs one action between its intent and its result. The intent is written (fsync) together
 * with the previous action's result in the chain (`previousResult`, still queued: one group
 * commit for both), and the mutation waits for both. The result is returned on its way to the
 * journal (`resultWritten`) so that the chain's next intent can join its batch; the chain
 * awaits it before it ends, and a failed write stops the chain like a failed intent.
 */
async function runAction(action: Action, chainContainerId: string | undefined, target: PlanTarget, cycle: CycleContext, previousResult: Promise<void> | undefined, quiet: boolean): Promise<{ report: ActionReport; resultWritten: Promise<void> }> {
  const { journal, runtime, hostId, echoes, now, correlationID, policy, remoteRecords } = target;
  cycle.onProgress?.({ type: 'action-started', action });
  const started = Date.now();
  const resourceKind = action.kind === 'create-network' ? 'network' : action.kind === 'create-volume' ? 'volume' : undefined;
  const ownerToken =
    action.kind === 'create'
      ? journal.newOwnerToken({ hostId, ...action.key, specHash: action.specHash })
      : (action.kind === 'create-network' || action.kind === 'create-volume') && resourceKind
        ? journal.newResourceToken({ kind: resourceKind, hostId, project: action.project, resource: action.resource, specHash: action.specHash })
        : undefined;
  const issuedRecord: Omit<OwnerRecord, 'intentSeq'> | undefined =
    action.kind === 'create' && ownerToken
      ? { ownerToken, hostId, ...action.key, name: action.name, specHash: action.specHash, config: action.config, containerId: undefined, createdView: undefined, removed: false, ...(action.restartGeneration === undefined ? {} : { restartGeneration: action.restartGeneration }) }
      : undefined;
  const issuedResource: Omit<ResourceRecord, 'intentSeq'> | undefined =
    (action.kind === 'create-network' || action.kind === 'create-volume') && resourceKind && ownerToken
      ? { ownerToken, kind: resourceKind, hostId, project: action.project, resource: action.resource, name: action.name, specHash: action.specHash, removed: false }
      : undefined;
  // Intent first (fsync): if this write fails, nothing is mutated.
  const startTarget = action.kind === 'start' ? (action.containerId ?? chainContainerId) : undefined;
  const [intent] = await Promise.all([journal.recordIntent({ correlationID, action, ownerToken, containerId: startTarget, startedAt: now().toISOString() }, issuedRecord, issuedResource), previousResult]);
  const context: ExecutionContext = { runtime, owners: journal, recordOf: (key) => journal.latestRecordFor(key), hostId, ownerToken, chainContainerId, signal: cycle.signal ?? new AbortController().signal, ...(cycle.onProgress ? { onPullProgress: throttledProgress(action, cycle.onProgress) } : {}), ...(policy ? { policy } : {}), ...(remoteRecords ? { remoteRecords } : {}) };
  let outcome: ActionOutcome | undefined;
  let failure: unknown;
  const affected = 'containerId' in action && action.containerId !== undefined ? action.containerId : chainContainerId;
  if (affected !== undefined && action.kind !== 'create') echoes.expect(affected, action.kind);
  try {
    outcome = await executeAction(action, context);
  } catch (error) {
    failure = error;
  }
  if (outcome?.containerId !== undefined) echoes.expect(outcome.containerId, action.kind);
  // A removed image's pull records were its ownership proof: they go with it.
  if (action.kind === 'remove-image' && outcome?.imageGone === true) {
    await journal.forgetImagePulls(action.references.map(normalizeImageRef), action.imageId);
  }
  // When it was pulled, for the pull policies that pull again after a while.
  if (action.kind === 'pull-image' && outcome?.pulled) {
    const { imageId, digest } = outcome.pulled;
    await journal.recordImagePull({ reference: normalizeImageRef(action.image), pulledAt: now().toISOString(), ...(imageId === undefined ? {} : { imageId }), ...(digest === undefined ? {} : { digest }) });
  }
  const owners = ownerChanges(action, outcome ?? { failure }, issuedRecord && { ...issuedRecord, intentSeq: intent.seq }, startTarget, journal);
  const resources = resourceChanges(action, outcome, issuedResource && { ...issuedResource, intentSeq: intent.seq }, journal);
  const report: ActionReport = {
    action,
    outcome: outcome?.outcome ?? 'failed',
    message: outcome?.message ?? (failure === undefined ? 'unknown failure' : errorMessage(failure)),
    containerId: outcome?.containerId,
    durationMs: Date.now() - started,
    ...(failure instanceof RuntimeUnreachableError ? { engineUnreachable: true } : {}),
  };
  const ok = outcome !== undefined;
  const event = actionResultEvent(action, { ok, message: report.message, containerId: report.containerId });
  // Result right after (fsync), atomically with its event and ownership change.
  const resultWritten = journal
    .recordResult(
      { seq: intent.seq, outcome: report.outcome, message: report.message, containerId: report.containerId, finishedAt: now().toISOString() },
      stampEvents(quiet && !ok ? [] : [event], { hostId, timestamp: now().toISOString(), correlationID, ...(target.authors === undefined ? {} : { authors: target.authors }) }),
      owners,
      resources,
    )
    .then(() => cycle.onProgress?.({ type: 'action-finished', report }));
  return { report, resultWritten };
}

/** A pull tells progress per stream line (hundreds a second): pass on at most one a second, and the last. */
function throttledProgress(action: Action, onProgress: NonNullable<CycleContext['onProgress']>): (detail: PullProgress) => void {
  let last = 0;
  return (detail) => {
    const now = Date.now();
    const complete = detail.layers > 0 && detail.layersDone === detail.layers;
    if (now - last < PROGRESS_INTERVAL_MS && !complete) return;
    last = now;
    onProgress({ type: 'action-progress', action, detail });
  };
}

const PROGRESS_INTERVAL_MS = 1_000;

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
    // A restart is done once its start succeeded: the generation is recorded with the container.
    if (outcome && action.restartGeneration !== undefined) return [{ ...withoutRefusedStarts(record), restartGeneration: action.restartGeneration }];
    if (outcome && record.refusedStarts) return [withoutRefusedStarts(record)];
  }
  return [];
}

/** How the journal's network and volume records change with an action's outcome (undefined: it failed). */
function resourceChanges(action: Action, outcome: ActionOutcome | undefined, issued: ResourceRecord | undefined, journal: Journal): ResourceRecord[] {
  if ((action.kind === 'create-network' || action.kind === 'create-volume') && issued) {
    if (!outcome) return [{ ...issued, removed: true }];
    if (outcome.adoptedResource) return [{ ...issued, removed: true }, { ...outcome.adoptedResource, intentSeq: issued.intentSeq }];
    return [{ ...issued, resourceId: outcome.resourceId }];
  }
  if ((action.kind === 'remove-network' || action.kind === 'remove-volume') && outcome) {
    const record = journal.resourceRecordOf(action.kind === 'remove-network' ? 'network' : 'volume', action.kind === 'remove-network' ? action.networkId : action.name);
    return record ? [{ ...record, removed: true }] : [];
  }
  return [];
}

function withoutRefusedStarts(record: OwnerRecord): OwnerRecord {
  const { refusedStarts: _cleared, ...rest } = record;
  return rest;
}
