import type { HostwrightEvent } from '../../../shared/events.js';
import { withFleet } from '../fleet/fleet-session.js';
import type { FleetTarget } from '../options.js';
import type { EventFilter } from './events-filter.js';
import type { EventsOptions } from './events.js';

/** `events` in fleet mode: the fleet's event stream, until it ends or, with --follow, until interrupted. */
export async function fleetEvents(target: FleetTarget, options: EventsOptions, filter: EventFilter, print: (event: HostwrightEvent) => void): Promise<void> {
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  process.once('SIGTERM', () => abort.abort());
  await withFleet(target, (client) =>
    client.events({ hostId: options.host, project: filter.project, type: filter.type, since: filter.since ? new Date(filter.since) : undefined, follow: options.follow === true, signal: abort.signal }, print),
  );
}
