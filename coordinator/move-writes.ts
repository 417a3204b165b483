import type { HostDesired } from '../shared/host-desired.js';
import type { FleetClient } from './fleet-client.js';
import type { HostTarget } from './fleet-targets.js';
import { receivingState, type MovePhases, type ReceivingState } from './move-phases.js';
import { isStaleHost } from './heartbeat-age.js';
import { FleetReportWatch } from './report-watch.js';

/** A document as written: the host and the revision its agent must reach. */
export interface WrittenDocument {
  readonly hostId: string;
  readonly document: HostDesired;
}

/** Writes a phase's targets (compare-and-set on each target's kvRevision); returns what it wrote. */
export type PhaseWriter = (targets: readonly HostTarget[]) => Promise<readonly WrittenDocument[]>;

export interface PhasedWrite {
  /** Everything written, phase 1 then phase 2. */
  readonly written: readonly WrittenDocument[];
  /** Giving hosts left as they were because phase 1 did not complete (empty when it did). */
  readonly held: readonly string[];
  /** Each receiving host's last state when the phase-1 wait ended (empty without a move). */
  readonly receiving: ReadonlyMap<string, { readonly state: ReceivingState; readonly detail: string }>;
}

export interface PhasedWriteOptions {
  /** How long phase 1's receiving hosts have to run the moved services healthy. */
  readonly timeoutMs: number;
  /** The longest the wait sleeps without a change of a status or heartbeat (what only time moves on). */
  readonly pollMs?: number;
  /** A receiving host's state changed while phase 2 waits for it. */
  readonly onReceiving?: (hostId: string, state: ReceivingState | 'timed-out', detail: string) => void;
  /** Phase 2 is about to be written (or held). */
  readonly onPhase?: (phase: 1 | 2, hostIds: readonly string[]) => void;
}

/**
 * Make-before-break: writes phase 1, waits (bounded by timeoutMs) until every receiving host runs
 * its moved services healthy, and only then writes phase 2's giving hosts. A receiving host that
 * blocks, fails, or is not ready in time leaves the giving hosts unwritten: they keep their instances.
 */
export async function writeInPhases(client: FleetClient, project: string, phases: MovePhases, write: PhaseWriter, options: PhasedWriteOptions): Promise<PhasedWrite> {
  options.onPhase?.(1, phases.first.map((t) => t.hostId));
  const first = await write(phases.first);
  if (phases.second.length === 0) return { written: first, held: [], receiving: new Map() };
  const unwritten = new Map(phases.first.map((t) => [t.hostId, t.document]));
  const receiving = await waitForReceivers(client, first, unwritten, phases.receiving, options);
  const ready = [...phases.receiving.keys()].every((hostId) => receiving.get(hostId)?.state === 'ready');
  if (!ready) return { written: first, held: phases.second.map((t) => t.hostId), receiving };
  options.onPhase?.(2, phases.second.map((t) => t.hostId));
  // A giving host written in phase 1 is at a newer revision now: phase 2 goes on from it.
  const current = await client.desiredOf(project);
  const second = phases.second.map((target): HostTarget => {
    const now = current.get(target.hostId);
    return now === undefined ? target : { ...target, document: { ...target.document, revision: now.document.revision + 1 }, kvRevision: now.kvRevision, changed: true };
  });
  return { written: [...first, ...(await write(second))], held: [], receiving };
}

async function waitForReceivers(client: FleetClient, written: readonly WrittenDocument[], current: ReadonlyMap<string, HostDesired>, receiving: ReadonlyMap<string, readonly string[]>, options: PhasedWriteOptions): Promise<Map<string, { state: ReceivingState; detail: string }>> {
  const deadline = Date.now() + options.timeoutMs;
  const states = new Map<string, { state: ReceivingState; detail: string }>();
  const final = (state: ReceivingState | undefined) => state === 'ready' || state === 'blocked' || state === 'failed';
  // Woken by each change of the status and hosts buckets, not by re-reading them on a timer.
  const watch = await FleetReportWatch.open(client);
  try {
    for (;;) {
      for (const [hostId, services] of receiving) {
        if (final(states.get(hostId)?.state)) continue;
        // A receiving host not written (its plan had nothing to do) is held to the revision it has.
        const document = written.find((w) => w.hostId === hostId)?.document ?? current.get(hostId);
        if (document === undefined) {
          states.set(hostId, { state: 'failed', detail: 'no desired state to wait for' });
          continue;
        }
        const reported = watch.statusOf(hostId);
        const next = receivingState({ document }, services, {
          report: reported?.value,
          refused: reported?.trust.verdict === 'refused' ? reported.trust.reason : undefined,
          stale: isStaleHost(watch.heartbeatOf(hostId), Date.now()),
        });
        if (states.get(hostId)?.state !== next.state) options.onReceiving?.(hostId, next.state, next.detail);
        states.set(hostId, next);
      }
      const all = [...receiving.keys()].map((hostId) => states.get(hostId)?.state);
      // One receiving host that cannot take its instances ends the wait: the giving hosts are held either way.
      if (all.every((state) => state === 'ready') || all.some((state) => state === 'blocked' || state === 'failed')) return states;
      if (Date.now() > deadline) {
        for (const hostId of receiving.keys()) {
          const last = states.get(hostId);
          if (last?.state !== 'ready') options.onReceiving?.(hostId, 'timed-out', `still ${last?.state ?? 'waiting'} after ${Math.round(options.timeoutMs / 1000)}s${last ? `: ${last.detail}` : ''}`);
        }
        return states;
      }
      await watch.next(options.pollMs ?? 300);
    }
  } finally {
    watch.stop();
  }
}
