import type { HostwrightEvent } from '../../../../shared/events.js';
import type { StreamEvent } from '../../../fleet-client.js';
import { withFleet } from '../../fleet/fleet-session.js';
import { requireKnownHost } from '../../../known-hosts.js';
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
    const show = (item: StreamEvent) => {
      if ('refused' in item) {
        process.stdout.write(options.json ? `${printableJson({ schema: 'hostwright.refusedevent/v1', ...item.refused })}\n` : `${renderRefusedEvent(item.refused)}\n`);
        return;
      }
      print(item.event, item.trust.verdict === 'verified' ? 'verified' : 'unverified');
    };
    await client.events({ hostId: options.host, project: filter.project, type: filter.type, since: filter.since ? new Date(filter.since) : undefined, follow: options.follow === true, signal: abort.signal }, show);
  });
}

export const UNVERIFIED_NOTE = 'note: reports are not verified: no fleet-auth.json with the hosts\' keys (pass --fleet-auth DIR, or keep it beside the --creds file)';
