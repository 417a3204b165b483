import type { HostDesired } from '../shared/host-desired.js';
import { sleep } from '../shared/sleep.js';
import type { FleetClient } from './fleet-client.js';
import type { PullInFlight } from '../shared/host-status.js';
import type { PullReply } from '../shared/wire.js';

/** How often the hosts' statuses are read for their pulls' progress while the pulls last. */
const PROGRESS_POLL_MS = 500;

/** What `hostwright pull` (and `rollout --pre-pull`) did per host. */
export interface HostPullOutcome {
  readonly hostId: string;
  /** undefined: the host did not answer in time. */
  readonly reply: PullReply | undefined;
}

/** Every host answered, and every pull it ran succeeded (a blocked host pulled nothing: that is a failure too). */
export function allPulled(outcomes: readonly HostPullOutcome[]): boolean {
  return outcomes.every(({ reply }) => reply?.ok === true && reply.blocked.length === 0 && reply.pulled.every((pulled) => pulled.outcome === 'pulled'));
}

/**
 * Asks each host's agent, in parallel, to pull what its candidate document needs and the host
 * lacks, and tells `onPulls` each host's pulls in flight (from the hosts' status reports) until
 * every host answered or `timeoutMs` passed. The hosts pull; nothing is written to desired state.
 */
export async function prePullFleet(client: FleetClient, documents: readonly HostDesired[], correlationID: string, timeoutMs: number, onPulls: (hostId: string, pulls: readonly PullInFlight[] | undefined) => void): Promise<HostPullOutcome[]> {
  const hosts = new Set(documents.map((document) => document.hostId));
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
    for (const report of reports) if (hosts.has(report.hostId)) onPulls(report.hostId, report.status.pulls);
    await Promise.race([all, sleep(PROGRESS_POLL_MS)]);
  }
  return all;
}
