import { describeAction } from '../../../shared/actions.js';
import type { CycleProgress } from '../../../agent/cycle.js';
import type { GateBlock } from '../../../shared/host-status.js';
import { printable } from './printable.js';
import type { ApplyProgress } from '../../operations/apply-fleet.js';
import type { MoveProgress } from '../../fleet-moves.js';
import { heldLine, renderMoveOrder } from './move-view.js';

/** `apply --local`: one line as an action starts or ends ('' for none); names, images and Docker's answers are shown printable. */
export function actionProgressLine(progress: CycleProgress): string {
  switch (progress.type) {
    case 'planned':
      return progress.runnable.length === 0 ? '' : `Plan: ${progress.runnable.length} action(s)`;
    case 'action-started':
      return `  ${progress.action.id.padEnd(4)} ${printable(describeAction(progress.action))} ...`;
    case 'action-progress': {
      const { detail } = progress;
      const total = detail.totalBytes > 0 ? ` of ${megabytes(detail.totalBytes)}` : '';
      return `  ${progress.action.id.padEnd(4)} ... ${megabytes(detail.bytes)}${total}, ${detail.layersDone}/${detail.layers} layer(s)`;
    }
    case 'action-finished': {
      const { report } = progress;
      const mark = report.outcome === 'failed' ? 'FAILED' : report.outcome === 'already' ? 'already' : 'done';
      return `  ${report.action.id.padEnd(4)} ${mark}: ${printable(report.message)} (${report.durationMs} ms)`;
    }
  }
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** `apply` in fleet mode: a host that did not answer its plan request. */
export function unansweredHostLine(hostId: string, error: string): string {
  return `${printable(hostId)}: ${printable(error)}`;
}

/** `apply` and `plan` in fleet mode: a host no agent registered as, written with --allow-unregistered. */
export function notRegisteredLine(hostId: string, revision: number): string {
  return `${printable(hostId)}: NOT REGISTERED: no agent has registered as this host; r${revision} is written now (--allow-unregistered) and applied when its agent registers (\`hostwright status\` lists it as NOT REGISTERED until then)`;
}

/** `apply` in fleet mode: a host whose plan a safety gate would block. */
export function wouldBlockLine(hostId: string, blocked: readonly GateBlock[]): string {
  return `${printable(hostId)}: would block: ${blocked.map((b) => `[${b.gate}] ${printable(b.message)}`).join('; ')}`;
}

/** `apply` in fleet mode: the hosts whose desired state was written. */
export function writtenLine(written: readonly { readonly hostId: string; readonly revision: number }[], correlationID: string): string {
  if (written.length === 0) return 'Already converged: nothing to do.';
  return `Wrote desired state for ${written.length} host(s): ${written.map((w) => `${printable(w.hostId)} r${w.revision}`).join(', ')} (correlation ${printable(correlationID)})`;
}

/** `apply --wait`: one line per change of a host's progress. */
export function hostProgressLine(hostId: string, state: string, detail: string): string {
  return `  ${printable(hostId).padEnd(12)} ${state.padEnd(10)} ${printable(detail)}`;
}

/** `apply plan.json` refused: why each host's part of the saved plan no longer holds. */
export function stalePlanMessage(reasons: readonly string[], planFile: string): string {
  return `error: the saved plan is stale; nothing was applied:\n${reasons.map((reason) => `  ${printable(reason)}`).join('\n')}\nMake a new plan with \`hostwright plan -f <fleet.yaml> --out ${printable(planFile)}\`.\n`;
}

/** `apply` in fleet mode: one line per step of coordinator/operations/apply-fleet.ts (a pull's progress is PullProgressLines'). */
export function applyProgressLine(progress: Exclude<ApplyProgress, { type: 'pulls' }>): string {
  switch (progress.type) {
    case 'unanswered':
      return unansweredHostLine(progress.hostId, progress.error);
    case 'would-block':
      return wouldBlockLine(progress.hostId, progress.blocked);
    case 'not-registered':
      return notRegisteredLine(progress.hostId, progress.revision);
    case 'host':
      return hostProgressLine(progress.hostId, progress.state, progress.detail);
    default:
      return moveProgressLine(progress);
  }
}

/** `apply --wait`: how many hosts ended in each state, in the order the states first appeared. */
export function applySummaryLine(states: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const state of states) counts.set(state, (counts.get(state) ?? 0) + 1);
  return `${[...counts.entries()].map(([state, count]) => `${count} ${state}`).join(', ')}.`;
}

/** `apply`, `hosts drain`: one line (or the move order) per step of a fleet change's writes. */
export function moveProgressLine(progress: MoveProgress): string {
  switch (progress.type) {
    case 'written':
      return `${progress.phase === undefined ? '' : `Phase ${progress.phase}: `}${writtenLine(progress.written, progress.correlationID)}`;
    case 'move-order':
      return renderMoveOrder(progress.phases, progress.acting);
    case 'waiting-receivers':
      return `Waiting up to ${Math.round(progress.timeoutMs / 1000)}s for ${progress.hostIds.join(', ')} to run the moved services healthy`;
    case 'receiving':
      return hostProgressLine(progress.hostId, progress.state, progress.detail);
    case 'held':
      return heldLine(progress.held, progress.phases, progress.why);
  }
}
