import type { DashboardEvent } from '../../shared/dashboard-api.js';
import { EVENT_TYPES } from '../../shared/event-types.js';
import { InvalidInputError } from '../../shared/errors.js';
import type { FleetClient } from '../fleet-client.js';
import { eventLine } from './fleet-feeds.js';

/** GET /api/events's filters: those of `hostwright events`, and a correlation id. */
export interface EventsFilter {
  readonly host?: string | undefined;
  readonly project?: string | undefined;
  readonly type?: string | undefined;
  readonly correlation?: string | undefined;
  readonly limit: number;
}

export const DEFAULT_EVENTS_LIMIT = 200;
export const MAX_EVENTS_LIMIT = 2_000;

/** Pure: the filter of a query string; a bad value is an InvalidInputError saying what is expected. */
export function parseEventsFilter(query: URLSearchParams): EventsFilter {
  const type = query.get('type') || undefined;
  if (type !== undefined && !(EVENT_TYPES as readonly string[]).includes(type)) throw new InvalidInputError(`type=${type}: expected one of ${EVENT_TYPES.join(', ')}`);
  const limitText = query.get('limit');
  const limit = limitText === null || limitText === '' ? DEFAULT_EVENTS_LIMIT : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_EVENTS_LIMIT) throw new InvalidInputError(`limit=${limitText}: expected a whole number from 1 to ${MAX_EVENTS_LIMIT}`);
  // Subject tokens: a host id or project name never holds a dot, a space or a wildcard.
  for (const name of ['host', 'project'] as const) {
    const value = query.get(name);
    if (value && !/^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/.test(value)) throw new InvalidInputError(`${name}=${value}: expected a ${name === 'host' ? 'host id' : 'project name'}`);
  }
  return { host: query.get('host') || undefined, project: query.get('project') || undefined, type, correlation: query.get('correlation') || undefined, limit };
}

/** The last `limit` events of the stream that pass the filter, oldest first (the stream's subjects narrow host, project and type). */
export async function queryEvents(client: FleetClient, filter: EventsFilter, signal?: AbortSignal): Promise<DashboardEvent[]> {
  const kept: DashboardEvent[] = [];
  await client.events({ hostId: filter.host, project: filter.project, type: filter.type, follow: false, ...(signal ? { signal } : {}) }, (item) => {
    if ('refused' in item) return;
    if (filter.correlation !== undefined && item.event.correlationID !== filter.correlation) return;
    kept.push(eventLine(item));
    if (kept.length > filter.limit) kept.shift();
  });
  return kept;
}

/** Pure: the last plan the events tell of, per project: the newest `planned` event of each (null when none). */
export function lastPlanOf(events: readonly DashboardEvent[]): { at: string; project: string; message: string; correlationID: string }[] | null {
  const byProject = new Map<string, DashboardEvent>();
  for (const event of events) if (event.type === 'planned') byProject.set(event.project, event);
  if (byProject.size === 0) return null;
  return [...byProject.values()].map((event) => ({ at: event.timestamp, project: event.project, message: event.message, correlationID: event.correlationID }));
}
