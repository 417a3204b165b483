import type { HostwrightEvent } from '../../shared/events.js';
import type { FleetClient, StreamEvent } from '../fleet-client.js';

/** Which events to show: each field given must match (`since`: an ISO time, inclusive). */
export interface EventFilter {
  readonly type: string | undefined;
  readonly project: string | undefined;
  readonly since: string | undefined;
}

export function eventMatches(event: HostwrightEvent, filter: EventFilter): boolean {
  return (filter.type === undefined || event.type === filter.type) && (filter.project === undefined || event.project === filter.project) && (filter.since === undefined || event.timestamp >= filter.since);
}

export interface FleetEventsInput {
  readonly filter: EventFilter;
  /** One host's events only. */
  readonly hostId?: string;
  /** Go on with new events until `signal` aborts; without it, stop at the stream's end. */
  readonly follow: boolean;
  readonly signal?: AbortSignal;
}

/** One item of the fleet's event stream: an event with how far its signature was checked, or a message on a host's subject that failed its checks. */
export type FleetEventItem =
  | { readonly type: 'event'; readonly event: HostwrightEvent; readonly trust: 'verified' | 'unverified' }
  | { readonly type: 'refused'; readonly refused: Extract<StreamEvent, { refused: unknown }>['refused'] };

/**
 * `events` in fleet mode: the fleet's event stream through the filter, in stream order, until it
 * ends or, with `follow`, until `signal` aborts. A refused message is handed on whatever the filter.
 */
export async function fleetEvents(client: FleetClient, input: FleetEventsInput, onItem: (item: FleetEventItem) => void): Promise<void> {
  const { filter } = input;
  await client.events({ hostId: input.hostId, project: filter.project, type: filter.type, since: filter.since ? new Date(filter.since) : undefined, follow: input.follow, signal: input.signal }, (item) => {
    if ('refused' in item) onItem({ type: 'refused', refused: item.refused });
    else if (eventMatches(item.event, filter)) onItem({ type: 'event', event: item.event, trust: item.trust.verdict === 'verified' ? 'verified' : 'unverified' });
  });
}
