import type { HostReport } from '../shared/host-report.js';
import type { MeshLive } from '../shared/mesh.js';
import type { HostRegistration } from '../shared/wire.js';

// Pure: how each host's live mesh compares with the mesh document stored for it, from what its
// agent says in its signed registration (its last drift check, agent/mesh/mesh-repair.ts).

export type MeshLiveState = 'in-sync' | 'behind' | 'differs' | 'unknown';

/** One host's row of `mesh`: the state, and what the agent said (absent: it said nothing). */
export interface MeshLiveView {
  readonly state: MeshLiveState;
  readonly revision?: number;
  readonly checkedAt?: string;
  readonly repaired?: { readonly at: string; readonly steps: number };
  readonly error?: string;
}

/** Each host's report of its live mesh, from verified registrations only: an unverified one could be anyone's. */
export function meshLiveByHost(reports: readonly HostReport<HostRegistration>[]): Map<string, MeshLive> {
  return new Map(reports.flatMap((report) => (report.trust.verdict === 'verified' && report.value?.meshLive !== undefined && report.value.hostId === report.hostId ? [[report.hostId, report.value.meshLive] as const] : [])));
}

/**
 * `live` undefined: no verified registration, or an agent that does not report it (older, or not
 * checked yet). An agent holding an older revision than the stored one is `behind` (it has not
 * taken the new document yet), whatever its interface looks like.
 */
export function meshLiveView(storedRevision: number, live: MeshLive | undefined): MeshLiveView {
  if (live === undefined) return { state: 'unknown' };
  const state: MeshLiveState = live.revision < storedRevision ? 'behind' : live.inSync ? 'in-sync' : 'differs';
  return { state, revision: live.revision, checkedAt: live.checkedAt, ...(live.repaired === undefined ? {} : { repaired: live.repaired }), ...(live.error === undefined ? {} : { error: live.error }) };
}

/** The LIVE column of `mesh`. */
export function meshLiveText(view: MeshLiveView, storedRevision: number): string {
  switch (view.state) {
    case 'unknown':
      return 'unknown (no report from the agent)';
    case 'behind':
      return `behind (holds revision ${view.revision ?? '?'} of ${storedRevision})`;
    case 'differs':
      return `differs: ${view.error ?? 'not repaired'}`;
    case 'in-sync':
      return view.repaired === undefined ? 'in sync' : `in sync (repaired ${view.repaired.steps} step(s) at ${view.repaired.at})`;
  }
}
