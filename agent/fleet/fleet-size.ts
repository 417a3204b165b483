import type { HostConnection } from '../../shared/nats-connection.js';
import { BUCKETS, hostJetStreamPrefix } from '../../shared/subjects.js';

const FLEET_SIZE_TIMEOUT_MS = 2_000;

/**
 * How many hosts the fleet holds: the keys of `hw_hosts`, from the bucket's stream info (a host's
 * account imports that one request and no other stream's, coordinator/nats-auth.ts). Undefined when
 * the server does not answer it (a fleet whose accounts predate the import, a single-account
 * layout that denies it): the agent keeps its configured period.
 */
export async function fleetHostCount(connection: HostConnection, hostId: string): Promise<number | undefined> {
  const prefix = connection.isolated ? hostJetStreamPrefix(hostId) : '$JS.API';
  try {
    const answer = await connection.nc.request(`${prefix}.STREAM.INFO.KV_${BUCKETS.hosts}`, undefined, { timeout: FLEET_SIZE_TIMEOUT_MS });
    return countOf(answer.json<unknown>());
  } catch {
    return undefined;
  }
}

/** Pure: the stream's subjects (one per host's key), else its messages (one per key: the bucket keeps one), from a STREAM.INFO answer. */
export function countOf(info: unknown): number | undefined {
  const state = (info as { state?: { num_subjects?: unknown; messages?: unknown } } | null)?.state;
  const count = typeof state?.num_subjects === 'number' ? state.num_subjects : state?.messages;
  return typeof count === 'number' && Number.isInteger(count) && count >= 0 ? count : undefined;
}
