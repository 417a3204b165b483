import { parseDurationMs } from '../../../../shared/duration.js';
import { InvalidInputError } from '../../../../shared/errors.js';
import { EVENT_TYPES } from '../../../../shared/event-types.js';
import type { HostwrightEvent } from '../../../../shared/events.js';
import { renderEvent } from '../../render/events-view.js';
import type { EventsOptions } from './options.js';
import { printableJson } from '../../render/printable.js';
import { eventMatches, type EventFilter } from '../../../operations/events-fleet.js';

export type { EventFilter };

export function parseFilter(options: EventsOptions): EventFilter {
  if (options.type !== undefined && !(EVENT_TYPES as readonly string[]).includes(options.type)) {
    throw new InvalidInputError(`--type ${options.type}: expected one of ${EVENT_TYPES.join(', ')}`);
  }
  let since: string | undefined;
  if (options.since !== undefined) {
    try {
      since = new Date(Date.now() - parseDurationMs(options.since)).toISOString();
    } catch {
      throw new InvalidInputError(`--since ${options.since}: expected a duration such as 10m or 2h`);
    }
  }
  return { type: options.type, project: options.project, since };
}

/**
 * Prints the events the filter lets through, as text or one JSON object per line; fleet events
 * carry how far their signature was checked (`verified` or `unverified`).
 */
export function eventPrinter(filter: EventFilter, json: boolean): (event: HostwrightEvent, trust?: 'verified' | 'unverified') => void {
  return (event, trust) => {
    if (!eventMatches(event, filter)) return;
    process.stdout.write(json ? `${printableJson({ schema: 'hostwright.event/v1', ...event, ...(trust ? { trust } : {}) })}\n` : `${renderEvent(event)}\n`);
  };
}
