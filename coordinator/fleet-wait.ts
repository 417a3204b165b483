import type { StatusReport } from '../shared/wire.js';
import type { FleetClient } from './fleet-client.js';
import { CONVERGED_SETTLE_MS, progressOf, type HostProgress, type WrittenHost } from './fleet-apply.js';
import { FleetReportWatch } from './report-watch.js';

/** The longest a wait sleeps without a change: what only time moves on (a settle time, a stale heartbeat, the deadline) is seen within it. */
const TICK_MS = 250;

/**
 * Waits until every host converged, failed or was blocked, or the timeout passes, waking on each
 * change of the status and hosts buckets (FleetReportWatch); reports each change of a host's
 * progress, and each status of a host still on its way (`polled`: its pulls in flight).
 */
export async function waitForHosts(
  client: FleetClient,
  written: readonly WrittenHost[],
  timeoutMs: number,
  report: (hostId: string, state: HostProgress, detail: string) => void,
  polled: (hostId: string, status: StatusReport | undefined) => void,
  signal?: AbortSignal,
): Promise<Map<string, HostProgress>> {
  const deadline = Date.now() + timeoutMs;
  const states = new Map<string, HostProgress>();
  // A host is done once it failed or was blocked, or has stayed converged for a moment (a crash shows within it).
  const convergedSince = new Map<string, { readonly at: number; readonly detail: string }>();
  const settled = (hostId: string) => Date.now() - (convergedSince.get(hostId)?.at ?? Infinity) >= CONVERGED_SETTLE_MS;
  const done = (hostId: string) => {
    const state = states.get(hostId);
    return state === 'failed' || state === 'blocked' || (state === 'converged' && settled(hostId));
  };
  const watch = await FleetReportWatch.open(client);
  try {
    for (;;) {
      for (const host of written) {
        if (done(host.hostId)) continue;
        const reported = watch.statusOf(host.hostId);
        const progress = progressOf(host, reported, watch.heartbeatOf(host.hostId));
        polled(host.hostId, reported?.value);
        // Converged counts (and is shown) once it has held for the settle time.
        if (progress.state !== 'converged') convergedSince.delete(host.hostId);
        else if (!convergedSince.has(host.hostId)) convergedSince.set(host.hostId, { at: Date.now(), detail: progress.detail });
        if (progress.state === 'converged' && !settled(host.hostId)) continue;
        if (states.get(host.hostId) !== progress.state) report(host.hostId, progress.state, progress.detail);
        states.set(host.hostId, progress.state);
      }
      if (written.every((host) => done(host.hostId))) return states;
      if (Date.now() > deadline || signal?.aborted) {
        for (const host of written) {
          if (done(host.hostId)) continue;
          const converged = convergedSince.get(host.hostId);
          if (converged) {
            // Converged when time ran out, only not for the whole settle time: it counts.
            report(host.hostId, 'converged', converged.detail);
            states.set(host.hostId, 'converged');
          } else {
            report(host.hostId, 'timed-out', `still ${states.get(host.hostId) ?? 'waiting'} after ${Math.round(timeoutMs / 1000)}s`);
            states.set(host.hostId, 'timed-out');
          }
        }
        return states;
      }
      await watch.next(Math.min(TICK_MS, Math.max(0, deadline - Date.now()) + 1), signal);
    }
  } finally {
    watch.stop();
  }
}
