import type { DesiredEntry, FleetClient } from './fleet-client.js';
import type { HostDesired } from '../shared/host-desired.js';
import type { StatusReport } from '../shared/wire.js';
import { movePhases, type MovePhases, type ReceivingState } from './move-phases.js';
import { writeInPhases, type PhaseWriter } from './move-writes.js';
import { writeTargets, type WrittenHost } from './fleet-apply.js';
import type { HostPlan } from './fleet-plan.js';

/** The make-before-break order of a fleet change, from what each host was told before and what it reports running. */
export function phasesOf(plans: readonly HostPlan[], previous: ReadonlyMap<string, DesiredEntry>, statuses: readonly StatusReport[], project: string): MovePhases {
  const running = new Map<string, Record<string, number>>();
  for (const report of statuses) {
    const counts: Record<string, number> = {};
    for (const instance of report.status.projects.find((p) => p.project === project)?.instances ?? []) {
      // A one-shot that exited as it should (no `stopped` drift) counts as running what it was told.
      if (instance.state === 'running' || (instance.state === 'exited' && !instance.drift.includes('stopped'))) counts[instance.service] = (counts[instance.service] ?? 0) + 1;
    }
    running.set(report.hostId, counts);
  }
  return movePhases(new Map<string, HostDesired>([...previous].map(([hostId, entry]) => [hostId, entry.document])), plans.map((p) => p.target), running);
}

/** Reads what phasesOf needs: the project's desired state and the hosts' accepted status reports. */
export async function readPhases(client: FleetClient, project: string, plans: readonly HostPlan[]): Promise<MovePhases> {
  const [previous, statuses] = await Promise.all([client.desiredOf(project), client.statuses()]);
  return phasesOf(plans, previous, statuses, project);
}

/** The hosts an apply writes: a new document, or a plan with changes. */
export function actingHosts(plans: readonly HostPlan[]): Set<string> {
  return new Set(plans.filter((p) => p.target.changed || p.plan?.changes).map((p) => p.target.hostId));
}

export interface FleetWrite {
  readonly written: readonly WrittenHost[];
  /** Giving hosts not written: a receiving host did not run the moved services healthy in time. */
  readonly held: readonly string[];
  /** A receiving host was blocked by a safety gate (exit 3 rather than 1). */
  readonly blocked: boolean;
}

/** What a fleet change's writes tell as they go (rendered by cli/render/move-view.ts moveProgressLine). */
export type MoveProgress =
  | { readonly type: 'written'; readonly phase: 1 | 2 | undefined; readonly written: readonly { readonly hostId: string; readonly revision: number }[]; readonly correlationID: string }
  | { readonly type: 'move-order'; readonly phases: MovePhases; readonly acting: ReadonlySet<string> }
  | { readonly type: 'waiting-receivers'; readonly hostIds: readonly string[]; readonly timeoutMs: number }
  | { readonly type: 'receiving'; readonly hostId: string; readonly state: ReceivingState | 'timed-out'; readonly detail: string }
  | { readonly type: 'held'; readonly held: readonly string[]; readonly phases: MovePhases; readonly why: readonly string[] };

/**
 * `apply`'s writes: all at once without a move; with one, the receiving hosts first, then (once
 * they run the moved services healthy, within timeoutMs) the giving hosts, each phase told.
 */
export async function writeFleetChange(client: FleetClient, project: string, plans: readonly HostPlan[], phases: MovePhases, options: { readonly timeoutMs: number; readonly correlationID: string; readonly onProgress: (progress: MoveProgress) => void }): Promise<FleetWrite> {
  const { onProgress, correlationID } = options;
  const planOf = new Map(plans.map((p) => [p.target.hostId, p.plan]));
  const revisions = (written: readonly WrittenHost[]) => written.map((w) => ({ hostId: w.hostId, revision: w.document.revision }));
  if (phases.moves.length === 0) {
    const written = await writeTargets(client, plans);
    onProgress({ type: 'written', phase: undefined, written: revisions(written), correlationID });
    return { written, held: [], blocked: false };
  }
  onProgress({ type: 'move-order', phases, acting: actingHosts(plans) });
  // Every phase's agents must read their documents before phase 1 changes anything.
  await client.checkAgentVersions(phases.second.map((t) => t.document));
  let phase: 0 | 1 | 2 = 0;
  const write: PhaseWriter = async (targets) => {
    phase = phase === 0 ? 1 : 2;
    const written = await writeTargets(client, targets.map((target) => ({ target, plan: planOf.get(target.hostId), error: undefined })));
    onProgress({ type: 'written', phase, written: revisions(written), correlationID });
    if (phase === 1) onProgress({ type: 'waiting-receivers', hostIds: [...phases.receiving.keys()], timeoutMs: options.timeoutMs });
    return written;
  };
  const result = await writeInPhases(client, project, phases, write, { timeoutMs: options.timeoutMs, onReceiving: (hostId, state, detail) => onProgress({ type: 'receiving', hostId, state, detail }) });
  if (result.held.length > 0) {
    const why = [...phases.receiving.keys()].flatMap((hostId) => {
      const last = result.receiving.get(hostId);
      if (last?.state === 'ready') return [];
      return [last?.state === 'blocked' || last?.state === 'failed' ? `${hostId} ${last.state === 'blocked' ? 'is blocked' : 'failed'}: ${last.detail}` : `${hostId} did not run them healthy within ${Math.round(options.timeoutMs / 1000)}s (${last?.state ?? 'waiting'}${last ? `: ${last.detail}` : ''})`];
    });
    onProgress({ type: 'held', held: result.held, phases, why });
  }
  const blocked = [...result.receiving.values()].some((r) => r.state === 'blocked');
  return { written: result.written as WrittenHost[], held: result.held, blocked };
}
