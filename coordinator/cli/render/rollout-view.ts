import type { RolloutState } from '../../rollout/rollout-state.js';
import { renderTable } from './table.js';

export function renderRollout(state: RolloutState): string {
  const wave = Math.min(state.currentWave + 1, state.waves.length);
  const header = `rollout ${state.id} · project ${state.project} · ${state.status.toUpperCase()} · wave ${wave}/${state.waves.length}${state.reason ? ` · ${state.reason}` : ''}`;
  const rows = state.hosts.map((host) => [host.hostId, String(host.wave + 1), host.state, host.writtenRevision === undefined ? '-' : `r${host.writtenRevision}`, host.message ?? '-']);
  return `${header}\n${renderTable(['HOST', 'WAVE', 'STATE', 'REVISION', 'DETAIL'], rows)}`;
}

/** One line per host whose state changed, and one per wave or status change. */
export function rolloutProgressLines(next: RolloutState, previous: RolloutState): string[] {
  const lines: string[] = [];
  for (const host of next.hosts) {
    const before = previous.hosts.find((h) => h.hostId === host.hostId);
    // The host's own wave: the step that passes a wave already points at the next one, which put
    // the last host of wave 1 under "[wave 2/3]".
    if (before?.state !== host.state) lines.push(`[wave ${host.wave + 1}/${next.waves.length}] ${host.hostId.padEnd(12)} ${host.state.padEnd(12)} ${host.message ?? ''}`.trimEnd());
  }
  if (next.status !== previous.status) lines.push(`rollout ${next.status}${next.reason ? `: ${next.reason}` : ''}`);
  return lines;
}
