import type { HostwrightEvent } from '../../../../shared/events.js';
import { withFleet } from '../../../fleet-session.js';
import { requireKnownHost } from '../../../known-hosts.js';
import { fleetEvents as followFleetEvents } from '../../../operations/events-fleet.js';
import type { FleetTarget } from '../../options.js';
import { renderRefusedEvent } from '../../render/events-view.js';
import { printableJson } from '../../render/printable.js';
import type { EventFilter } from './events-filter.js';
import type { EventsOptions } from './options.js';

/**
 * `events` in fleet mode: the fleet's event stream, until it ends or, with --follow, until
 * interrupted. A message on a host's subject that fails its checks is shown as refused, not as
 * an event; without the fleet's host keys, events are shown unverified, and stderr says so once.
 */
export async function fleetEvents(target: FleetTarget, options: EventsOptions, filter: EventFilter, print: (event: HostwrightEvent, trust: 'verified' | 'unverified') => void): Promise<void> {
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  process.once('SIGTERM', () => abort.abort());
  await withFleet(target, async (client) => {
    if (options.host !== undefined) requireKnownHost('--host', options.host, await client.knownHostIds());
    if (!client.hostKeys) process.stderr.write(`${UNVERIFIED_NOTE}\n`);
    await followFleetEvents(client, { filter, ...(options.host === undefined ? {} : { hostId: options.host }), follow: options.follow === true, signal: abort.signal }, (item) => {
      if (item.type === 'refused') process.stdout.write(options.json ? `${printableJson({ schema: 'hostwright.refusedevent/v1', ...item.refused })}\n` : `${renderRefusedEvent(item.refused)}\n`);
      else print(item.event, item.trust);
    });
  });
}

export const UNVERIFIED_NOTE = 'note: reports are not verified: no fleet-auth.json with the hosts\' keys (pass --fleet-auth DIR, or keep it beside the --creds file)';
