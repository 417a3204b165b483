import type { RolloutGate } from '../../shared/dashboard-api.js';
import { maskedRollout, type RolloutHost, type RolloutState } from '../rollout/rollout-state.js';

/** A rollout as `rollout status --json` prints it, with what each host of its current wave waits on. */
export type RolloutView = RolloutState & { readonly gate: readonly RolloutGate[] };

/** Pure: the rollout (secrets masked) and the gates of its current wave at `now`. */
export function rolloutView(state: RolloutState, now: number): RolloutView {
  const wave = state.waves[state.currentWave] ?? [];
  const byId = new Map(state.hosts.map((host) => [host.hostId, host]));
  const gate = wave.flatMap((hostId) => {
    const host = byId.get(hostId);
    return host ? [{ hostId, waitingFor: waitingFor(host, state, now) }] : [];
  });
  return { ...maskedRollout(state), gate };
}

/** Pure: what the host waits on, in a few plain words ("healthy for 10s (4s so far)"). */
export function waitingFor(host: RolloutHost, state: RolloutState, now: number): string {
  const seconds = (ms: number) => `${Math.max(0, Math.round(ms / 1000))}s`;
  switch (host.state) {
    case 'pending':
      if (state.status === 'paused') return `paused: ${state.reason ?? 'by an operator'}`;
      return host.after && host.after.length > 0 ? `hosts ${host.after.join(', ')} healthy first` : 'its turn to be written';
    case 'applying': {
      if (host.healthySince !== undefined) return `healthy for ${seconds(state.options.minHealthyMs)} (${seconds(now - Date.parse(host.healthySince))} so far)`;
      const since = host.startedAt === undefined ? undefined : now - Date.parse(host.startedAt);
      const revision = host.writtenRevision === undefined ? '' : ` at revision ${host.writtenRevision}`;
      return `converged and healthy${revision}${since === undefined ? '' : ` (${seconds(since)} of ${seconds(state.options.healthyDeadlineMs)} deadline)`}${host.message ? `: ${host.message}` : ''}`;
    }
    case 'failed':
      return host.message ?? 'failed';
    case 'healthy':
      return 'nothing: passed';
    case 'skipped':
      return host.message ?? 'nothing: skipped';
    case 'rolling-back':
      return `its previous revision back${host.message ? `: ${host.message}` : ''}`;
    case 'rolled-back':
      return 'nothing: rolled back';
  }
}
