import type { EventsQuery } from './route.js';

/** An event as the events view reads it (the fields the filters of `hostwright events` test). */
export interface EventFields {
  readonly hostId: string;
  readonly project: string;
  readonly type: string;
  readonly correlationID: string;
}

/** Whether a live event belongs in a view filtered by `query` (each set filter must match exactly). */
export function eventMatches(event: EventFields, query: EventsQuery): boolean {
  return (
    (query.host === undefined || event.hostId === query.host) &&
    (query.project === undefined || event.project === query.project) &&
    (query.type === undefined || event.type === query.type) &&
    (query.correlation === undefined || event.correlationID === query.correlation)
  );
}

/** Keeps the last `limit` of a growing list (live events, log lines): the page's memory stays bounded. */
export function keepLast<T>(items: readonly T[], added: readonly T[], limit: number): T[] {
  const all = [...items, ...added];
  return all.length > limit ? all.slice(all.length - limit) : all;
}
