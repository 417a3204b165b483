// The reconcile contract: what one cycle is asked to do, what it reports, and what it tells while it runs.
// `Reconciler.runCycle(request, context)` takes a CycleRequest and a CycleContext and returns a CycleReport.
import type { Action } from '../shared/actions.js';
import type { HostDesired } from '../shared/host-desired.js';
import type { GateBlock, HostStatus } from '../shared/host-status.js';
import type { HostDiff } from './core/diff.js';
import type { FailurePolicy, FailureState } from './core/failure-state.js';
import type { ActionPlan } from './core/planner.js';
import type { PullProgress } from './runtime/runtime-adapter.js';
import type { Outcome } from './store/records.js';

/**
 * What a cycle is asked to do: plain data, no callbacks. Level-based: it says how to reconcile, never
 * what woke the loop; every cycle reads the latest desired and observed state.
 */
export interface CycleRequest {
  /** An explicit apply converges every project, whatever its drift policy or rejected revision. */
  readonly explicit?: boolean;
  /** Plan only: observe, diff, plan and gate, and change nothing (not even the journal). */
  readonly dryRun?: boolean;
  /** Plan with these documents in their projects' places among the stored ones (dry-run of a candidate spec); the report keeps their part. */
  readonly candidate?: readonly HostDesired[];
  /** Shared by every event of the cycle; by default the converging revision's, else a fresh one. */
  readonly correlationID?: string;
  /**
   * The projects' failure streaks as the loop keeps them, and the policy they follow: projects
   * backing off are held (none of their actions runs), failures are counted per project, and the
   * report carries the next state. Without it (a one-shot apply) nothing is counted.
   */
  readonly failures?: { readonly state: FailureState; readonly policy: FailurePolicy };
}

/** What runs alongside a cycle without changing what it does: cancellation and progress. */
export interface CycleContext {
  /** Aborted: no new action starts; those in flight finish (a pull or a health wait cut short), their results recorded. */
  readonly signal?: AbortSignal;
  /** Told when the plan is made and as each action starts and finishes (its result on disk). */
  readonly onProgress?: (progress: CycleProgress) => void;
}

/** A cycle's progress notifications, keyed on `type`. */
export type CycleProgress =
  | { readonly type: 'planned'; readonly plan: ActionPlan; readonly runnable: readonly Action[]; readonly blocks: readonly GateBlock[] }
  | { readonly type: 'action-started'; readonly action: Action }
  /** A long action's progress (a pull's layers and bytes), at most about once a second per action. */
  | { readonly type: 'action-progress'; readonly action: Action; readonly detail: PullProgress }
  | { readonly type: 'action-finished'; readonly report: ActionReport };

/** What one action did, as recorded in the journal with its result. */
export interface ActionReport {
  readonly action: Action;
  readonly outcome: Outcome;
  readonly message: string;
  readonly containerId: string | undefined;
  readonly durationMs: number;
  /** Failed because the engine did not answer: nothing is known about the action itself. */
  readonly engineUnreachable?: boolean;
}

/** What a cycle found, planned and did. */
export interface CycleReport {
  readonly correlationID: string;
  readonly dryRun: boolean;
  readonly diff: HostDiff;
  readonly plan: ActionPlan;
  readonly blocks: readonly GateBlock[];
  readonly runnable: readonly Action[];
  readonly results: readonly ActionReport[];
  /** True when an action failed; its project was left as it was at that point (other projects went on). */
  readonly failed: boolean;
  /** After the cycle's second observation; undefined for a dry run. */
  readonly status: HostStatus | undefined;
  /** The failure streaks after this cycle, when the request carried them. */
  readonly failures?: FailureState;
}
