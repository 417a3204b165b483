import { InvalidInputError } from '../../shared/errors.js';
import { FINISHED_STATUSES, type RolloutState } from './rollout-state.js';

/** What an operator may do to a stored rollout (`rollout pause|resume|abort`, the dashboard's buttons). */
export type RolloutChange = 'pause' | 'resume' | 'abort';

/**
 * Pure: the rollout after an operator's pause, resume or abort at `now`; `by` names who, in the
 * rollout's reason (absent: "an operator"). A finished rollout is refused.
 */
export function changedRollout(change: RolloutChange, current: RolloutState, now: Date, by?: string): RolloutState {
  const who = by ?? 'an operator';
  if (FINISHED_STATUSES.includes(current.status)) throw new InvalidInputError(`rollout ${current.id} already ${current.status}; nothing to ${change} (\`hostwright rollout status ${current.id}\` shows how it ended; \`hostwright rollout -f fleet.yaml\` starts a new one)`);
  if (change === 'pause') return { ...current, status: current.status === 'running' ? 'paused' : current.status, reason: `paused by ${who}`, updatedAt: now.toISOString() };
  if (change === 'abort') return { ...current, status: 'aborted', reason: `aborted by ${who}`, updatedAt: now.toISOString() };
  if (current.status !== 'paused') return current;
  // Resuming accepts the failures so far (the operator looked at them) and goes on with the next wave.
  const failures = current.hosts.filter((host) => host.state === 'failed').length;
  const resumed = by === undefined ? 'resumed' : `resumed by ${by}`;
  return { ...current, status: 'running', options: { ...current.options, maxFailures: Math.max(current.options.maxFailures, failures) }, reason: failures > 0 ? `${resumed} accepting ${failures} failed host(s)` : resumed, updatedAt: now.toISOString() };
}
