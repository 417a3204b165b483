import type { RolloutState } from '../../rollout/rollout-state.js';
import { printable } from './printable.js';
import { renderTable } from './table.js';

/** A rollout's waves and hosts; ids, reasons and host messages are shown printable. */
export function renderRollout(state: RolloutState): string {
  const wave = Math.min(state.currentWave + 1, state.waves.length);
  const header = `rollout ${printable(state.id)} · project ${printable(state.project)} · ${state.status.toUpperCase()} · wave ${wave}/${state.waves.length}${state.reason ? ` · ${printable(state.reason)}` : ''}`;
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
    if (before?.state !== host.state) lines.push(`[wave ${host.wave + 1}/${next.waves.length}] ${printable(host.hostId).padEnd(12)} ${host.state.padEnd(12)} ${printable(host.message ?? '')}`.trimEnd());
  }
  if (next.status !== previous.status) lines.push(`rollout ${next.status}${next.reason ? `: ${printable(next.reason)}` : ''}`);
  return lines;
}

/** `rollout list`: one line per rollout. */
export function renderRolloutList(states: readonly RolloutState[]): string {
  if (states.length === 0) return 'No rollouts.';
  return states.map((s) => `${printable(s.id)}  ${printable(s.project)}  ${s.status}  wave ${Math.min(s.currentWave + 1, s.waves.length)}/${s.waves.length}  ${printable(s.createdAt)}`).join('\n');
}

/** The first line of a rollout that starts or resumes: its waves of hosts. */
export function renderRolloutStart(state: RolloutState): string {
  return `rollout ${printable(state.id)}: ${state.waves.length} wave(s): ${state.waves.map((wave, i) => `${i + 1}:[${printable(wave.join(','))}]`).join(' ')} (correlation ${printable(state.correlationID)})`;
}
