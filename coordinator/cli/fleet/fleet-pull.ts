import type { HostDesired } from '../../../shared/host-desired.js';
import { sleep } from '../../../shared/sleep.js';
import type { FleetClient } from '../../fleet-client.js';
import { PullProgressLines, type HostPullOutcome } from '../render/pull-view.js';

/** How often the hosts' statuses are read for their pulls' progress while the pulls last. */
const PROGRESS_POLL_MS = 500;

/**
 * Asks each host's agent, in parallel, to pull what its candidate document needs and the host
 * lacks, and tells `say` a progress line per pull in flight (from the hosts' status reports) until
 * every host answered or `timeoutMs` passed. The hosts pull; nothing is written to desired state.
 */
export async function prePullFleet(client: FleetClient, documents: readonly HostDesired[], correlationID: string, timeoutMs: number, say: (line: string) => void): Promise<HostPullOutcome[]> {
  const hosts = new Set(documents.map((document) => document.hostId));
  const lines = new PullProgressLines(say);
  let pending = documents.length;
  const requests = documents.map(async (document): Promise<HostPullOutcome> => {
    try {
      return { hostId: document.hostId, reply: await client.requestPull(document, correlationID, timeoutMs) };
    } finally {
      pending -= 1;
    }
  });
  const all = Promise.all(requests);
  while (pending > 0) {
    // A status not read this time is read the next: progress is only shown, never waited on.
    const reports = await client.statuses().catch(() => []);
    for (const report of reports) if (hosts.has(report.hostId)) lines.show(report.hostId, report.status.pulls);
    await Promise.race([all, sleep(PROGRESS_POLL_MS)]);
  }
  return all;
}
