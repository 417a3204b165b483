// Failure scope: each project's failure streak on its desired revision, counted, backed off and
// rejected on its own, so that one project's failure never blocks, stops or rejects another.
import type { EventDraft } from '../../shared/events.js';
import type { PlanMode } from './planner.js';

export interface FailurePolicy {
  /** Failed attempts (the engine answering) on a revision not yet applied before it is rejected. */
  readonly maxAttempts: number;
  readonly backoffMinMs: number;
  /** The backoff grows to this and stays there while the failure repeats. */
  readonly backoffMaxMs: number;
}

export const DEFAULT_FAILURE_POLICY: FailurePolicy = { maxAttempts: 5, backoffMinMs: 1_000, backoffMaxMs: 60_000 };

/** A project's failed attempts in a row on one desired revision. */
export interface ProjectFailure {
  readonly project: string;
  readonly revision: number;
  readonly attempts: number;
  /** Of the attempts, those where the engine answered: only these count toward rejecting the revision. */
  readonly counted: number;
  /** The last attempt's reason. */
  readonly reason: string;
  /** When the streak began (ISO time). */
  readonly since: string;
  readonly backoffMs: number;
  /** Until then the project's actions do not run (ms since the epoch). */
  readonly retryAtMs: number;
}

/** Per project; a project without an entry is not failing. */
export type FailureState = ReadonlyMap<string, ProjectFailure>;

/** What one cycle did for a project it let act (held and gate-blocked projects have none). */
export type ProjectOutcome =
  | { readonly project: string; readonly revision: number; readonly result: 'ok' }
  | { readonly project: string; readonly revision: number; readonly result: 'failed'; readonly mode: PlanMode; readonly reason: string; readonly engineUnreachable: boolean };

/** The changes of state that deserve an event: one each, never one per attempt. */
export type FailureTransition =
  | { readonly kind: 'failing'; readonly project: string; readonly revision: number; readonly reason: string; readonly retryInMs: number; readonly attempts: number }
  | { readonly kind: 'rejected'; readonly project: string; readonly revision: number; readonly reason: string; readonly attempts: number }
  | { readonly kind: 'recovered'; readonly project: string; readonly revision: number; readonly reason: string; readonly attempts: number };

export interface FailureStep {
  readonly state: FailureState;
  readonly transitions: readonly FailureTransition[];
}

/**
 * Pure: the state after a cycle. A streak belongs to one revision (a new revision starts afresh, a
 * project without a desired document drops out); its backoff doubles to the cap and stays there;
 * a revision not yet applied is rejected once `maxAttempts` counted attempts failed, which ends the
 * streak (the rejection, kept in the journal, holds the project from then on).
 */
export function nextFailureState(previous: FailureState, input: { readonly revisions: ReadonlyMap<string, number>; readonly outcomes: readonly ProjectOutcome[]; readonly nowMs: number; readonly policy: FailurePolicy }): FailureStep {
  const { revisions, outcomes, nowMs, policy } = input;
  const state = new Map<string, ProjectFailure>();
  for (const [project, failure] of previous) if (revisions.get(project) === failure.revision) state.set(project, failure);
  const transitions: FailureTransition[] = [];
  for (const outcome of outcomes) {
    const prior = state.get(outcome.project);
    const streak = prior?.revision === outcome.revision ? prior : undefined;
    if (outcome.result === 'ok') {
      if (streak) transitions.push({ kind: 'recovered', project: outcome.project, revision: outcome.revision, reason: streak.reason, attempts: streak.attempts });
      state.delete(outcome.project);
      continue;
    }
    const attempts = (streak?.attempts ?? 0) + 1;
    const counted = (streak?.counted ?? 0) + (outcome.engineUnreachable ? 0 : 1);
    if (outcome.mode === 'converge' && counted >= policy.maxAttempts) {
      transitions.push({ kind: 'rejected', project: outcome.project, revision: outcome.revision, reason: outcome.reason, attempts });
      state.delete(outcome.project);
      continue;
    }
    const backoffMs = backoffAfter(attempts, policy);
    if (!streak || streak.reason !== outcome.reason) transitions.push({ kind: 'failing', project: outcome.project, revision: outcome.revision, reason: outcome.reason, retryInMs: backoffMs, attempts });
    state.set(outcome.project, {
      project: outcome.project,
      revision: outcome.revision,
      attempts,
      counted,
      reason: outcome.reason,
      since: streak?.since ?? new Date(nowMs).toISOString(),
      backoffMs,
      retryAtMs: nowMs + backoffMs,
    });
  }
  return { state, transitions };
}

/** The wait after the n-th failed attempt in a row: doubling from the minimum, then the cap for good. */
export function backoffAfter(attempts: number, policy: FailurePolicy): number {
  // Capped exponent: 2 ** 1000 is Infinity, and Math.min keeps it at the cap anyway.
  return Math.min(policy.backoffMinMs * 2 ** Math.min(Math.max(attempts - 1, 0), 30), policy.backoffMaxMs);
}

/** Projects still waiting out their backoff: their actions do not run in this cycle. */
export function backingOff(state: FailureState, nowMs: number): Set<string> {
  return new Set([...state.values()].filter((failure) => failure.retryAtMs > nowMs).map((failure) => failure.project));
}

/** When the next project's backoff ends; undefined when none is failing. */
export function nextRetryAtMs(state: FailureState): number | undefined {
  let next: number | undefined;
  for (const failure of state.values()) if (next === undefined || failure.retryAtMs < next) next = failure.retryAtMs;
  return next;
}

/** How an operator lifts a rejection, as status and events say it. */
export function liftHint(hostId: string, project: string): string {
  return `apply a new revision, or run: hostwright retry --host ${hostId} --project ${project}`;
}

/** Pure: one event per transition. */
export function failureTransitionEvents(transitions: readonly FailureTransition[], hostId: string): EventDraft[] {
  return transitions.map((transition): EventDraft => {
    const { project, revision, reason } = transition;
    switch (transition.kind) {
      case 'failing':
        return { type: 'failed', severity: 'warning', project, message: `revision ${revision} failed (${reason}); retrying with backoff (next in ${Math.round(transition.retryInMs / 1000)} s); further attempts failing the same way are not reported one by one` };
      case 'rejected':
        return { type: 'failed', severity: 'error', project, message: `revision ${revision} rejected after ${transition.attempts} failed attempts: ${reason}; no more retries or repairs of ${project} until you ${liftHint(hostId, project)}` };
      case 'recovered':
        return { type: 'applied', severity: 'info', project, message: `revision ${revision} works again after ${transition.attempts} failed attempt(s) (last: ${reason})` };
    }
  });
}
